"""The background jobs, declared in one place (bot.py) and run here.

Each job is a coroutine function run every `every` seconds (first at start, or after
one interval). Its latest run, with how it ended, is kept in memory for `/ai status`
and in the store for `admin stats`, which reads it from another process. A job that
fails is logged and tried again at its next turn (sooner if it says so): one failing
job never stops the others or the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from storage.records import JobRun

logger = logging.getLogger(__name__)


class JobFailed(Exception):
    """A job's own word that it could not do its work; the message says why, shortly."""


@dataclass(frozen=True)
class Job:
    name: str
    every: float
    work: Callable[[], Awaitable[object]]
    # Run once at start too (the day's retention, the first catalogue read).
    at_start: bool = False
    # After a failure, the next try comes this soon instead of after `every`.
    retry: float | None = None


class Jobs:
    def __init__(self, jobs: Sequence[Job], record: Callable[[JobRun], Awaitable[None]]) -> None:
        self._jobs = tuple(jobs)
        self._record = record
        self._latest: dict[str, JobRun] = {}

    def declared(self) -> list[tuple[Job, JobRun | None]]:
        """Each job with its latest run in this process, if it has run."""
        return [(job, self._latest.get(job.name)) for job in self._jobs]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Every job, for as long as the context lasts."""
        tasks = [asyncio.create_task(self._repeat(job), name=job.name) for job in self._jobs]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _repeat(self, job: Job) -> None:
        wait = 0.0 if job.at_start else job.every
        while True:
            await asyncio.sleep(wait)
            ok = await self.run_once(job)
            wait = job.every if ok or job.retry is None else job.retry

    async def run_once(self, job: Job) -> bool:
        """One run of `job`, kept as its latest; True if it did its work."""
        started, clock = time.time(), time.monotonic()
        try:
            await job.work()
            outcome = "ok"
        except JobFailed as failure:
            logger.warning("background job %r: %s", job.name, failure)
            outcome = f"failed: {failure}"
        except Exception as error:
            logger.exception("background job %r failed", job.name)
            # The kind only: an error's text may quote what it was working on.
            outcome = f"failed: {type(error).__name__}"
        run = JobRun(job.name, job.every, started, time.monotonic() - clock, outcome)
        self._latest[job.name] = run
        try:
            await self._record(run)
        except Exception as error:  # noqa: BLE001 - the run is still shown in /ai status
            logger.warning("background job %r: run not recorded (%s)", job.name, error)
        return outcome == "ok"
