"""The background jobs' latest runs."""

from __future__ import annotations

from storage.records import JobRun
from storage.sqlite.writer import Writer


class SQLiteJobs:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def record_job_run(self, run: JobRun) -> None:
        await self._writer.write(
            "INSERT OR REPLACE INTO job_runs (name, every, started_at, seconds, outcome)"
            " VALUES (?, ?, ?, ?, ?)",
            (run.name, run.every, run.started_at, run.seconds, run.outcome),
        )

    async def job_runs(self) -> list[JobRun]:
        return await self._writer.select(
            JobRun, "SELECT name, every, started_at, seconds, outcome FROM job_runs ORDER BY name"
        )
