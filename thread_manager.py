"""Per-thread locks, busy state, and watchdogs that only observe.

One answer per Slack thread at a time: a message that finds its thread busy is told
so instead of waiting. Locks are released only by their owner (the `async with`
below); nothing here can release someone else's lock. A lock exists only while it is
held, so idle threads leave nothing behind. Across instances sharing a store, a thread's
lock is also a lease in the store (`SharedLeases`), taken once the process's own lock is.

The event loop itself is watched too: `LoopMonitor` measures how late it wakes up and
names the code that kept it from running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from storage import CoordinationStore

logger = logging.getLogger(__name__)

# Not resolved: frames carry their file names as the modules were imported, like this one.
_PROJECT = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Enough frames to name the blocking call and who made it, short enough for one log line.
_FRAMES_SHOWN = 4
# How often a lease held by another instance is asked for again while waiting for it.
LEASE_POLL_SECONDS = 0.1
# The token of a lease granted without the store (see `SharedLeases.take`).
UNRECORDED = ""


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


class SharedLeases:
    """Leases in the store, held by this process: what it holds is known here, so a lease
    whose release failed is dropped at the next `renew` (a background job)."""

    def __init__(self, store: CoordinationStore) -> None:
        self._store = store
        self._held: set[str] = set()
        # Released, not yet freed in the store: freed together by one task at a time, so
        # a burst of answers ending costs a statement or two, not one each.
        self._releasing: set[str] = set()
        self._freeing: asyncio.Task[None] | None = None

    async def take(self, key: str, limit: int, *, until: float | None = None) -> str | None:
        """One of `key`'s `limit` leases: its token, or None if none came free by `until`
        (monotonic time; None: wait as long as it takes). A store that cannot be asked
        grants it unrecorded (`UNRECORDED`): the process's own lock still holds, and a
        message is not lost for want of a lease."""
        while True:
            try:
                token = await self._store.take_lease(key, limit)
            except Exception as error:  # noqa: BLE001 - granted, as said above
                logger.warning("lease %s not taken: %s", key, type(error).__name__)
                return UNRECORDED
            if token is not None:
                self._held.add(token)
                return token
            now = time.monotonic()
            if until is not None and now >= until:
                return None
            await asyncio.sleep(
                LEASE_POLL_SECONDS if until is None else min(LEASE_POLL_SECONDS, until - now)
            )

    async def release(self, token: str) -> None:
        """The lease is freed in the store by a task of its own, with the others released
        meanwhile (a follow-up in the same thread waits for it within its grace)."""
        if token == UNRECORDED:
            return
        self._held.discard(token)
        self._releasing.add(token)
        if self._freeing is None:
            self._freeing = asyncio.create_task(self._free())

    async def _free(self) -> None:
        try:
            while self._releasing:
                tokens, self._releasing = self._releasing, set()
                try:
                    await self._store.release_leases(tokens)
                except Exception as error:  # noqa: BLE001 - `renew` drops them
                    logger.warning("leases not released: %s", type(error).__name__)
        finally:
            self._freeing = None

    @asynccontextmanager
    async def hold(self, key: str, limit: int, *, until: float | None) -> AsyncIterator[bool]:
        """True while holding a lease taken as `take` does; False if none was."""
        token = await self.take(key, limit, until=until)
        if token is None:
            yield False
            return
        try:
            yield True
        finally:
            await self.release(token)

    async def renew(self) -> int:
        """This process is alive and holds what it holds; how many instances are."""
        instances = await self._store.heartbeat()
        await self._store.keep_leases(frozenset(self._held))
        return instances


class ThreadLocks:
    def __init__(self, shared: SharedLeases) -> None:
        self._held: dict[ThreadKey, _Holder] = {}
        self._shared = shared

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
            async with self._shared.hold(f"thread:{key}", 1, until=deadline) as leased:
                yield leased
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

    def __init__(self, locks: ThreadLocks, *, threshold: float = 120.0):
        self._locks = locks
        self._threshold = threshold

    async def check(self) -> None:
        """One look (a background job, run every half minute or so)."""
        for key, what, age in self._locks.long_running(self._threshold):
            logger.warning(
                "long-running answer: thread=%s what=%s running_for=%.0fs", key, what, age
            )


class LoopMonitor:
    """Measures event-loop lag and names what blocked the loop. It never changes any state.

    A task ticks every `interval`; how late a tick wakes up is the loop's lag. By the
    time a late tick runs, whatever blocked the loop has returned, so a daemon thread
    watches the ticks and, while one is overdue by `threshold`, samples the loop
    thread's stack. The thread only reads: it never calls into the loop.
    """

    def __init__(self, *, threshold: float = 0.1, interval: float = 0.05) -> None:
        self.threshold = threshold
        self._interval = interval
        # When the loop should run the next tick; written by the loop, read by the thread.
        self._due = time.monotonic()
        # (the `_due` it was taken for, where the loop thread was); written by the thread.
        self._sample: tuple[float, str] | None = None
        # (minute, worst lag in it) for the last hour.
        self._minutes: deque[tuple[int, float]] = deque(maxlen=60)

    def worst_lag_last_minute(self) -> float:
        """Seconds; the loop's longest wait for its turn in the current minute."""
        minute = int(time.monotonic() // 60)
        return self._minutes[-1][1] if self._minutes and self._minutes[-1][0] == minute else 0.0

    def worst_lag_last_hour(self) -> float:
        """Seconds; the loop's longest wait for its turn to run in the last 60 minutes."""
        oldest = int(time.monotonic() // 60) - 59
        return max((lag for minute, lag in self._minutes if minute >= oldest), default=0.0)

    async def run(self) -> None:
        stop = threading.Event()
        watcher = threading.Thread(
            target=self._watch,
            args=(threading.get_ident(), stop),
            name="loop-monitor",
            daemon=True,
        )
        self._due = time.monotonic() + self._interval
        watcher.start()
        try:
            while True:
                await asyncio.sleep(self._interval)
                now = time.monotonic()
                due, self._due = self._due, now + self._interval
                lag = max(0.0, now - due)
                self._record(lag, now)
                if lag > self.threshold:
                    logger.warning(
                        "event loop stalled for %.2fs; running: %s", lag, self._running(due)
                    )
        finally:
            stop.set()
            # Returns at once: the thread waits on `stop` and never blocks elsewhere.
            watcher.join()

    def _record(self, lag: float, now: float) -> None:
        minute = int(now // 60)
        if self._minutes and self._minutes[-1][0] == minute:
            lag = max(lag, self._minutes[-1][1])
            self._minutes.pop()
        self._minutes.append((minute, lag))

    def _running(self, due: float) -> str:
        sample = self._sample
        if sample is None or sample[0] != due:
            # The stall ended before the thread looked (or the thread was starved too).
            return "unknown"
        return sample[1]

    def _watch(self, loop_thread: int, stop: threading.Event) -> None:
        while not stop.is_set():
            due = self._due
            wait = due + self.threshold - time.monotonic()
            if wait <= 0:
                where = _where(loop_thread)
                # Unchanged `_due` means the loop had not resumed: the stack is the stall's.
                if self._due == due:
                    self._sample = (due, where)
                # The latest sample wins: it is what was still running when the loop resumed.
                wait = self._interval / 2
            stop.wait(wait)


def _where(thread_id: int) -> str:
    """Where a thread is, innermost first: code locations only, never values."""
    frame = sys._current_frames().get(thread_id)
    shown: list[str] = []
    innermost = True
    while frame is not None and len(shown) < _FRAMES_SHOWN:
        filename = frame.f_code.co_filename
        ours = filename.startswith(_PROJECT) and "site-packages" not in filename
        # Of the other frames only the innermost: the library call that was slow on the
        # project's behalf. The project's own frames say who made it.
        if ours or innermost:
            place = filename[len(_PROJECT) :] if ours else "/".join(Path(filename).parts[-2:])
            shown.append(f"{place}:{frame.f_lineno} in {frame.f_code.co_qualname}")
        innermost = False
        frame = frame.f_back
    return " < ".join(shown) or "unknown"
