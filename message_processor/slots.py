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


class ModelSlots:
    def __init__(self, limit: int) -> None:
        self._semaphore = asyncio.Semaphore(limit)
        self.waiting = 0

    @asynccontextmanager
    async def hold(self, stream: ReplyStream) -> AsyncIterator[None]:
        queued = self._semaphore.locked()
        # Released in the one outer `finally`: a stop or a failed Slack update while the
        # queued step closes must not keep the slot for good.
        acquired = False
        self.waiting += 1
        try:
            try:
                if queued:
                    # A step the person sees (a task of the stream, or the status line).
                    async with stream.step(QUEUED):
                        await self._semaphore.acquire()
                        acquired = True
                else:
                    await self._semaphore.acquire()
                    acquired = True
            finally:
                self.waiting -= 1
            if queued:
                await stream.set_status(THINKING)
            yield
        finally:
            if acquired:
                self._semaphore.release()
