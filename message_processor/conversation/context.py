"""The conversation the model reads: the thread from Slack merged with what we stored."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from message_processor.conversation.provenance import Outside, Provenance
from message_processor.files.image_reader import (
    MAX_THREAD_IMAGES,
    ImageReader,
    ImageSource,
    is_image,
    source_key,
)
from message_processor.files.links import image_links, may_hold_links
from message_processor.files.page_reader import is_page
from message_processor.memory import ThreadMemory
from openai_client import ChatTurn, ModelImage
from slack_client import BotIdentity, IncomingMessage, SharedFile, ThreadMessage, ThreadReader
from storage import ThreadImage, ThreadStore

# Earlier top-level DM messages (and answers) read before a new one; trimming to the
# model's budget still applies.
DM_CONVERSATION_MESSAGES = 40
# People mentioned in a thread who are looked up in Slack for one answer; the rest keep
# their ids (unless their names are known already).
MAX_MENTION_LOOKUPS = 20
# No `<` inside a mention: each match attempt stops at the next one, so a message of
# unclosed mentions is scanned once, not once per mention.
_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>]*)?>")

SYSTEM_PROMPT = (
    "You are a helpful assistant in a Slack workspace, answering in a thread. "
    "Each message from a person starts with their name and a colon; several people may "
    "take part. Answer the latest message, using the thread as context. Write Markdown; "
    "keep answers focused and say so when you are unsure. Today is {today}."
)


def instructions() -> str:
    return SYSTEM_PROMPT.format(today=datetime.now(UTC).strftime("%A, %d %B %Y"))


class ThreadContext:
    def __init__(
        self, reader: ThreadReader, threads: ThreadStore, identity: BotIdentity, images: ImageReader
    ) -> None:
        self._reader = reader
        self._threads = threads
        self._identity = identity
        self._images = images

    async def turns(
        self, message: IncomingMessage, provenance: Provenance, memory: ThreadMemory
    ) -> list[ChatTurn]:
        """Every human line (labelled with its speaker) and every answer of ours, in order.

        A message that starts a thread in a channel has nothing before it, so nothing is
        read. In a DM, top-level messages are one conversation (until `/ai reset`).
        What the asker did not write is noted in `provenance`; images found in the thread
        join its numbered list in `memory`.
        """
        if message.files:
            provenance.add(Outside.FILES)
        if may_hold_links(message.text) and image_links(message.text):
            provenance.add(Outside.LINKS)
        if not message.is_thread_reply:
            if message.is_dm:
                return await self._dm_turns(message, provenance)
            return [await self._turn(message.user, message.text, set())]
        stored, documents = memory.messages, memory.documents
        # Documents read from earlier messages go with those messages, as first read.
        blocks: dict[str, list[str]] = {}
        for document in documents:
            if float(document.message_ts) < float(message.ts):
                blocks.setdefault(document.message_ts, []).append(document.text)
                provenance.add(Outside.LINKS if is_page(document) else Outside.FILES)
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
        earlier: dict[str, list[ImageSource]] = {}
        looked_up: set[str] = set()
        for item in await self._reader.messages(message.channel, message.thread_ts):
            # Messages posted after this one belong to later answers, not this one.
            if float(item.ts) > float(message.ts):
                continue
            if item.bot_id is None and item.user and item.user != self._identity.user_id:
                humans[item.ts] = (item.user, item.text)
                sources = [f for f in item.files if is_image(f)] + image_links(item.text)
                if item.ts != message.ts and sources:
                    earlier[item.ts] = sources
        if any(
            m.outside for m in stored if m.role == "assistant" and float(m.ts) < float(message.ts)
        ):
            provenance.add(Outside.ANSWERS)
        _note_outside(message.user, humans, earlier, provenance)
        _number_earlier_images(earlier, memory)
        images = await self._earlier_images(earlier)
        for ts, (user, text) in humans.items():
            turn = await self._turn(user, text, looked_up)
            if ts in earlier:
                found = [images[key] for key in map(source_key, earlier[ts]) if key in images]
                turn = replace(turn, images=tuple(found))
            if ts in blocks:
                turn = replace(turn, text="\n\n".join([*blocks[ts], turn.text]))
            lines[(float(ts), 0)] = turn
        return [lines[key] for key in sorted(lines)]

    async def transcript(self, items: list[ThreadMessage]) -> list[str]:
        """A conversation read for someone: one line a message, speakers named (the bot's
        own messages as "assistant"), mentions looked up within the usual bound."""
        looked_up: set[str] = set()
        lines: list[str] = []
        for item in items:
            if not item.text.strip():
                continue
            if item.user == self._identity.user_id or item.bot_id == self._identity.bot_id:
                speaker = "assistant"
            elif item.user and item.bot_id is None:
                speaker = await self._reader.name(item.user)
            else:
                speaker = "a bot"
            lines.append(f"{speaker}: {await self._clean(item.text, looked_up)}")
        return lines

    async def _dm_turns(self, message: IncomingMessage, provenance: Provenance) -> list[ChatTurn]:
        stored = await self._threads.conversation_since(
            message.channel, message.user, message.ts, DM_CONVERSATION_MESSAGES
        )
        if any(m.outside for m in stored if m.role != "user"):
            provenance.add(Outside.ANSWERS)
        looked_up: set[str] = set()
        turns = [
            await self._turn(m.user_id or message.user, m.text, looked_up)
            if m.role == "user"
            else ChatTurn("assistant", m.text)
            for m in stored
        ]
        return [*turns, await self._turn(message.user, message.text, looked_up)]

    async def _earlier_images(
        self, sources_by_ts: dict[str, list[ImageSource]]
    ) -> dict[str, ModelImage]:
        """The thread's earlier images stay in view, newest first, up to a cap."""
        chosen: list[ImageSource] = []
        for ts in sorted(sources_by_ts, key=float, reverse=True):
            chosen += sources_by_ts[ts]
        return await self._images.read_earlier(chosen[:MAX_THREAD_IMAGES])

    async def _turn(self, user: str, text: str, looked_up: set[str]) -> ChatTurn:
        """A person's line; `looked_up` is the people this answer asked Slack about."""
        name = await self._reader.name(user)
        return ChatTurn("user", f"{name}: {await self._clean(text, looked_up)}")

    async def _clean(self, text: str, looked_up: set[str]) -> str:
        """Mentions become names; the bot's own mention is just the way it was addressed.

        At most `MAX_MENTION_LOOKUPS` people mentioned are looked up in Slack for one
        answer, however many messages of the thread mention them: thousands of mentions
        must not cost thousands of calls. Others keep their id unless their name is
        already known."""
        pieces: list[str] = []
        last = 0
        for match in _USER_MENTION.finditer(text):
            pieces.append(text[last : match.start()])
            user_id = match.group(1)
            if user_id != self._identity.user_id:
                name = self._reader.known_name(user_id)
                if name is None and (user_id in looked_up or len(looked_up) < MAX_MENTION_LOOKUPS):
                    looked_up.add(user_id)
                    name = await self._reader.name(user_id)
                pieces.append("@" + (name or user_id))
            last = match.end()
        pieces.append(text[last:])
        return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()


def _number_earlier_images(
    sources_by_ts: dict[str, list[ImageSource]], memory: ThreadMemory
) -> None:
    """Images posted in the thread without a mention join its numbered list too, so
    "make it blue" can name them."""
    memory.add_images(
        ThreadImage(s.id, ts, "user", f"{s.name} (attached)")
        for ts, sources in sources_by_ts.items()
        for s in sources
        if isinstance(s, SharedFile)
    )


def _note_outside(
    asker: str,
    humans: dict[str, tuple[str, str]],
    earlier: dict[str, list[ImageSource]],
    provenance: Provenance,
) -> None:
    """What of the thread's messages and images the asker did not write."""
    if any(user != asker for user, _ in humans.values()):
        provenance.add(Outside.OTHERS)
    for sources in earlier.values():
        for source in sources:
            provenance.add(Outside.FILES if isinstance(source, SharedFile) else Outside.LINKS)
