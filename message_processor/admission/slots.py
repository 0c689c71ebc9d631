"""The global bound on concurrent model calls (MAX_CONCURRENT_REQUESTS).

Work beyond the bound waits in arrival order (asyncio.Semaphore is FIFO), and the
person sees it queued (a step of the reply) until a slot frees up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_client import ReplyStream

THINKING = "_Thinking…_"
READING_FILES = "_Reading your files…_"
WAITING_TO_READ = "_Waiting to read your files: others are being read right now…_"
QUEUED = "_Queued: many questions are being answered right now. Yours is next in line…_"


async def acquire_shown(semaphore: asyncio.Semaphore, stream: ReplyStream, waiting: str) -> None:
    """Take `semaphore`; when it must be waited for, the person sees `waiting` as a step of
    the reply, then Thinking. Held only on return: a stop, or a Slack update that fails
    while the step closes, gives it back rather than keeping it for good."""
    if not semaphore.locked():
        await semaphore.acquire()
        return
    acquired = False
    try:
        async with stream.step(waiting):
            await semaphore.acquire()
            acquired = True
        await stream.set_status(THINKING)
    except BaseException:
        if acquired:
            semaphore.release()
        raise


class ModelSlots:
    def __init__(self, limit: int) -> None:
        self._semaphore = asyncio.Semaphore(limit)
        self.waiting = 0
        self.in_use = 0

    @asynccontextmanager
    async def hold(self, stream: ReplyStream) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await acquire_shown(self._semaphore, stream, QUEUED)
        finally:
            self.waiting -= 1
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            self._semaphore.release()
