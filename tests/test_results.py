"""Unit tests: automation results formatted for Slack (slack_client.render.results)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from slack_client.render import results
from slack_client.render.results import (
    FILE_NOTE,
    MAX_TEXT_CHARS,
    FormattedResult,
    format_result,
    humanise,
)

FENCE = "```"

DIALOGS: dict[str, Any] = {
    "success": True,
    "dialogs": [
        {
            "chat_id": "c1",
            "name": "Alice Zhang",
            "last_message": "See you at 3pm",
            "unread": 2,
            "updated_at": "2024-05-01 10:00",
        },
        {
            "chat_id": "c22",
            "name": "Bob",
            "last_message": "ok",
            "unread": 10,
            "updated_at": "2024-05-01 09:00",
        },
    ],
}


def code_block(text: str) -> list[str]:
    """The lines between the first pair of fences."""
    lines = text.split("\n")
    start = lines.index(FENCE)
    end = lines.index(FENCE, start + 1)
    return lines[start + 1 : end]


def check_invariants(result: FormattedResult) -> None:
    """What holds for every result, whatever went in."""
    assert len(result.text) <= MAX_TEXT_CHARS
    assert result.text.startswith("*")
    # Values are escaped and the formatter makes no links: Slack sees no angle brackets.
    assert "<" not in result.text
    assert ">" not in result.text
    assert result.text.count(FENCE) % 2 == 0
    assert (result.snippet is not None) == result.text.endswith(FILE_NOTE)
    assert result.text.count(FILE_NOTE) <= 1


# --- Title and envelope ---------------------------------------------------------------


def test_title_is_the_bold_first_line() -> None:
    result = format_result({"status": "ok"}, title="get_status")
    assert result.text.split("\n")[0] == "*get_status*"


def test_success_envelope_is_dropped_and_the_single_list_rendered() -> None:
    result = format_result(DIALOGS, title="list_dialogs")
    assert "Success" not in result.text
    assert "Dialogs" not in result.text
    assert code_block(result.text)[0].startswith("Chat ID")


def test_a_failure_and_details_next_to_the_list_stay_visible() -> None:
    failed = format_result({"success": False, "error": "not logged in"}, title="t")
    assert failed.text == "*t*\n*Success*: no\n*Error*: not logged in"
    listed = format_result({"success": True, "total": 57, "candidates": ["a"]}, title="t")
    assert listed.text == "*t*\n*Total*: 57\n• a"
    # Without an envelope a list is one field among others.
    record = format_result({"name": "Ann", "skills": ["Python"]}, title="t")
    assert record.text == "*t*\n*Name*: Ann\n*Skills*: Python"


def test_success_alone_is_the_result() -> None:
    assert format_result({"success": True}, title="t").text == "*t*\n*Success*: yes"


def test_wrappers_around_one_record_are_dropped() -> None:
    result = format_result({"success": True, "data": {"resume": {"name": "Ann"}}}, title="t")
    assert result.text == "*t*\n*Name*: Ann"


# --- Tables ---------------------------------------------------------------------------


def test_flat_records_become_an_aligned_table() -> None:
    result = format_result(DIALOGS, title="list_dialogs")
    header, rule, first, second = code_block(result.text)
    assert header.split() == ["Chat", "ID", "Name", "Last", "message", "Unread", "Updated", "at"]
    assert set(rule) <= {"-", " "}
    # Every column starts at the same offset on every line.
    for word in ("Name", "Last message"):
        offset = header.index(word)
        assert first[offset - 2 : offset] == "  " and first[offset] != " "
        assert second[offset - 2 : offset] == "  " and second[offset] != " "
    # Numbers are right-aligned.
    assert first.index(" 2  ") + 1 == second.index("10  ") + 1
    assert result.snippet is None


def test_table_cells_are_cut_and_the_full_text_goes_to_the_file() -> None:
    long_message = "word " * 30
    data = [{"name": "Ann", "last_message": long_message}, {"name": "Bo", "last_message": "hi"}]
    result = format_result(data, title="t")
    row = code_block(result.text)[2]
    cell = row.split("  ", 1)[1].strip()
    assert cell.endswith("…")
    assert len(cell) <= results.CELL_WIDTH
    assert result.snippet is not None
    assert long_message.strip() in result.snippet


def test_at_most_twenty_rows_then_a_count_outside_the_block() -> None:
    data = {"dialogs": [{"chat_id": f"c{i}", "unread": i} for i in range(25)]}
    result = format_result(data, title="list_dialogs")
    block = code_block(result.text)
    assert len(block) == 2 + results.TABLE_MAX_ROWS
    lines = result.text.split("\n")
    assert lines[-2:] == ["…and 5 more", FILE_NOTE]
    assert lines[-3] == FENCE
    assert result.snippet is not None
    assert "c24" in result.snippet
    assert result.snippet_name == "list_dialogs.txt"


def test_records_with_missing_keys_share_a_table() -> None:
    result = format_result([{"a": 1, "b": "x"}, {"a": 2}], title="t")
    assert code_block(result.text)[0].split() == ["A", "B"]


def test_wide_cjk_values_stay_aligned() -> None:
    data = [{"name": "王小明", "city": "北京"}, {"name": "Alice Zhang", "city": "Paris"}]
    header, _, first, second = code_block(format_result(data, title="t").text)
    # A CJK character takes two columns: "王小明" is as wide as six ASCII characters.
    assert first.index("北京") + 3 == second.index("Paris")
    assert header.index("City") == second.index("Paris")


# --- Bullets --------------------------------------------------------------------------


def test_many_columns_become_bullets_with_the_name_first() -> None:
    record = {"id": 7, "age": 30, "city": "Paris", "a": 1, "b": 2, "c": 3, "name": "Ann Lee"}
    result = format_result({"candidates": [record]}, title="t")
    assert FENCE not in result.text
    line = result.text.split("\n")[1]
    assert line.startswith("• *Ann Lee* · ID: 7 · Age: 30 · City: Paris")
    assert "Name:" not in line


def test_nested_values_become_bullets_with_inline_values() -> None:
    record = {
        "name": "Bob",
        "skills": ["Python", "Go"],
        "jobs": [{"company": "Acme", "years": 2}],
        "contact": {},
    }
    line = format_result([record], title="t").text.split("\n")[1]
    assert (
        line == "• *Bob* · Skills: Python, Go · Jobs: (Company: Acme, Years: 2) · Contact: _(none)_"
    )


@pytest.mark.parametrize(
    ("record", "lead"),
    [
        ({"x": 1, "title": "Engineer", "name": "Ann", "k": [1]}, "*Ann*"),
        ({"x": 1, "label": "L", "title": "Engineer", "k": [1]}, "*Engineer*"),
        ({"x": 1, "candidate_name": "Cy", "chat_id": "c9", "k": [1]}, "*Cy*"),
        ({"x": 1, "chatId": "c9", "k": [1]}, "*c9*"),
        ({"paid": True, "k": [1]}, "Paid: yes"),
        ({"name": None, "id": "i3", "k": [1]}, "*i3*"),
    ],
)
def test_the_most_name_like_field_leads(record: dict[str, Any], lead: str) -> None:
    line = format_result([record], title="t").text.split("\n")[1]
    assert line.startswith(f"• {lead}")


def test_scalars_become_bullets() -> None:
    result = format_result({"success": True, "messages": ["hi", 3, None, False]}, title="t")
    assert result.text == "*t*\n• hi\n• 3\n• —\n• no"


def test_long_lists_stop_with_a_count() -> None:
    result = format_result(list(range(100)), title="t")
    check_invariants(result)
    lines = result.text.split("\n")
    assert lines[1:3] == ["• 0", "• 1"]
    assert "…and 80 more" in lines
    assert result.snippet is not None
    assert "• 99" in result.snippet


@pytest.mark.parametrize("empty", [[], {"success": True, "dialogs": []}, {"a": []}, ()])
def test_empty_lists_say_none(empty: object) -> None:
    assert format_result(empty, title="t").text.endswith("_(none)_")


# --- Records --------------------------------------------------------------------------


def test_a_dict_of_scalars_becomes_labelled_lines() -> None:
    status = {"status": "ok", "logged_in": True, "new_message_count": 3, "error": None}
    result = format_result(status, title="status")
    assert result == FormattedResult(
        text="*status*\n*Status*: ok\n*Logged in*: yes\n*New message count*: 3\n*Error*: —"
    )


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("new_message_count", "New message count"),
        ("lastMessage", "Last message"),
        ("chat_id", "Chat ID"),
        ("resume-URL", "Resume URL"),
        ("HTTP_status", "HTTP status"),
        (42, "42"),
        ("", "—"),
        ("x" * 500, "X" + "x" * (results.KEY_CHARS - 2) + "…"),
    ],
)
def test_keys_are_humanised(key: object, label: str) -> None:
    assert humanise(key) == label


def test_nested_dicts_are_indented() -> None:
    resume = {
        "name": "Alice",
        "contact": {"email": "a@example.com", "phones": ["1", "2"]},
        "experience": [{"company": "Acme", "years": 2}, {"company": "Beta", "years": 3}],
    }
    result = format_result({"success": True, "resume": resume}, title="get_resume")
    lines = result.text.split("\n")
    assert lines[:5] == [
        "*get_resume*",
        "*Name*: Alice",
        "*Contact*:",
        "    *Email*: a@example.com",
        "    *Phones*: 1, 2",
    ]
    assert lines[5] == "*Experience*:"
    assert code_block(result.text)[2].split() == ["Acme", "2"]
    assert result.snippet is None


def test_nesting_is_depth_limited_and_the_file_has_more() -> None:
    deep: dict[str, Any] = {"v": 1}
    for level in range(8):
        deep = {f"level{level}": deep}
    result = format_result({"a": 1, "deep": deep}, title="t")
    check_invariants(result)
    assert "{…1 field}" in result.text
    assert result.snippet is not None
    assert "Level3:" in result.snippet


def test_multi_line_values_keep_their_lines_in_the_file() -> None:
    result = format_result({"summary": "one\ntwo " + "x" * 400, "id": 1}, title="t")
    assert "*Summary*: one two xxx" in result.text
    assert result.snippet is not None
    assert "Summary:\n    one\n    two xxx" in result.snippet


# --- Escaping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"message": "<!channel> see <https://evil.example|here> & <@U123>"},
        ["<!here>", "a & b"],
        [{"name": "<!channel>", "note": "<https://x|y>"}],
        [{"name": "<!channel>", "tags": ["<@U1>"]}],
        "<!everyone> plain text & more",
        {"<!channel>": "key"},
    ],
)
def test_slack_control_characters_are_escaped(data: object) -> None:
    result = format_result(data, title="<!channel>")
    check_invariants(result)
    assert "&lt;!" in result.text
    assert result.text.startswith("*&lt;!channel&gt;*")


def test_ampersands_are_escaped_once() -> None:
    assert format_result({"q": "a & b &amp; c"}, title="t").text.endswith("a &amp; b &amp;amp; c")


def test_backticks_cannot_close_a_code_block() -> None:
    data = [{"name": "a```b", "note": "`x`"}, {"name": "c", "note": "d"}]
    result = format_result(data, title="t")
    block = code_block(result.text)
    assert "`" not in "".join(block)
    assert block[2].startswith("a" + "\u02cb" * 3 + "b")


def test_backtick_runs_cannot_open_a_code_block_elsewhere() -> None:
    result = format_result({"note": "```\nrm -rf\n```", "n": 1}, title="t")
    assert FENCE not in result.text
    assert "`x`" in format_result({"note": "`x`", "n": 1}, title="t").text


def test_control_and_direction_characters_are_removed() -> None:
    result = format_result({"name": "evil\u202etxt.exe\x00\x07", "n": 1}, title="t")
    assert "*Name*: eviltxt.exe" in result.text


# --- Truncation and the file ----------------------------------------------------------


def test_long_strings_are_cut_and_attached() -> None:
    bio = "lorem ipsum " * 100
    result = format_result({"name": "Ann", "bio": bio}, title="get_resume")
    check_invariants(result)
    bio_line = result.text.split("\n")[2]
    assert bio_line.startswith("*Bio*: lorem ipsum")
    assert bio_line.endswith("…")
    assert len(bio_line) < len(bio)
    assert result.snippet is not None
    assert bio.strip() in result.snippet
    assert result.snippet_name == "get_resume.txt"


def test_a_result_longer_than_a_message_is_shortened_and_attached() -> None:
    candidates = [
        {"name": f"Candidate {i}", "city": "Paris", "skills": ["Python"] * 3, "bio": "b" * 100}
        for i in range(20)
    ]
    result = format_result({"success": True, "candidates": candidates}, title="recommend")
    check_invariants(result)
    lines = result.text.split("\n")
    assert lines[-1] == FILE_NOTE
    assert lines[1].startswith("• *Candidate 0*")
    assert any(line.startswith("…and ") for line in lines)
    assert result.snippet is not None
    # The file is the same layout, complete and plain: no mrkdwn, no escaping.
    assert "• Candidate 19 · City: Paris · Skills: Python, Python, Python · Bio: " in result.snippet
    assert "b" * 100 in result.snippet
    assert "*" not in result.snippet


def test_the_file_is_plain_text() -> None:
    data = [{"name": "A & <b>", "note": "`x`" + "y" * 80}, {"name": "c", "note": "d"}]
    result = format_result(data, title="t")
    assert result.snippet is not None
    assert FENCE not in result.snippet
    assert "A & <b>" in result.snippet
    assert "`x`" + "y" * 80 in result.snippet


def test_when_no_layout_fits_the_first_lines_are_kept() -> None:
    # Escaped ampersands make even the most compact tables too long for one message.
    table = [{f"c{j}": "&" * 50 for j in range(6)} for _ in range(5)]
    data = {f"table{i}": table for i in range(6)}
    result = format_result(data, title="t")
    check_invariants(result)
    assert result.text.endswith(f"{FENCE}\n…\n{FILE_NOTE}")
    assert result.snippet is not None
    assert result.snippet.count("&" * 50) == 6 * 5 * 6


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("list_dialogs", "list_dialogs.txt"),
        ("get resume/../x", "get_resume_.._x.txt"),
        ("", "result.txt"),
    ],
)
def test_the_file_is_named_after_the_title(title: str, name: str) -> None:
    result = format_result(list(range(50)), title=title)
    assert result.snippet_name == name


# --- Text -----------------------------------------------------------------------------


def test_short_text_is_shown_as_is() -> None:
    result = format_result("Server error <b>500</b>\nretry later", title="send")
    assert result == FormattedResult(
        text="*send*\nServer error &lt;b&gt;500&lt;/b&gt;\nretry later"
    )


def test_long_text_shows_its_beginning_and_is_attached() -> None:
    text = "\n".join(f"line {i} & more" for i in range(1_000))
    result = format_result(text, title="logs")
    check_invariants(result)
    lines = result.text.split("\n")
    assert lines[1] == "line 0 &amp; more"
    assert lines[-2].endswith("…")
    assert lines[-2].startswith("line ")
    assert result.snippet == text
    assert result.snippet_name == "logs.txt"


def test_empty_text_says_so() -> None:
    assert format_result("  ", title="t").text == "*t*\n_(empty)_"


# --- Odd input ------------------------------------------------------------------------


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def nested_lists(depth: int) -> list[Any]:
    root: list[Any] = []
    current = root
    for _ in range(depth):
        inner: list[Any] = []
        current.append(inner)
        current = inner
    return root


def nested_dicts(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    current = root
    for _ in range(depth):
        inner: dict[str, Any] = {}
        current["k"] = inner
        current = inner
    return root


def circular() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


ODD_INPUTS: dict[str, object] = {
    "none": None,
    "bool": True,
    "zero": 0,
    "huge int": -(10**5000),
    "nan": float("nan"),
    "inf": float("inf"),
    "big float": 1e308,
    "empty text": "",
    "emoji text": "🙂" * 5_000,
    "combining text": "e\u0301" * 3_000,
    "deep lists": nested_lists(100_000),
    "deep dicts": nested_dicts(100_000),
    "circular": circular(),
    "mixed list": [1, "two", None, [3], {"four": 4}, 5.5, True],
    "mixed nesting": [{"a": 1}, "b", [{"c": {"d": {"e": {"f": 1}}}}]],
    "odd keys": {1: "int key", (2, 3): "tuple key", None: "none key"},
    "non-JSON values": {"bytes": b"\x00\xff", "set": {1, 2}, "t": (1, 2), "o": Unprintable()},
    "huge key and value": {"x" * 10_000: "y" * 100_000},
    "unicode": [{"name": "王小明", "emoji": "🙂🙂", "rtl": "مرحبا"}],
    "many fields": [{str(j): j for j in range(200)}],
    "list of lists": [[1, 2], [3, 4]],
    "nested envelopes": {"success": True, "a": {"success": True, "b": {"c": {"d": [1]}}}},
}


@pytest.mark.parametrize("data", list(ODD_INPUTS.values()), ids=list(ODD_INPUTS))
def test_odd_input_always_gives_something_readable(data: object) -> None:
    result = format_result(data, title="odd")
    check_invariants(result)
    assert len(result.text.split("\n")) >= 2


def test_huge_numbers_are_described() -> None:
    assert "about 5,001 digits" in format_result(10**5000, title="t").text


def test_an_unprintable_object_shows_its_type() -> None:
    assert format_result({"o": Unprintable()}, title="t").text == "*t*\n*O*: (Unprintable)"


def test_huge_input_is_bounded() -> None:
    big = "y" * 3_000_000
    inputs: list[object] = [
        list(range(1_000_000)),
        [{"name": f"n{i}", "bio": big, "tags": [big]} for i in range(50_000)],
        [{f"f{j}": j for j in range(10)} | {"more": {"x": i}} for i in range(50_000)],
    ]
    for data in inputs:
        started = time.monotonic()
        result = format_result(data, title="big")
        assert time.monotonic() - started < 10
        check_invariants(result)
        assert result.snippet is not None
        assert len(result.snippet) <= 2 * results._PLAIN.chars


def test_an_internal_error_still_gives_a_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: object, title: str) -> FormattedResult:
        raise RuntimeError("bug")

    monkeypatch.setattr(results, "_format", broken)
    assert format_result({}, title="t").text == "*t*\n_(The result could not be shown.)_"
