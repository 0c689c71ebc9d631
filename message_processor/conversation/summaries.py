"""Reading a conversation to someone: "summarise this", the Summarize-thread shortcut
and `/ai summarize`.

A person gets read to them only what they can read in Slack themselves, in channels
the bot is allowed in, and only what the bot can read. The conversation becomes one
transcript (speakers named), which the model reads like an attached document.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from message_processor.admission.access import AccessPolicy
from message_processor.conversation.context import ThreadContext
from openai_client import ToolCall, ToolResult, ToolSpec
from slack_client import (
    AppContext,
    IncomingMessage,
    ReplyStream,
    ThreadMessage,
    ThreadReader,
    loggable,
)
from slack_client.transport.history import Readable

logger = logging.getLogger(__name__)

READ_VIEWED = "read_open_conversation"
TOOL = ToolSpec(
    name=READ_VIEWED,
    description=(
        "Read the Slack channel or thread the person has open beside this chat, to "
        "summarise it or answer questions about it ('summarise this', 'what did we "
        "decide here?')."
    ),
    parameters={"type": "object", "properties": {}},
)
GUIDANCE = (
    " The person has a Slack conversation open beside this chat; when they refer to it "
    "('this', 'here'), read it with read_open_conversation."
)
TASK = (
    "Summarise this Slack conversation for the person asking: the main points, decisions "
    "and open questions, with who said what where it matters."
)
READING = "_Reading the conversation you have open…_"
NOT_A_MEMBER = "I can only read you conversations you're in yourself."
BOT_NOT_IN = "I can't read that conversation: add me to it first (`/invite @assistant`)."
UNKNOWN = "I couldn't check who may read that conversation just now; please try again."
NOT_ALLOWED_THERE = "I'm not allowed to work in that channel."
NOTHING_TO_READ = "There is nothing to summarise there yet."
UNREADABLE_NOW = "I couldn't read that conversation just now; please try again."
# What a tool call reads of a conversation at most (about 25,000 tokens).
MAX_TOOL_TRANSCRIPT_CHARS = 100_000


@dataclass(frozen=True)
class ConversationRef:
    """A channel (its latest messages, or those since `since`) or one thread in it."""

    channel: str
    thread_ts: str | None = None
    since: float | None = None

    @classmethod
    def viewed(cls, context: AppContext) -> ConversationRef:
        return cls(context.channel, context.thread_ts)

    def title(self) -> str:
        where = f"<#{self.channel}>"
        if self.thread_ts:
            return f"Summary of a thread in {where}"
        if self.since:
            day = datetime.fromtimestamp(self.since, UTC).strftime("%d %B %Y %H:%M UTC")
            return f"Summary of {where} since {day}"
        return f"Summary of the latest messages in {where}"


class CannotRead(Exception):
    """The conversation is not read to this person; the message says why, for them."""


class ConversationDesk:
    def __init__(self, reader: ThreadReader, context: ThreadContext, access: AccessPolicy):
        self._reader = reader
        self._context = context
        self._access = access

    async def check(self, user: str, ref: ConversationRef) -> None:
        """Raises CannotRead unless `user` may have `ref` read to them."""
        if not self._access.allows(user, ref.channel):
            raise CannotRead(NOT_ALLOWED_THERE)
        readable = await self._reader.person_may_read(user, ref.channel)
        if readable is not Readable.YES:
            raise CannotRead(
                {Readable.NOT_A_MEMBER: NOT_A_MEMBER, Readable.BOT_NOT_IN: BOT_NOT_IN}.get(
                    readable, UNKNOWN
                )
            )

    async def transcript(self, user: str, ref: ConversationRef) -> str:
        """The conversation, one line a message with its speaker; raises CannotRead."""
        await self.check(user, ref)
        items: list[ThreadMessage]
        if ref.thread_ts:
            items = await self._reader.messages(ref.channel, ref.thread_ts)
        else:
            try:
                items = await self._reader.channel_messages(ref.channel, ref.since)
            except Exception as error:  # noqa: BLE001 - told to the person as one line
                logger.info("channel not read channel=%s: %s", ref.channel, type(error).__name__)
                raise CannotRead(BOT_NOT_IN) from None
        lines = await self._context.transcript(items)
        if not lines:
            raise CannotRead(NOTHING_TO_READ)
        return "\n".join(lines)

    async def task(self, message: IncomingMessage, ref: ConversationRef) -> str:
        """What the model is asked for a summary request: the task and the transcript,
        or why it cannot be read (which the model then tells the person)."""
        try:
            transcript = await self.transcript(message.user, ref)
        except CannotRead as refusal:
            return f"[The conversation could not be read: {refusal}]\n\n{TASK}"
        # The task comes last: a conversation too long for the model is cut from its
        # start, and the newest messages and the task are what must stay.
        opening = f'<conversation channel="{ref.channel}">'
        return f"{opening}\n{transcript}\n</conversation>\n\n{TASK}"

    def tools_for(self, message: IncomingMessage) -> tuple[ToolSpec, ...]:
        return (TOOL,) if message.viewing is not None else ()

    def handles(self, name: str) -> bool:
        return name == READ_VIEWED

    async def run_tool(
        self, call: ToolCall, message: IncomingMessage, stream: ReplyStream
    ) -> ToolResult:
        if message.viewing is None:
            return ToolResult(call, "The person has no conversation open beside this chat.")
        ref = ConversationRef.viewed(message.viewing)
        try:
            async with stream.step(READING):
                transcript = await self.transcript(message.user, ref)
        except CannotRead as refusal:
            return ToolResult(call, str(refusal))
        except Exception as error:  # noqa: BLE001 - the answer goes on without it
            logger.warning("open conversation not read: %s", loggable(error))
            return ToolResult(call, UNREADABLE_NOW)
        if len(transcript) > MAX_TOOL_TRANSCRIPT_CHARS:
            # Tool output is not trimmed to the model's budget: keep the newest part.
            transcript = "[Earlier messages left out.]\n" + transcript[-MAX_TOOL_TRANSCRIPT_CHARS:]
        return ToolResult(call, f"The conversation in <#{ref.channel}>:\n{transcript}")
