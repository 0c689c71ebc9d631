"""Who may use the bot, who administers it, and how often one person may ask."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from slack_client import is_dm_channel
from storage import CoordinationStore

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class AccessPolicy:
    admins: frozenset[str] = frozenset()
    # Empty: everyone, every channel. DMs are governed by the user list alone.
    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def is_admin(self, user: str) -> bool:
        return user in self.admins

    def allows(self, user: str, channel: str | None) -> bool:
        """Whether `user` is answered in `channel` (None: anywhere they may be, as in
        App Home)."""
        if self.users and user not in self.users and user not in self.admins:
            return False
        if channel is None or is_dm_channel(channel):
            return True
        return not self.channels or channel in self.channels


class RateLimiter:
    """At most `per_minute` answered messages per person in any sliding minute: counted
    here, and across instances in the store (`shared`, under `name`) once this process's
    own count lets a message through."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        shared: CoordinationStore | None = None,
        name: str = "messages",
    ) -> None:
        self._limit = per_minute
        self._clock = clock
        self._shared = shared
        self._name = name
        self._recent: dict[str, deque[float]] = {}
        # Until when each person has been told they are over the limit.
        self._told_until: dict[str, float] = {}

    @property
    def per_minute(self) -> int:
        return self._limit

    def wait_needed(self, user: str) -> float:
        """0 and counted if `user` may go ahead now; else seconds until they may."""
        if self._limit <= 0:
            return 0.0
        now = self._clock()
        recent = self._recent.setdefault(user, deque())
        while recent and recent[0] <= now - WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self._limit:
            return recent[0] + WINDOW_SECONDS - now
        recent.append(now)
        return 0.0

    async def spend(self, user: str) -> float:
        """As `wait_needed`, across every instance sharing the store. A store that cannot
        be asked lets the message through on this process's count alone."""
        wait = self.wait_needed(user)
        if wait > 0 or self._shared is None or self._limit <= 0:
            return wait
        try:
            wait = await self._shared.spend(f"{self._name}:{user}", self._limit)
        except Exception as error:  # noqa: BLE001 - as said above
            logger.warning("rate not shared: %s", type(error).__name__)
            return 0.0
        if wait > 0:
            # Not counted across instances: not counted here either.
            recent = self._recent.get(user)
            if recent:
                recent.pop()
        return wait

    def first_notice(self, user: str, wait: float) -> bool:
        """True once per stretch over the limit: more messages meanwhile get no notice."""
        now = self._clock()
        if self._told_until.get(user, 0.0) > now:
            return False
        self._told_until[user] = now + wait
        return True

    def forget_idle(self) -> None:
        """Drop people with nothing in the window, so the map does not grow for ever."""
        cutoff = self._clock() - WINDOW_SECONDS
        for user in [u for u, recent in self._recent.items() if not recent or recent[-1] <= cutoff]:
            del self._recent[user]
        now = self._clock()
        for user in [u for u, until in self._told_until.items() if until <= now]:
            del self._told_until[user]


# Put on every message the rate limit turns away (Slack's emoji name, without colons).
TURNED_AWAY_REACTION = "no_entry_sign"


def rate_limited(limit: int, wait: float) -> str:
    return (
        f":hourglass: You've sent me {limit} messages in the last minute, which is the limit. "
        f"I'm not answering the messages marked :{TURNED_AWAY_REACTION}:; "
        f"send them again in {max(1, round(wait))} seconds."
    )


def commands_throttled(limit: int, wait: float) -> str:
    return (
        f":hourglass: You've run {limit} `/ai` commands or shortcuts that call other services "
        f"in the last minute, which is the limit. Try again in {max(1, round(wait))} seconds."
    )
