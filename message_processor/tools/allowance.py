"""Images drawn and edited per person per UTC day (IMAGE_GENERATIONS_PER_DAY), each
recorded with its estimated cost so `/ai usage` shows it.

An image is counted from the moment it is asked for, so a person's answers running at
once cannot together draw past the limit. It is recorded once the image service has
made it, or once its call is stopped midway (the service may have made it, and charges
for it all the same); one whose call failed is not counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from openai_client import PriceTable
from slack_client import IncomingMessage
from storage import UsageKind, UsageStore

DAY_SECONDS = 24 * 3600


class OverDailyLimit(Exception):
    """The person has had today's images; the message says so, for them."""


def daily_limit_line(per_day: int, now: float) -> str:
    left = DAY_SECONDS - now % DAY_SECONDS
    hours, minutes = int(left // 3600), int(left % 3600 // 60)
    return (
        f":frame_with_picture: _You've had the {per_day} images a day I draw or edit for "
        f"one person. More from midnight UTC, in {hours} h {minutes:02d} min._"
    )


class ImageAllowance:
    def __init__(
        self,
        usage: UsageStore,
        prices: PriceTable,
        *,
        per_day: int,
        model: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._usage = usage
        self._prices = prices
        self.per_day = per_day
        self._model = model
        self._clock = clock
        # Images being made right now, by person: not in the database yet.
        self._making: Counter[str] = Counter()

    @property
    def offered(self) -> bool:
        """0 a day: the image tools are not offered at all."""
        return self.per_day > 0

    @asynccontextmanager
    async def one(
        self, message: IncomingMessage, kind: UsageKind, size: str | None
    ) -> AsyncIterator[Image]:
        """Room for one image for the asker, or OverDailyLimit. Inside, the call that makes
        it goes through `Image.made`, which records it."""
        user = message.user
        # Counted before the database is read: two answers asking at once both see it.
        self._making[user] += 1
        image = Image(self, message, kind, size)
        try:
            now = self._clock()
            made = await self._usage.images_since(user, now - now % DAY_SECONDS)
            if made + self._making[user] > self.per_day:
                raise OverDailyLimit(daily_limit_line(self.per_day, now))
            yield image
        finally:
            if not image.recorded:
                self._done(user)

    def _done(self, user: str) -> None:
        self._making[user] -= 1
        if not self._making[user]:
            del self._making[user]

    async def record(self, message: IncomingMessage, kind: UsageKind, size: str | None) -> None:
        """One usage row with the image's estimated cost; from here the database counts it."""
        await self._usage.record_image(
            message.user,
            self._model,
            kind,
            cost=self._prices.image_cost(self._model, size),
            channel=message.channel,
            question_ts=message.ts,
            # By the clock that decides which day it counts against.
            at=self._clock(),
        )
        self._done(message.user)


class Image:
    """One image a person has room for (`ImageAllowance.one`)."""

    def __init__(
        self, allowance: ImageAllowance, message: IncomingMessage, kind: UsageKind, size: str | None
    ) -> None:
        self._allowance = allowance
        self._message = message
        self._kind = kind
        self._size = size
        self.recorded = False

    async def made(self, call: Awaitable[bytes]) -> bytes:
        """What `call` returns, recorded as made; also when it is stopped midway."""
        try:
            png = await call
        except asyncio.CancelledError:
            # Shielded: the stop that ends the answer must not also skip the record.
            await asyncio.shield(self._record())
            raise
        await self._record()
        return png

    async def _record(self) -> None:
        if not self.recorded:
            await self._allowance.record(self._message, self._kind, self._size)
            self.recorded = True
