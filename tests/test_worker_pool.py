"""The worker pool: jobs run in limited processes that are killed past their bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from untrusted.pool import (
    InputRejected,
    ReadFailed,
    ReadTimedOut,
    ReadTooLarge,
    WorkerLimits,
    WorkerPool,
)

LIMITS = WorkerLimits(cpu_seconds=1, wall_seconds=3, memory_bytes=512 * 2**20)


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(2, LIMITS, jobs="tests.worker_jobs")
    await workers.start()
    yield workers
    await workers.close()


async def test_a_job_answers_and_what_a_library_prints_does_not_get_in_the_way(
    pool: WorkerPool,
) -> None:
    assert await pool.run("echo", b"\x00payload" * 1000) == b"\x00payload" * 1000


async def test_a_reader_that_refuses_gives_its_reason(pool: WorkerPool) -> None:
    with pytest.raises(InputRejected, match="it is not welcome here"):
        await pool.run("refuse", b"")


async def test_a_spinning_job_is_ended_by_its_cpu_limit_and_the_next_job_gets_a_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A wall-clock bound far past the CPU limit: on a loaded machine a spinning job gets
    # a fraction of a core, and it is the kernel's limit (SIGXCPU) this test is about.
    pool = WorkerPool(1, replace(LIMITS, wall_seconds=60), jobs="tests.worker_jobs")
    await pool.start()
    try:
        with pytest.raises(ReadTimedOut, match="took too long"):
            await pool.run("spin", b"")
        assert "ran out of CPU time on spin" in caplog.text
        assert pool.kills == 1
        assert await pool.run("echo", b"after") == b"after"
    finally:
        await pool.close()


async def test_a_job_that_waits_past_the_wall_clock_bound_is_killed(pool: WorkerPool) -> None:
    with pytest.raises(ReadTimedOut):
        await pool.run("sleep", b"")
    assert pool.kills == 1
    assert await pool.run("echo", b"x") == b"x"


async def test_a_job_that_allocates_past_the_memory_limit_is_stopped(pool: WorkerPool) -> None:
    with pytest.raises(ReadTooLarge, match="too much memory"):
        await pool.run("allocate", b"")
    assert await pool.run("echo", b"x") == b"x"


async def test_a_crash_and_an_unexpected_error_are_damaged_input(pool: WorkerPool) -> None:
    with pytest.raises(ReadFailed, match="looks damaged"):
        await pool.run("crash", b"")
    with pytest.raises(ReadFailed):
        await pool.run("fail", b"")
    assert await pool.run("echo", b"x") == b"x"


async def test_an_answer_holding_a_class_is_refused(pool: WorkerPool) -> None:
    with pytest.raises(ReadFailed):
        await pool.run("smuggle", b"")


async def test_workers_get_no_environment(
    pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Started before the variable is set or not, a worker never sees the bot's secrets.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret")
    fresh = WorkerPool(1, LIMITS, jobs="tests.worker_jobs")
    try:
        names = await fresh.run("environment", b"")
    finally:
        await fresh.close()
    assert isinstance(names, list)
    assert "SLACK_BOT_TOKEN" not in names


async def test_jobs_beyond_the_workers_wait_their_turn(pool: WorkerPool) -> None:
    jobs = [asyncio.create_task(pool.run("echo", bytes([i]))) for i in range(6)]
    assert await asyncio.gather(*jobs) == [bytes([i]) for i in range(6)]


async def test_a_job_given_up_on_takes_its_worker_with_it(pool: WorkerPool) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.run("sleep", b""), 1.0)
    # Not a limit reached: the person gave up (or the bot is stopping).
    assert pool.kills == 0
    # Had the sleeping worker been kept, one of these would wait on it and time out.
    both = await asyncio.gather(pool.run("echo", b"a"), pool.run("echo", b"b"))
    assert list(both) == [b"a", b"b"]


async def test_a_job_waits_for_a_free_worker_and_is_told(pool: WorkerPool) -> None:
    told: list[str] = []

    async def waiting() -> None:
        told.append("waiting")

    busy = [asyncio.create_task(pool.run("sleep", b"")) for _ in range(2)]
    await asyncio.sleep(0)  # both take an idle worker without waiting
    assert pool.busy == 2
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.run("echo", b"x", waiting), 0.5)
    assert told == ["waiting"]
    for job in busy:
        job.cancel()
    await asyncio.gather(*busy, return_exceptions=True)
    assert await pool.run("echo", b"y", waiting) == b"y"
    assert told == ["waiting"]
