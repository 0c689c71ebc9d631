"""The background jobs' runner: how a run ends is kept, whatever the job or the store does."""

from __future__ import annotations

from operations.jobs import Job, JobFailed, Jobs
from storage import JobRun


async def test_each_run_is_kept_with_how_it_ended_and_a_failure_stops_nothing() -> None:
    recorded: list[JobRun] = []

    async def record(run: JobRun) -> None:
        recorded.append(run)

    async def broken() -> None:
        raise ValueError("text that may quote what it worked on")

    async def declined() -> None:
        raise JobFailed("the service is not reachable")

    async def fine() -> None:
        pass

    jobs = Jobs(
        [Job("broken", 60, broken), Job("declined", 60, declined), Job("fine", 60, fine)], record
    )
    assert [run for _, run in jobs.declared()] == [None, None, None]
    assert [await jobs.run_once(job) for job, _ in jobs.declared()] == [False, False, True]
    # The kind of an unexpected error only; a job's own word in full.
    outcomes = ["failed: ValueError", "failed: the service is not reachable", "ok"]
    assert [(run.name, run.outcome) for run in recorded] == list(
        zip(["broken", "declined", "fine"], outcomes, strict=True)
    )
    assert [run.outcome for _, run in jobs.declared() if run is not None] == outcomes


async def test_a_run_the_store_cannot_record_is_still_shown() -> None:
    async def unrecordable(run: JobRun) -> None:
        raise OSError("disk full")

    async def fine() -> None:
        pass

    jobs = Jobs([Job("fine", 60, fine)], unrecordable)
    [(job, _)] = jobs.declared()
    assert await jobs.run_once(job)
    [(_, run)] = jobs.declared()
    assert run is not None and run.outcome == "ok"
