"""Reading conversations back from Slack: a thread (every page of conversations.replies),
a channel's latest messages, whether a person may read one, speakers named."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.handover import SharedFile
from slack_client.transport.errors import slack_error
from slack_client.transport.files import parse_files
from slack_client.transport.scheduler import NotSent, Priority, SlackScheduler

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
# A thread longer than this is cut from the start; the model could not use it anyway.
MAX_PAGES = 50
# A channel read for a summary: its latest messages, at most this many.
MAX_CHANNEL_MESSAGES = 500
# Members of a private conversation looked through to find one person.
MAX_MEMBER_PAGES = 10
# Display names remembered, and for how long.
NAMES_REMEMBERED = 10_000
NAME_MEMORY_SECONDS = 3600.0


@dataclass(frozen=True)
class ThreadMessage:
    ts: str
    user: str | None
    bot_id: str | None
    text: str
    files: tuple[SharedFile, ...] = ()


async def fetch_thread(client: AsyncWebClient, channel: str, thread_ts: str) -> list[ThreadMessage]:
    """Every page of the thread; an empty list (and a log line) if Slack refuses."""
    try:
        return await _fetch_pages(client, channel, thread_ts)
    except SlackApiError as error:
        logger.warning(
            "conversations.replies failed: channel=%s thread=%s error=%s",
            channel,
            thread_ts,
            slack_error(error),
        )
        return []


async def _fetch_pages(client: AsyncWebClient, channel: str, thread_ts: str) -> list[ThreadMessage]:
    messages: list[ThreadMessage] = []
    seen: set[str] = set()
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        response = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=PAGE_SIZE, cursor=cursor
        )
        for raw in response.get("messages") or []:
            # Slack repeats the parent at the top of every page.
            if isinstance(raw, dict) and isinstance(raw.get("ts"), str) and raw["ts"] not in seen:
                seen.add(raw["ts"])
                messages.append(_thread_message(raw))
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or not cursor:
            break
    return messages


def _thread_message(raw: dict[str, Any]) -> ThreadMessage:
    text = raw.get("text")
    return ThreadMessage(
        ts=raw["ts"],
        user=raw.get("user") if isinstance(raw.get("user"), str) else None,
        bot_id=raw.get("bot_id") if isinstance(raw.get("bot_id"), str) else None,
        text=text if isinstance(text, str) else "",
        files=parse_files(raw.get("files")),
    )


async def fetch_channel(
    client: AsyncWebClient, channel: str, oldest: float | None
) -> list[ThreadMessage]:
    """A channel's top-level messages after `oldest` (the latest MAX_CHANNEL_MESSAGES),
    oldest first. Raises SlackApiError: the caller says why it could not read."""
    messages: list[ThreadMessage] = []
    cursor: str | None = None
    while len(messages) < MAX_CHANNEL_MESSAGES:
        response = await client.conversations_history(
            channel=channel,
            limit=min(PAGE_SIZE, MAX_CHANNEL_MESSAGES - len(messages)),
            cursor=cursor,
            oldest=f"{oldest:.6f}" if oldest else None,
        )
        messages += [
            _thread_message(raw)
            for raw in response.get("messages") or []
            if isinstance(raw, dict) and isinstance(raw.get("ts"), str)
        ]
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or not cursor:
            break
    messages.reverse()  # Slack pages from the newest
    return messages


class Readable(Enum):
    """Whether a person may have the bot read a conversation to them."""

    YES = "yes"
    NOT_A_MEMBER = "not a member"
    BOT_NOT_IN = "bot not in it"
    UNKNOWN = "cannot tell"


async def person_may_read(client: AsyncWebClient, user: str, channel: str) -> Readable:
    """A person may have read to them a conversation they are in: a channel (public ones
    too: guests and people from other organisations cannot read every public channel)
    or a group DM of theirs, or their own DM with the bot."""
    try:
        info = (await client.conversations_info(channel=channel)).get("channel") or {}
        if info.get("is_im"):
            return Readable.YES if info.get("user") == user else Readable.NOT_A_MEMBER
        if info.get("is_member") is False:  # the bot's own membership
            return Readable.BOT_NOT_IN
        cursor: str | None = None
        for _ in range(MAX_MEMBER_PAGES):
            page = await client.conversations_members(channel=channel, limit=1000, cursor=cursor)
            if user in (page.get("members") or []):
                return Readable.YES
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return Readable.NOT_A_MEMBER
        return Readable.UNKNOWN
    except SlackApiError as error:
        code = slack_error(error)
        logger.info("cannot check access to channel=%s: %s", channel, code)
        if code in ("channel_not_found", "not_in_channel"):
            return Readable.BOT_NOT_IN
        return Readable.UNKNOWN


class ThreadReader:
    """What message_processor needs from Slack to read conversations: messages, named."""

    def __init__(self, client: AsyncWebClient, scheduler: SlackScheduler) -> None:
        self._client = client
        self._names = UserNames(client, scheduler)

    async def messages(self, channel: str, thread_ts: str) -> list[ThreadMessage]:
        return await fetch_thread(self._client, channel, thread_ts)

    async def channel_messages(self, channel: str, oldest: float | None) -> list[ThreadMessage]:
        return await fetch_channel(self._client, channel, oldest)

    async def person_may_read(self, user: str, channel: str) -> Readable:
        return await person_may_read(self._client, user, channel)

    async def name(self, user_id: str) -> str:
        return await self._names.name(user_id)

    def known_name(self, user_id: str) -> str | None:
        return self._names.known(user_id)


class UserNames:
    """Display names for speaker labels, looked up once per user and remembered for a
    while (people rename themselves) in a bounded cache.

    A label is not worth an answer's wait: a lookup goes only while users.info's
    documented budget has room (one lookup per person however many ask at once), and
    otherwise the person's id stands in, this time.
    """

    def __init__(self, client: AsyncWebClient, scheduler: SlackScheduler) -> None:
        self._client = client
        self._scheduler = scheduler
        self._names: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._asking: dict[str, asyncio.Future[str]] = {}

    def known(self, user_id: str) -> str | None:
        """The remembered name, without asking Slack."""
        found = self._names.get(user_id)
        if found is None or time.monotonic() - found[1] > NAME_MEMORY_SECONDS:
            return None
        self._names.move_to_end(user_id)
        return found[0]

    async def name(self, user_id: str) -> str:
        known = self.known(user_id)
        if known is not None:
            return known
        asking = self._asking.get(user_id)
        if asking is None:
            asking = self._asking[user_id] = asyncio.ensure_future(self._look_up(user_id))
            asking.add_done_callback(lambda _: self._asking.pop(user_id, None))
        return await asyncio.shield(asking)

    async def _look_up(self, user_id: str) -> str:
        name = user_id
        try:
            async with self._scheduler.turn("users.info", priority=Priority.STATUS, waits=False):
                response = await self._client.users_info(user=user_id)
        except NotSent:
            return user_id  # not remembered: the next answer asks again
        except SlackApiError as error:
            logger.info("users.info failed for %s: %s", user_id, slack_error(error))
        else:
            user = response.get("user") or {}
            profile = user.get("profile") or {}
            name = (
                profile.get("display_name") or profile.get("real_name") or user.get("name") or name
            )
        self._names[user_id] = (name, time.monotonic())
        self._names.move_to_end(user_id)
        while len(self._names) > NAMES_REMEMBERED:
            self._names.popitem(last=False)
        return name
