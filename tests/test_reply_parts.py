"""What an answer looks like as Slack messages: footers, and answers too long to post."""

from __future__ import annotations

from slack_client.mrkdwn import MESSAGE_PART_LIMIT
from slack_client.replies import MAX_REPLY_PARTS, TOO_LONG, reply_parts

FOOTER = ":hourglass: _The model didn't finish within 6 seconds, so I stopped here._"


def test_a_footer_stays_outside_a_code_block_the_answer_left_open() -> None:
    cut_off = "Here is the script:\n\n```python\nfor i in range(3):\n    print(i)"
    [part] = reply_parts(cut_off, FOOTER)
    body, footer = part.rsplit("\n\n", 1)
    assert footer == FOOTER
    assert body.count("```") == 2  # the open block is closed before the footer


def test_a_reply_too_long_for_the_thread_ends_with_a_note() -> None:
    paragraph = "A sentence about the plan that goes on for a while. " * 70
    answer = "\n\n".join(f"{index}. {paragraph}" for index in range(60))
    parts = reply_parts(answer)
    assert len(parts) == MAX_REPLY_PARTS
    assert parts[-1] == TOO_LONG
    assert all(len(part) <= MESSAGE_PART_LIMIT for part in parts)
    assert parts[0].startswith("0. A sentence")


def test_a_reply_too_long_for_the_thread_keeps_its_footer() -> None:
    paragraph = "A sentence about the plan that goes on for a while. " * 70
    answer = "\n\n".join(f"{index}. {paragraph}" for index in range(60))
    parts = reply_parts(answer, FOOTER)
    assert len(parts) == MAX_REPLY_PARTS
    assert parts[-1] == f"{TOO_LONG}\n\n{FOOTER}"


def test_an_ordinary_answer_is_posted_whole() -> None:
    answer = "**Yes.** See the [docs](https://example.com/a_(b))."
    assert reply_parts(answer) == ["*Yes.* See the <https://example.com/a_(b)|docs>."]


def test_only_what_can_be_shown_of_a_huge_answer_is_converted() -> None:
    # Long links collapse to a few words each: the shown prefix fits in a few messages,
    # yet the answer goes on far past it, so the reply still says it was cut.
    link = "[a](https://example.com/" + "x" * 2_000 + ") "
    parts = reply_parts(link * 1_000, FOOTER)
    assert parts[-1] == f"{TOO_LONG}\n\n{FOOTER}"
    assert len(parts) < MAX_REPLY_PARTS
