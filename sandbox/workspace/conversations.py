"""The ``conversations.*`` Web API methods: history, thread replies (paged like Slack's,
with cursors), a conversation's info and members.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import int_param, require_channel, str_param
from sandbox.workspace.people import channel_name, dm_channel, members, readable
from sandbox.workspace.records import ApiMethod, Message
from sandbox.workspace.render import channel_type, message_dict
from sandbox.workspace.state import WorkspaceState, ts_key


class ConversationsApi:
    """conversations.* as the bot sees them: only conversations it is in can be read."""

    def __init__(self, state: WorkspaceState) -> None:
        self.state = state

    def methods(self) -> dict[str, ApiMethod]:
        return {
            "conversations.replies": self.replies,
            "conversations.history": self.history,
            "conversations.info": self.info,
            "conversations.members": self.members,
        }

    def replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = require_channel(params)
        readable(self.state, channel)
        ts = str_param(params, "ts")
        if ts is None:
            raise SlackError("invalid_arguments")
        head = self.state.messages.get((channel, ts))
        if head is None:
            raise SlackError("thread_not_found")
        if head.is_reply:  # asking for a reply's ts returns just that reply
            return {"messages": [message_dict(self.state, head)], "has_more": False}
        replies = self.state.thread_messages(channel, ts)
        size = min(int_param(params, "limit") or 1000, self.state.replies_page_size)
        if self.state.replies_parent_on_every_page:
            prefix, items, size = [head], replies, max(1, size - 1)
        else:
            prefix, items = [], [head, *replies]
        start = _page_start(items, str_param(params, "cursor"), ascending=True)
        page = prefix + items[start : start + size]
        return self._page_body(page, items, start + size)

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = require_channel(params)
        readable(self.state, channel)
        oldest = float(str_param(params, "oldest") or 0)
        top_level = [
            m
            for m in self.state.sorted_messages(channel)
            if not m.is_reply and float(m.ts) > oldest
        ]
        items = list(reversed(top_level))  # newest first, as Slack returns history
        size = max(1, min(int_param(params, "limit") or 100, 1000))
        start = _page_start(items, str_param(params, "cursor"), ascending=False)
        return self._page_body(items[start : start + size], items, start + size)

    def _page_body(self, page: list[Message], items: list[Message], end: int) -> dict[str, Any]:
        has_more = end < len(items)
        next_cursor = _encode_cursor(items[end].ts) if has_more else ""
        return {
            "messages": [message_dict(self.state, m) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = require_channel(params)
        if channel in self.state.private_channels:
            readable(self.state, channel)
        kind = channel_type(channel)
        found: dict[str, Any] = {
            "id": channel,
            "name": channel_name(self.state, channel),
            "is_channel": kind == "channel",
            "is_im": kind == "im",
            "is_private": kind == "im" or channel in self.state.private_channels,
            "is_member": self.state.bot_user_id in members(self.state, channel),
        }
        if kind == "im":
            people = {*self.state.users, *(m.user for m in self.state.messages.values() if m.user)}
            owners = [u for u in people if dm_channel(self.state, u) == channel]
            found["user"] = owners[0] if owners else ""
        return {"channel": found}

    def members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = require_channel(params)
        everyone = sorted(members(self.state, channel))
        size = max(1, min(int_param(params, "limit") or 100, 1000))
        cursor = str_param(params, "cursor")
        start = int(cursor) if cursor and cursor.isdigit() else 0
        end = start + size
        return {
            "members": everyone[start:end],
            "response_metadata": {"next_cursor": str(end) if end < len(everyone) else ""},
        }


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _page_start(items: list[Message], cursor: str | None, *, ascending: bool) -> int:
    """Index of the first item at or past the cursor's ts (robust to deleted messages)."""
    if cursor is None:
        return 0
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    prefix, _, ts = decoded.partition(":")
    if prefix != "next_ts" or not ts:
        raise SlackError("invalid_cursor")
    target = ts_key(Message(channel="", ts=ts, text=""))
    for index, item in enumerate(items):
        key = ts_key(item)
        if (key >= target) if ascending else (key <= target):
            return index
    return len(items)
