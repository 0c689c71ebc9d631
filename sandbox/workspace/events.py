"""What people do that reaches the app as Events API events: posting messages (with files,
mentions, app context), opening the app's tabs and assistant panel, changing what they
have open beside it, and pressing stop on an agent session.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.workspace.files import host
from sandbox.workspace.people import dm_channel
from sandbox.workspace.records import Message, UploadedFile
from sandbox.workspace.render import (
    app_mention_event,
    message_event,
    view_dict,
)
from sandbox.workspace.socket_mode import SocketMode
from sandbox.workspace.state import WorkspaceState, action_ts, new_event_id

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class Events:
    """Test-side senders of events; each returns the envelope id ("" if Slack would not
    have sent the event)."""

    def __init__(self, state: WorkspaceState, socket: SocketMode) -> None:
        self.state = state
        self.socket = socket

    async def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        files: Sequence[UploadedFile] | None = None,
        app_context: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a message from someone other than the bot and deliver its events.

        ``files`` are hosted by the fake (see :meth:`file`) and shared by the message, whose
        text may then be "". ``app_context`` is what the person had open beside the app's
        Messages tab (agent apps): ``{"entities": [...]}`` on the message event.
        """
        human = bot_id is None
        file_ids = [host(self.state, f, user).id for f in files or ()]
        message = self.state.store(
            Message(
                channel=channel,
                ts=self.state.next_ts(),
                text=text,
                user=user,
                bot_id=bot_id,
                thread_ts=thread_ts,
                # A message that is only files has no rich text.
                blocks=_rich_text_blocks(text) if human and (text or not file_ids) else None,
                client_msg_id=str(uuid.uuid4()) if human else None,
                subtype=subtype,
                file_ids=file_ids,
            )
        )
        events = [message_event(self.state, message)]
        if app_context is not None:
            events[0]["app_context"] = dict(app_context)
        # Slack sends app_mention as a separate event, except in DMs.
        if f"<@{self.state.bot_user_id}>" in text and not channel.startswith("D"):
            events.append(app_mention_event(self.state, message))
        event_ids = self.state.event_ids_for_ts.setdefault(message.ts, [])
        envelope_ids = self.state.envelopes_for_ts.setdefault(message.ts, [])
        for event in events:
            event_id = new_event_id()
            event_ids.append(event_id)
            envelope_ids.append(await self.socket.deliver_event(event, event_id=event_id))
        return message.ts

    async def open_home(self, user: str) -> str:
        """The user opens the app's Home tab: an ``app_home_opened`` event."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": dm_channel(self.state, user),
            "tab": "home",
            "event_ts": action_ts(),
        }
        home = self.state.home_view(user)
        if home is not None:  # Slack adds the published view, if there is one
            event["view"] = view_dict(self.state, home)
        return await self.socket.deliver_event(event)

    async def start_assistant_thread(
        self, user: str, *, context_channel: str | None = None
    ) -> tuple[str, str]:
        """The user opens the assistant side panel (from ``context_channel``, if any).

        Like Slack, this starts a thread in the user's DM with the app under a root message
        from the bot (subtype ``assistant_app_thread``) and sends ``assistant_thread_started``.
        The user then writes with ``post_user_message(channel, user, text, thread_ts=...)``.
        Returns (channel, thread_ts); the envelope is in ``envelopes_for_ts[thread_ts]``.
        Only an app with ``assistant_view`` has the panel.
        """
        if self.state.app is not None and self.state.app.experience != "assistant":
            raise AssertionError("the installed app has no assistant panel (assistant_view)")
        channel = dm_channel(self.state, user)
        root = self.state.store(
            Message(
                channel=channel,
                ts=self.state.next_ts(),
                text="",
                user=self.state.bot_user_id,
                bot_id=self.state.bot_id,
                subtype="assistant_app_thread",
            )
        )
        event = {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": user,
                "context": {
                    "channel_id": context_channel or "",
                    "team_id": self.state.team_id,
                    "enterprise_id": None,
                },
                "channel_id": channel,
                "thread_ts": root.ts,
            },
            "event_ts": action_ts(),
        }
        event_id = new_event_id()
        self.state.event_ids_for_ts.setdefault(root.ts, []).append(event_id)
        envelope_id = await self.socket.deliver_event(event, event_id=event_id)
        self.state.envelopes_for_ts.setdefault(root.ts, []).append(envelope_id)
        return channel, root.ts

    async def open_messages_tab(self, user: str) -> str:
        """The user opens the app's Messages tab: ``app_home_opened`` with tab "messages"
        (which, for agent apps, replaces ``assistant_thread_started``)."""
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": dm_channel(self.state, user),
            "tab": "messages",
            "event_ts": action_ts(),
        }
        return await self.socket.deliver_event(event)

    async def change_context(self, user: str, entities: Sequence[Mapping[str, Any]]) -> str:
        """What the user has open beside the app changed: ``app_context_changed``.

        Entities as Slack sends them, most relevant first, e.g.
        ``{"type": "slack#/types/channel_id", "value": "C1"}`` or
        ``{"type": "slack#/types/message_context", "value": {"channel_id", "message_ts"}}``.
        """
        context = {"entities": [{"team_id": self.state.team_id, **e} for e in entities]}
        event = {
            "type": "app_context_changed",
            "user": user,
            "context": context if entities else {},
            "event_ts": action_ts(),
        }
        return await self.socket.deliver_event(event)

    async def press_stop(self, user: str, channel: str, thread_ts: str) -> str:
        """The user clicks Slack's stop button on the app's agent session in a thread.

        Slack shows it only while the session is "processing", stops the app's streams in
        the thread itself, and sends ``agent_session_stopped``; the session stays
        "processing" until the app changes it.
        """
        if self.state.sessions.get((channel, thread_ts)) != "processing":
            raise AssertionError(f"no stop button: no session processing in {thread_ts}")
        stopped = []
        for message in self.state.thread_messages(channel, thread_ts):
            if message.streaming and message.bot_id == self.state.bot_id:
                message.streaming = False
                stopped.append(message.ts)
        event = {
            "type": "agent_session_stopped",
            "channel": channel,
            "user": user,
            "thread_ts": thread_ts,
            "streaming_message_ts": stopped,
            "event_ts": action_ts(),
        }
        return await self.socket.deliver_event(event)


def _rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to human messages, mentions included."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]
