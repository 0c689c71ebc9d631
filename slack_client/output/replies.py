"""Posting, editing and reacting in a thread, each call taking its turn from the
scheduler (slack_client.transport.scheduler) with the priority of what it is for; and
opening a reply's stream (slack_client.output.stream)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.output.stream import MessageCreated, ReplyStream
from slack_client.render.views import Block, section
from slack_client.transport.errors import slack_error
from slack_client.transport.scheduler import Priority, SlackScheduler

logger = logging.getLogger(__name__)


class SlackReplies:
    """Writes into threads; the one owner of the Web API client for messages."""

    def __init__(
        self, client: AsyncWebClient, scheduler: SlackScheduler, *, native_streaming: bool
    ):
        self.client = client
        self.scheduler = scheduler
        self.native_streaming = native_streaming
        # Slack's loading state under a thread, until Slack says it has none.
        self.loading_states = True

    async def post(
        self,
        channel: str,
        thread_ts: str | None,
        text: str,
        blocks: list[Block] | None = None,
        *,
        priority: Priority = Priority.FIRST,
        owner: object | None = None,
        on_wait: Callable[[], None] | None = None,
        waits: bool = True,
    ) -> str:
        """A new message: in the thread of `thread_ts`, or in the channel itself. Raises
        NotSent when `owner` withdrew it while it waited (an optional one), or, without
        `waits`, when it cannot go at once."""
        async with self.scheduler.turn(
            "chat.postMessage",
            channel,
            priority=priority,
            owner=owner,
            on_wait=on_wait,
            waits=waits,
        ):
            response = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        return str(response["ts"])

    async def post_to_person(self, user: str, text: str) -> tuple[str, str]:
        """A new top-level message in the bot's DM with `user`: (channel, ts)."""
        response = await self.client.chat_postMessage(
            channel=user, text=text, unfurl_links=False, unfurl_media=False
        )
        return str(response["channel"]), str(response["ts"])

    async def end_session(self, channel: str, thread_ts: str) -> None:
        """Take the thread's agent session out of "processing" (after a stop, Slack leaves
        that to the app). Only informative: a refusal changes nothing."""
        try:
            await self.client.agents_sessions_setStatus(
                channel_id=channel, thread_ts=thread_ts, status="active"
            )
        except SlackApiError as error:
            logger.info("session not ended in %s: %s", channel, slack_error(error))

    async def update(
        self,
        channel: str,
        ts: str,
        text: str,
        blocks: list[Block] | None = None,
        *,
        priority: Priority = Priority.FIRST,
        owner: object | None = None,
    ) -> None:
        # chat.update does not document the unfurl arguments; they go along all the
        # same (Slack ignores what a method does not take), so no edit of ours is the
        # one write that lets Slack fetch a link for a preview. A newer edit of the
        # same message drops this one if it is still waiting for its turn.
        async with self.scheduler.turn(
            "chat.update", channel, priority=priority, key=("chat.update", channel, ts), owner=owner
        ):
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )

    async def add_note(self, channel: str, thread_ts: str, ts: str, note: str) -> None:
        """End the message `ts`, which a crash left unfinished, with `note`, keeping what
        it shows: a stream still open is closed with the note; otherwise the message is
        read back and updated. Where neither works, the note follows as a new message."""
        try:
            await self.client.chat_stopStream(channel=channel, ts=ts, markdown_text=f"\n\n{note}")
            return
        except SlackApiError as error:
            logger.info("no open stream to note in %s: %s", channel, slack_error(error))
        try:
            # Asked for by its own ts, Slack may still return the whole thread.
            response = await self.client.conversations_replies(
                channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=1
            )
            shown = next((m for m in response.get("messages") or [] if m.get("ts") == ts), None)
            if shown is not None:
                blocks = shown.get("blocks")
                await self.update(
                    channel,
                    ts,
                    f"{shown.get('text') or ''}\n\n{note}",
                    [*blocks, section(note)] if blocks else None,
                )
                return
        except SlackApiError as error:
            logger.info("could not add a note to %s in %s: %s", ts, channel, slack_error(error))
        await self.post(channel, thread_ts, note)

    async def post_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[Block] | None = None,
    ) -> None:
        """A message only `user` sees (and only until they reload).

        Not counted in the channel's posting budget: Slack's one-a-second limit is on
        messages everyone sees (chat.postEphemeral has a tier of its own).
        chat.postEphemeral documents no unfurl arguments, so none are sent.
        """
        await self.client.chat_postEphemeral(
            channel=channel, user=user, text=text, thread_ts=thread_ts, blocks=blocks
        )

    async def react(self, channel: str, ts: str, name: str) -> None:
        """The bot's emoji reaction on a message (`name` without colons); reactions.add
        has a tier of its own across the workspace, not the channel's posting budget."""
        await self.client.reactions_add(channel=channel, timestamp=ts, name=name)

    async def delete(self, channel: str, ts: str) -> None:
        await self.client.chat_delete(channel=channel, ts=ts)

    def open_stream(
        self,
        channel: str,
        thread_ts: str,
        *,
        user_id: str,
        team_id: str | None,
        on_message: MessageCreated,
        live: bool = True,
    ) -> ReplyStream:
        return ReplyStream(
            self,
            channel=channel,
            thread_ts=thread_ts,
            user_id=user_id,
            team_id=team_id,
            on_message=on_message,
            live=live,
        )
