"""The conversation the model reads: the thread from Slack merged with what we stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from database import Database
from openai_client import ChatTurn
from slack_client import BotIdentity, IncomingMessage, ThreadReader

_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")

SYSTEM_PROMPT = (
    "You are a helpful assistant in a Slack workspace, answering in a thread. "
    "Each message from a person starts with their name and a colon; several people may "
    "take part. Answer the latest message, using the thread as context. Write Markdown; "
    "keep answers focused and say so when you are unsure. Today is {today}."
)


def instructions() -> str:
    return SYSTEM_PROMPT.format(today=datetime.now(UTC).strftime("%A, %d %B %Y"))


class ThreadContext:
    def __init__(self, reader: ThreadReader, db: Database, identity: BotIdentity) -> None:
        self._reader = reader
        self._db = db
        self._identity = identity

    async def turns(self, message: IncomingMessage) -> list[ChatTurn]:
        """Every human line (labelled with its speaker) and every answer of ours, in order.

        A message that starts its thread has nothing before it, so nothing is read.
        """
        if not message.is_thread_reply:
            return [await self._turn(message.user, message.text)]
        stored = await self._db.thread_messages(message.channel, message.thread_ts)
        # An answer is stored under the ts of the message it answers, and sorts after it.
        lines: dict[tuple[float, int], ChatTurn] = {
            (float(m.ts), 1): ChatTurn("assistant", m.text)
            for m in stored
            if m.role == "assistant" and float(m.ts) < float(message.ts)
        }
        humans: dict[str, tuple[str, str]] = {
            m.ts: (m.user_id or "someone", m.text)
            for m in stored
            if m.role == "user" and float(m.ts) <= float(message.ts)
        }
        humans[message.ts] = (message.user, message.text)
        for item in await self._reader.messages(message.channel, message.thread_ts):
            # Messages posted after this one belong to later answers, not this one.
            if float(item.ts) > float(message.ts):
                continue
            if item.bot_id is None and item.user and item.user != self._identity.user_id:
                humans[item.ts] = (item.user, item.text)
        for ts, (user, text) in humans.items():
            lines[(float(ts), 0)] = await self._turn(user, text)
        return [lines[key] for key in sorted(lines)]

    async def _turn(self, user: str, text: str) -> ChatTurn:
        return ChatTurn("user", f"{await self._reader.name(user)}: {await self._clean(text)}")

    async def _clean(self, text: str) -> str:
        """Mentions become names; the bot's own mention is just the way it was addressed."""
        pieces: list[str] = []
        last = 0
        for match in _USER_MENTION.finditer(text):
            pieces.append(text[last : match.start()])
            user_id = match.group(1)
            if user_id != self._identity.user_id:
                pieces.append("@" + await self._reader.name(user_id))
            last = match.end()
        pieces.append(text[last:])
        return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()
