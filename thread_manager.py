"""Per-thread locks, busy state and a watchdog that only observes.

One answer per Slack thread at a time: a message that finds its thread busy is told
so instead of waiting. Locks are released only by their owner (the `async with`
below); nothing here can release someone else's lock. A lock exists only while it is
held, so idle threads leave nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThreadKey:
    channel: str
    thread_ts: str

    def __str__(self) -> str:
        return f"{self.channel}/{self.thread_ts}"


@dataclass
class _Holder:
    lock: asyncio.Lock
    what: str
    since: float = field(default_factory=time.monotonic)
    released: asyncio.Event = field(default_factory=asyncio.Event)


class ThreadLocks:
    def __init__(self) -> None:
        self._held: dict[ThreadKey, _Holder] = {}

    def __len__(self) -> int:
        return len(self._held)

    def is_busy(self, key: ThreadKey) -> bool:
        return key in self._held

    @asynccontextmanager
    async def try_hold(
        self, key: ThreadKey, what: str, *, grace: float = 0.0
    ) -> AsyncIterator[bool]:
        """Yield True while holding the thread's lock, or False if it stays busy.

        `grace` is how long to wait for a holder that is about to let go (a follow-up
        sent just as the previous answer was finishing); 0 means "answer at once".
        """
        deadline = time.monotonic() + grace
        while (busy := self._held.get(key)) is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                yield False
                return
            try:
                await asyncio.wait_for(busy.released.wait(), remaining)
            except TimeoutError:
                yield False
                return
        holder = _Holder(lock=asyncio.Lock(), what=what)
        # An uncontended asyncio.Lock is taken without suspending, so no other task can
        # slip in between the membership check above and this assignment.
        await holder.lock.acquire()
        self._held[key] = holder
        try:
            yield True
        finally:
            del self._held[key]
            holder.lock.release()
            holder.released.set()

    def long_running(self, threshold: float) -> list[tuple[ThreadKey, str, float]]:
        now = time.monotonic()
        return [
            (key, holder.what, now - holder.since)
            for key, holder in self._held.items()
            if now - holder.since >= threshold
        ]


class Watchdog:
    """Logs operations that hold a thread for long. It never changes any state."""

    def __init__(self, locks: ThreadLocks, *, threshold: float = 120.0, interval: float = 30.0):
        self._locks = locks
        self._threshold = threshold
        self._interval = interval

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            for key, what, age in self._locks.long_running(self._threshold):
                logger.warning(
                    "long-running answer: thread=%s what=%s running_for=%.0fs", key, what, age
                )
