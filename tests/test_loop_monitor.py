"""The event-loop monitor: stalls are measured, logged with the code that caused them,
kept for an hour and shown by `/ai status`."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from slack_client.backend import JobState, LoopLag, ReaderLoad, StatusReport
from slack_client.render.views import status_text
from thread_manager import LoopMonitor

STALL = 0.3


def hold_the_loop_on_purpose() -> None:
    time.sleep(STALL)


def stalls(caplog: pytest.LogCaptureFixture) -> list[tuple[float, str]]:
    """(lag, what was running) of each stall logged."""
    found = []
    for record in caplog.records:
        if record.getMessage().startswith("event loop stalled"):
            assert record.levelno == logging.WARNING
            lag, running = record.args if isinstance(record.args, tuple) else ()
            assert isinstance(lag, float) and isinstance(running, str)
            found.append((lag, running))
    return found


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_stall_is_logged_with_the_function_that_blocked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = LoopMonitor()
    task = asyncio.create_task(monitor.run())
    # Let it tick, so a tick is pending when the loop is blocked: it was due at most one
    # interval (0.05 s) after the stall began, hence the 0.25 s below.
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="thread_manager"):
        hold_the_loop_on_purpose()
        for _ in range(100):
            await asyncio.sleep(0.02)
            # A loaded machine may stall the loop briefly elsewhere: look for ours.
            ours = [(lag, running) for lag, running in stalls(caplog) if lag >= 0.25]
            if ours:
                break
    await stop(task)
    [(_, running)] = ours
    assert running.startswith("tests/test_loop_monitor.py:")
    assert " in hold_the_loop_on_purpose < " in running
    assert monitor.worst_lag_last_hour() >= 0.25


async def test_a_stall_under_the_threshold_is_measured_but_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = LoopMonitor(threshold=5.0)
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="thread_manager"):
        hold_the_loop_on_purpose()
        await asyncio.sleep(0.2)
    await stop(task)
    assert stalls(caplog) == []
    assert monitor.worst_lag_last_hour() >= 0.25


async def test_the_watching_thread_stops_with_the_task() -> None:
    def watching() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "loop-monitor"]

    task = asyncio.create_task(LoopMonitor().run())
    await asyncio.sleep(0.1)
    assert len(watching()) == 1
    await stop(task)
    assert watching() == []


def report(event_loop: LoopLag) -> StatusReport:
    return StatusReport(
        uptime_seconds=3720,
        answering=1,
        queued=0,
        model_api_problem=None,
        tool_sources=(("Browser service", "not set up"),),
        event_loop=event_loop,
        file_readers=ReaderLoad(workers=2, busy=1, waiting=3, killed=4),
        jobs=(
            JobState("watchdog", 30.0, 12.5, "ok"),
            JobState("retention", 86400.0, 7300.0, "failed: OperationalError"),
            JobState("browser catalogue", 600.0, None, None),
        ),
    )


def test_status_shows_the_worst_stall_of_the_last_hour() -> None:
    text = status_text(report(LoopLag(worst_last_hour=0.434, threshold=0.1)))
    assert text.startswith("*Up for* 1 h 02 min\n")
    assert (
        "\n*Event loop:* :warning: worst lag in the last hour 434 ms"
        " (stalls over 100 ms are logged)\n" in text
    )


def test_status_shows_the_worst_lag_when_the_loop_never_stalled() -> None:
    text = status_text(report(LoopLag(worst_last_hour=0.004, threshold=0.1)))
    assert "\n*Event loop:* worst lag in the last hour 4 ms\n" in text
    assert (
        "\n*File readers:* 1 of 2 busy, 3 files waiting, 4 ended past their limits or by a crash"
        " since start\n" in text
    )


def test_status_shows_each_background_job_with_its_last_run() -> None:
    text = status_text(report(LoopLag(worst_last_hour=0.004, threshold=0.1)))
    assert text.endswith(
        "\n*Background jobs:*"
        "\n• watchdog (every 30 s): :white_check_mark: ok, 12 s ago"
        "\n• retention (every 1 day): :x: failed: OperationalError, 2 h ago"
        "\n• browser catalogue (every 10 min): not run yet"
    )
