"""Markdown (as models write it) to Slack mrkdwn, and splitting long replies.

The Markdown is parsed by pulldown-cmark (through pyromark): CommonMark with GitHub's
tables and strikethrough, in time linear in the input. Its events are rendered to mrkdwn
in one pass. This runs on the event loop for every streamed update of a reply, so all of
it is linear in the text: the pre-passes over the source are regular expressions that
cannot backtrack far, and `split_message` looks at each character a bounded number of
times.

Code is never rewritten: fenced blocks and inline code keep their text, apart from the
escaping Slack requires everywhere (&, <, >) and breaking runs of backticks that would
end Slack's code block early.

This module is the public API: `render` turns Markdown into mrkdwn (and writes one link
safely, `slack_link`), and `split` cuts mrkdwn into message parts.
"""

from __future__ import annotations

from slack_client.render.mrkdwn.render import (
    BULLET,
    FENCE,
    INDENT,
    LINK_URL_LIMIT,
    LONG_LINK_NOTE,
    MAX_INDENT_LEVELS,
    MAX_NESTING,
    MAX_TABLE_PADDING,
    RULE,
    ZERO_WIDTH_SPACE,
    escape,
    markdown_to_mrkdwn,
    slack_link,
)
from slack_client.render.mrkdwn.split import MESSAGE_PART_LIMIT, split_message

__all__ = [
    "BULLET",
    "FENCE",
    "INDENT",
    "LINK_URL_LIMIT",
    "LONG_LINK_NOTE",
    "MAX_INDENT_LEVELS",
    "MAX_NESTING",
    "MAX_TABLE_PADDING",
    "MESSAGE_PART_LIMIT",
    "RULE",
    "ZERO_WIDTH_SPACE",
    "escape",
    "markdown_to_mrkdwn",
    "slack_link",
    "split_message",
]
