"""What an answer looks like as Slack messages: native Markdown and tables, footers,
feedback buttons, and answers too long to post."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.workspace import check_message_blocks
from slack_client.output.parts import MAX_REPLY_PARTS, TOO_LONG, Rendered, reply_parts
from slack_client.render.markdown import MARKDOWN_LIMIT, MAX_TABLE_ROWS, markdown_parts
from slack_client.render.views import SECTION_CHARS

FOOTER = ":hourglass: _The model didn't finish within 6 seconds, so I stopped here._"


def kinds(part: Rendered) -> list[str]:
    return [block["type"] for block in part.blocks or []]


def markdown_of(part: Rendered) -> str:
    return "".join(b["text"] for b in part.blocks or [] if b["type"] == "markdown")


def notes_of(part: Rendered) -> list[str]:
    return [b["text"]["text"] for b in part.blocks or [] if b["type"] == "section"]


def test_an_ordinary_answer_is_sent_as_markdown_with_the_feedback_buttons() -> None:
    answer = "**Yes.** See the [docs](https://example.com/a_(b))."
    [part] = reply_parts(answer, feedback=True)
    # Notifications and search read `text`, in mrkdwn.
    assert part.text == "*Yes.* See the <https://example.com/a_(b)|docs>."
    assert kinds(part) == ["markdown", "context_actions"]
    assert markdown_of(part) == answer


def test_a_table_becomes_a_table_block_between_its_text() -> None:
    answer = (
        "Prices:\n\n| Plan | Price |\n|:-----|------:|\n| Pro | **$10** |\n| Free | |"
        "\n\nThat's all."
    )
    [part] = reply_parts(answer)
    assert kinds(part) == ["markdown", "table", "markdown"]
    table: dict[str, Any] = (part.blocks or [])[1]
    assert [[c["text"] for c in row] for row in table["rows"]] == [
        ["Plan", "Price"],
        ["Pro", "$10"],
        ["Free", " "],
    ]
    assert [c["align"] for c in table["column_settings"]] == ["left", "right"]
    assert "Pro" in part.text and "$10" in part.text


def test_a_long_table_continues_under_its_header_and_a_second_table_in_another_message() -> None:
    rows = "\n".join(f"| {i} | row {i} |" for i in range(250))
    answer = f"| n | name |\n|---|---|\n{rows}\n\n| other |\n|---|\n| x |"
    parts = markdown_parts(answer)
    tables = [b for p in parts for b in p.blocks() if b["type"] == "table"]
    assert [len(t["rows"]) for t in tables] == [MAX_TABLE_ROWS, MAX_TABLE_ROWS, 53, 2]
    assert all(t["rows"][0][0]["text"] in ("n", "other") for t in tables)
    assert all(sum(b["type"] == "table" for b in p.blocks()) == 1 for p in parts)


def test_a_long_code_block_is_cut_into_fenced_blocks_within_slacks_limit() -> None:
    code = "\n".join(f"print({i})" for i in range(4_000))
    parts = reply_parts(f"Here:\n\n```python\n{code}\n```")
    assert len(parts) > 1
    for part in parts:
        text = markdown_of(part)
        assert len(text) <= MARKDOWN_LIMIT
        assert text.count("```") % 2 == 0
    assert "print(3999)" in markdown_of(parts[-1])


def test_a_footer_stays_outside_a_code_block_the_answer_left_open() -> None:
    cut_off = "Here is the script:\n\n```python\nfor i in range(3):\n    print(i)"
    [part] = reply_parts(cut_off, FOOTER)
    assert notes_of(part) == [FOOTER]
    assert FOOTER not in markdown_of(part)


def test_a_reply_too_long_for_the_thread_ends_with_a_note_and_keeps_its_footer() -> None:
    paragraph = "A sentence about the plan that goes on for a while. " * 70
    answer = "\n\n".join(f"{index}. {paragraph}" for index in range(600))
    parts = reply_parts(answer, FOOTER, feedback=True)
    assert len(parts) == MAX_REPLY_PARTS
    assert notes_of(parts[-1]) == [TOO_LONG, FOOTER]
    assert kinds(parts[-1])[-1] == "context_actions"
    assert markdown_of(parts[0]).startswith("0. A sentence")
    assert all(len(n) <= SECTION_CHARS for p in parts for n in notes_of(p))


def test_a_huge_answer_of_one_paragraph_is_cut_at_spaces_and_ends_with_the_note() -> None:
    parts = reply_parts("word " * 200_000, FOOTER)
    assert len(parts) == MAX_REPLY_PARTS
    assert notes_of(parts[-1]) == [TOO_LONG, FOOTER]
    assert all(markdown_of(p).endswith("word") for p in parts)


def test_text_after_characters_of_several_bytes_is_kept_whole() -> None:
    # The parser counts bytes: "Привет" is 12 of them, and each block after it was once
    # read 6 characters too far on, losing text.
    answer = "Привет, мир! 🎉\n\n- один\n- два\n\n| ключ | значение |\n|---|---|\n| да | нет |\n\n*"
    [part] = reply_parts(answer)
    assert kinds(part) == ["markdown", "table", "markdown"]
    assert markdown_of(part) == "Привет, мир! 🎉\n\n- один\n- два*"
    assert "| да   | нет      |" in part.text


def test_an_empty_answer_says_so() -> None:
    [part] = reply_parts("   ")
    assert "empty answer" in part.text


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.sampled_from([*"*_~[]()<>&`#|-!:\\ \n\tab1あ", "```", "| a | b |\n|---|---|\n"]),
        max_size=300,
    ).map("".join)
)
def test_any_text_becomes_messages_slack_accepts(text: str) -> None:
    parts = reply_parts(text, FOOTER, feedback=True)
    assert 1 <= len(parts) <= MAX_REPLY_PARTS
    for part in parts:
        check_message_blocks(part.blocks or [])
