"""Images drawn and edited per person per UTC day (IMAGE_GENERATIONS_PER_DAY), each
recorded with its estimated cost so `/ai usage` shows it.

An image is counted from the moment it is asked for, so a person's answers running at
once cannot together draw past the limit; one that was not made is not counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from database import Database
from openai_client import PriceTable
from slack_client import IncomingMessage

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
        db: Database,
        prices: PriceTable,
        *,
        per_day: int,
        model: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
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
    async def one(self, user: str) -> AsyncIterator[None]:
        """Room for one image for `user`, or OverDailyLimit. Inside, `record` it once made."""
        # Counted before the database is read: two answers asking at once both see it.
        self._making[user] += 1
        try:
            now = self._clock()
            made = await self._db.images_since(user, now - now % DAY_SECONDS)
            if made + self._making[user] > self.per_day:
                raise OverDailyLimit(daily_limit_line(self.per_day, now))
            yield
        finally:
            self._making[user] -= 1
            if not self._making[user]:
                del self._making[user]

    async def record(self, message: IncomingMessage, kind: str, size: str | None) -> None:
        """An image was made (and paid for): one usage row with its estimated cost."""
        await self._db.record_image(
            message.user,
            self._model,
            kind,
            cost=self._prices.image_cost(self._model, size),
            channel=message.channel,
            question_ts=message.ts,
        )
