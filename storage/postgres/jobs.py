"""The background jobs' latest runs."""

from __future__ import annotations

from storage.postgres.database import Database
from storage.records import JobRun


class PostgresJobs:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def record_job_run(self, run: JobRun) -> None:
        await self._database.write(
            "INSERT INTO job_runs (name, every, started_at, seconds, outcome)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET"
            " every = excluded.every, started_at = excluded.started_at,"
            " seconds = excluded.seconds, outcome = excluded.outcome",
            run.name,
            run.every,
            run.started_at,
            run.seconds,
            run.outcome,
        )

    async def job_runs(self) -> list[JobRun]:
        return await self._database.select(
            JobRun, "SELECT name, every, started_at, seconds, outcome FROM job_runs ORDER BY name"
        )
