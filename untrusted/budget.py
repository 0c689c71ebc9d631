"""A bot-wide budget of bytes being downloaded and read at once.

Each file holds its size from before its download until its worker is done with it. A
message whose files do not fit waits, in order of arrival, and is told that it waits,
instead of pushing the bot out of memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

OnWait = Callable[[], Awaitable[None]]


class ByteBudget:
    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def held(self) -> int:
        return self.total - self._free

    @asynccontextmanager
    async def hold(self, size: int, on_wait: OnWait | None = None) -> AsyncIterator[None]:
        """Hold `size` bytes (at most the whole budget) for the duration of the block."""
        size = max(1, min(size, self.total))
        await self._acquire(size, on_wait)
        try:
            yield
        finally:
            self._release(size)

    async def _acquire(self, size: int, on_wait: OnWait | None) -> None:
        if not self._waiters and size <= self._free:
            self._free -= size
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, granted)
        self._waiters.append(entry)
        try:
            if on_wait is not None:
                await on_wait()
            await granted
        except BaseException:
            if granted.done() and not granted.cancelled():
                self._release(size)  # granted just as the wait was given up
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)
                self._grant()  # the request behind this one may fit now
            raise

    def _release(self, size: int) -> None:
        self._free += size
        self._grant()

    def _grant(self) -> None:
        # First come, first served: a large request is not overtaken for ever by small ones.
        while self._waiters:
            size, granted = self._waiters[0]
            if granted.done():  # its waiter was cancelled and is leaving
                self._waiters.popleft()
                continue
            if size > self._free:
                return
            self._waiters.popleft()
            self._free -= size
            granted.set_result(None)
