"""Reading a thread back from Slack: every page of conversations.replies, speakers named."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.errors import slack_error
from slack_client.events import SharedFile, parse_files

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
# A thread longer than this is cut from the start; the model could not use it anyway.
MAX_PAGES = 50
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


class ThreadReader:
    """What message_processor needs from Slack to read a thread: its messages, named."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._names = UserNames(client)

    async def messages(self, channel: str, thread_ts: str) -> list[ThreadMessage]:
        return await fetch_thread(self._client, channel, thread_ts)

    async def name(self, user_id: str) -> str:
        return await self._names.name(user_id)

    def known_name(self, user_id: str) -> str | None:
        return self._names.known(user_id)


class UserNames:
    """Display names for speaker labels, looked up once per user and remembered for a
    while (people rename themselves) in a bounded cache."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        capacity: int = NAMES_REMEMBERED,
        ttl: float = NAME_MEMORY_SECONDS,
    ) -> None:
        self._client = client
        self._capacity = capacity
        self._ttl = ttl
        self._names: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def known(self, user_id: str) -> str | None:
        """The remembered name, without asking Slack."""
        found = self._names.get(user_id)
        if found is None or time.monotonic() - found[1] > self._ttl:
            return None
        self._names.move_to_end(user_id)
        return found[0]

    async def name(self, user_id: str) -> str:
        known = self.known(user_id)
        if known is not None:
            return known
        name = user_id
        try:
            response = await self._client.users_info(user=user_id)
            user = response.get("user") or {}
            profile = user.get("profile") or {}
            name = (
                profile.get("display_name") or profile.get("real_name") or user.get("name") or name
            )
        except SlackApiError as error:
            logger.info("users.info failed for %s: %s", user_id, slack_error(error))
        self._names[user_id] = (name, time.monotonic())
        self._names.move_to_end(user_id)
        while len(self._names) > self._capacity:
            self._names.popitem(last=False)
        return name
