"""A reply's messages: its Markdown rendered within Slack's limits, in as many parts as
it needs, with its footer and feedback buttons closing the last."""

from __future__ import annotations

from dataclasses import dataclass

from slack_client.render.markdown import MARKDOWN_PART_LIMIT, markdown_parts
from slack_client.render.mrkdwn import markdown_to_mrkdwn, split_message
from slack_client.render.views import SECTION_CHARS, Block, feedback_block, section

# Messages one reply may take; an answer longer than that ends with TOO_LONG.
MAX_REPLY_PARTS = 20
TOO_LONG = (
    "_:scissors: The rest of this answer is too long to post here. "
    "Ask me to continue, or for a shorter version._"
)
# Markdown parsed at most for one reply: what its messages can hold.
CONVERTED_CHARS = MAX_REPLY_PARTS * MARKDOWN_PART_LIMIT
EMPTY_ANSWER = "_(The model returned an empty answer.)_"


@dataclass(frozen=True)
class Rendered:
    """One message of a reply as sent: its fallback text and its blocks."""

    text: str
    blocks: list[Block] | None = None


def reply_parts(
    markdown: str, footer: str | None = None, *, feedback: bool = False
) -> list[Rendered]:
    """The messages that show an answer, each within Slack's limits: its Markdown in
    `markdown` blocks and its tables in `table` blocks (slack_client.render.markdown).

    The footer (mrkdwn) closes the last message in section blocks: an answer cut off
    inside a code block must not swallow it. Past `MAX_REPLY_PARTS` a reply would flood
    the thread and the channel's posting budget, so it ends with `TOO_LONG` instead; the
    whole answer is still stored, so follow-ups can refer to all of it. Only as much of
    the answer as could be shown is parsed: this runs at every streamed update.
    """
    shown = _shown_of(markdown)
    parts = markdown_parts(shown) or markdown_parts(EMPTY_ANSWER)
    closing = [footer] if footer else []
    if len(parts) > MAX_REPLY_PARTS or len(shown) < len(markdown):
        parts = parts[:MAX_REPLY_PARTS]
        closing.insert(0, TOO_LONG)
    # The blocks show the answer; `text` is what notifications and search show, in the
    # mrkdwn Slack reads there.
    rendered = [Rendered(markdown_to_mrkdwn(part.text), part.blocks()) for part in parts]
    last = rendered[-1]
    sections = [section(piece) for note in closing for piece in split_message(note, SECTION_CHARS)]
    tail = sections + ([feedback_block()] if feedback else [])
    if tail:
        text = "\n\n".join([last.text, *closing])
        rendered[-1] = Rendered(text, [*(last.blocks or []), *tail])
    return rendered


def _shown_of(markdown: str) -> str:
    """As much of the answer as its messages can show, ending at a space or line end
    when there is one near the cut."""
    if len(markdown) <= CONVERTED_CHARS:
        return markdown
    cut = max(markdown.rfind(" ", 0, CONVERTED_CHARS), markdown.rfind("\n", 0, CONVERTED_CHARS))
    return markdown[: cut if cut > CONVERTED_CHARS - 1_000 else CONVERTED_CHARS]
