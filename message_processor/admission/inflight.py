"""How many answers one person may have in progress at once (USER_ANSWERS_IN_FLIGHT).

A person's further questions wait, in the order they were asked, and say so (a step of
the reply), so one person cannot take every model slot. Other people are not held up:
each person has a bound of their own. Across instances sharing a store, the bound is a
person's leases in it (`SharedLeases`), taken once this process's own place is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from message_processor.admission.slots import THINKING, acquire_shown
from slack_client import ReplyStream
from thread_manager import SharedLeases

logger = logging.getLogger(__name__)


def waiting_line(limit: int) -> str:
    others = "answer" if limit == 1 else f"{limit} answers"
    return (
        f"_Waiting: I'm still writing your other {others}, the most I work on for one "
        "person at once. This one starts when one of them is done…_"
    )


@dataclass
class _Person:
    # asyncio.Semaphore is FIFO: a person's questions start in the order they were asked.
    semaphore: asyncio.Semaphore
    # Answers holding or waiting for a place; at 0 the entry is dropped.
    users: int = 0


class AnswersInFlight:
    def __init__(self, limit: int, shared: SharedLeases) -> None:
        self._limit = limit
        self._people: dict[str, _Person] = {}
        self._shared = shared

    @asynccontextmanager
    async def hold(self, user: str, stream: ReplyStream) -> AsyncIterator[None]:
        person = self._people.setdefault(user, _Person(asyncio.Semaphore(self._limit)))
        person.users += 1
        try:
            if person.semaphore.locked():
                logger.info("user=%s waits: %d answers of theirs in progress", user, self._limit)
            await acquire_shown(person.semaphore, stream, waiting_line(self._limit))
            try:
                async with self._leased(user, stream):
                    yield
            finally:
                person.semaphore.release()
        finally:
            person.users -= 1
            if person.users == 0:
                del self._people[user]

    @asynccontextmanager
    async def _leased(self, user: str, stream: ReplyStream) -> AsyncIterator[None]:
        """The person's place across instances: asked for at once, then waited for with
        the waiting line shown, as for a place here."""
        key, limit = f"answers:{user}", self._limit
        token = await self._shared.take(key, limit, until=time.monotonic())
        try:
            if token is None:
                logger.info("user=%s waits: %d answers of theirs elsewhere", user, limit)
                async with stream.step(waiting_line(limit)):
                    token = await self._shared.take(key, limit)
                await stream.set_status(THINKING)
            yield
        finally:
            if token is not None:
                await self._shared.release(token)
