"""End to end: what an operator's monitoring reads on METRICS_PORT. Prometheus metrics
that count exactly what the fake Slack and the fake model saw, `/healthz`, and `/readyz`
turning 503 while the bot drains and while Slack is unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import pytest
from yarl import URL

from bot import StartupError
from message_processor.failures import BUSY, SHUTTING_DOWN
from sandbox.loopback import free_port
from sandbox.manifest import load_manifest
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from slack_client.transport.limits import METHOD_LIMITS
from tests.fakes.slack_faults import attach_faults
from tests.inproc import InProcessBot, bot_in_process
from tests.scraping import Samples, get, scrape, value
from tests.seen import command, wait_for_text

MODEL_TIMEOUT = 3
# Every answer of the first test waits this long for the model's first words.
DELAY = 1.5
STORMED = ("chat.postMessage", "chat.startStream", "chat.update", "assistant.threads.setStatus")


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {
        dict(labels)[label]: count
        for (sample, labels), count in samples.items()
        if sample == name and count
    }


def grown(after: Samples, before: Samples) -> Samples:
    return {key: count - before.get(key, 0.0) for key, count in after.items()}


async def settled_scrape(base: str, before: Samples, done: Callable[[Samples], bool]) -> Samples:
    """The metrics grown since `before`, once `done` says the bot has finished what the
    test waits for (a write still in flight, an answer's last bookkeeping)."""
    latest: Samples = {}
    for _ in range(300):
        latest = grown(await scrape(base), before)
        if done(latest):
            return latest
        await asyncio.sleep(0.05)
    return latest


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
async def bot(
    slack: FakeSlack, model: FakeOpenAI, bot_dir: Path, metrics_port: int
) -> AsyncIterator[InProcessBot]:
    async with bot_in_process(
        slack,
        model,
        bot_dir,
        METRICS_PORT=str(metrics_port),
        OPENAI_TIMEOUT_SECONDS=str(MODEL_TIMEOUT),
    ) as running:
        yield running


async def test_metrics_count_answers_busy_replies_timeouts_and_429s_exactly(
    slack: FakeSlack,
    model: FakeOpenAI,
    bot: InProcessBot,
    metrics_port: int,
    new_id: Callable[[str], str],
) -> None:
    base = f"http://127.0.0.1:{metrics_port}"
    before = await scrape(base)
    calls_before = len(slack.calls)
    started = time.time()
    people = [new_id("U") for _ in range(5)]
    dms = [slack.dm_channel(person) for person in people]

    # All at once, through a storm of 429s: four answers; one the model never finishes
    # (it times out), with a follow-up in its thread while it is written (busy).
    faults = attach_faults(slack)
    for method in STORMED:
        faults.fail_next(method, count=2, retry_after=1)
    try:
        held = await slack.post_user_message(dms[3], people[3], "[stall_after:1] a long story")
        await slack.post_user_message(dms[3], people[3], "and another thing", thread_ts=held)
        asked = [
            (dm, await slack.post_user_message(dm, person, f"[delay:{DELAY}] asked by {person}"))
            for person, dm in zip(people[:3] + people[4:], dms[:3] + dms[4:], strict=True)
        ]
        for (dm, ts), person in zip(asked, people[:3] + people[4:], strict=True):
            await wait_for_text(slack, dm, ts, f"asked by {person}")
        shown = await wait_for_text(slack, dms[3], held, f"within {MODEL_TIMEOUT} seconds")
    finally:
        slack.detach()
    assert BUSY in shown
    assert faults.rate_limited_total() > 0

    # Every call Slack saw, by method (each attempt, refused ones too).
    def seen_by_slack() -> dict[str, float]:
        methods = Counter(
            method if method in METHOD_LIMITS else "other"
            for method in (call.method for call in slack.calls[calls_before:])
        )
        return {method: float(count) for method, count in methods.items()}

    def finished(samples: Samples) -> bool:
        answers = sum(by_label(samples, "slackbot_answers_total", "outcome").values())
        calls = by_label(samples, "slackbot_slack_calls_total", "method")
        return answers == 6 and calls == seen_by_slack()

    # The storm's answer shows before its last write lands; wait for the bot to finish.
    latest = await settled_scrape(base, before, finished)
    assert by_label(latest, "slackbot_slack_calls_total", "method") == seen_by_slack()
    refused = {m: float(n) for m, n in faults.rate_limited_count.items()}
    assert by_label(latest, "slackbot_slack_rate_limited_total", "method") == refused

    answers = by_label(latest, "slackbot_answers_total", "outcome")
    assert answers == {"answered": 4, "busy": 1, "timed_out": 1}

    # The answers took at least the model's delay; the histogram has each of them.
    assert value(latest, "slackbot_answer_duration_seconds_count", outcome="answered") == 4
    assert (
        value(latest, "slackbot_answer_duration_seconds_bucket", outcome="answered", le="1.0") == 0
    )
    assert value(latest, "slackbot_answer_duration_seconds_sum", outcome="answered") >= 4 * DELAY
    assert value(latest, "slackbot_answer_duration_seconds_count", outcome="timed_out") == 1
    # Words showed for each answer (the one that timed out showed its first delta).
    first_words = value(latest, "slackbot_answer_first_text_seconds_count")
    assert first_words in (4, 5)
    assert value(latest, "slackbot_answer_first_text_seconds_bucket", le="1.0") <= first_words - 4

    # Six messages came in as events, and each was acknowledged.
    assert by_label(latest, "slackbot_events_received_total", "type") == {"message": 6}
    assert by_label(latest, "slackbot_events_acked_total", "type") == {"message": 6}

    # The model: four calls answered, one timed out; tokens as the usage records have them.
    results = by_label(latest, "slackbot_model_calls_total", "result")
    assert results == {"ok": 4, "timed out": 1}
    usage = await bot.bot.store.usage.usage_by_model(None, started)
    for direction, tokens in (
        ("input", sum(u.input_tokens for u in usage)),
        ("output", sum(u.output_tokens for u in usage)),
    ):
        counted = by_label(latest, "slackbot_model_tokens_total", "direction")
        assert counted[direction] == tokens > 0

    # Labels stay bounded: no id of a person, channel or thread anywhere.
    _, text = await get(f"{base}/metrics")
    for one in [*people, *dms, held]:
        assert one not in text


async def test_the_metrics_show_queues_and_the_process(
    bot: InProcessBot, metrics_port: int
) -> None:
    samples = await scrape(f"http://127.0.0.1:{metrics_port}")
    names = {name for name, _ in samples}
    assert {
        "slackbot_model_slots_waiting",
        "slackbot_model_slots_in_use",
        "slackbot_slack_calls_waiting_channel",
        "slackbot_slack_calls_waiting_workspace",
        "slackbot_tool_calls_waiting",
        "slackbot_threads_answering",
        "slackbot_answers_in_flight",
        "slackbot_event_loop_lag_seconds",
        "slackbot_file_readers_busy",
        "slackbot_file_reads_waiting",
        "slackbot_file_reader_kills_total",
        "process_resident_memory_bytes",
    } <= names
    assert value(samples, "process_resident_memory_bytes") > 0


async def test_health_and_readiness_answer_while_the_bot_serves(
    bot: InProcessBot, metrics_port: int
) -> None:
    assert await get(f"http://127.0.0.1:{metrics_port}/healthz") == (200, "ok\n")
    assert await get(f"http://127.0.0.1:{metrics_port}/readyz") == (200, "ready\n")


@pytest.fixture
async def alone(model: FakeOpenAI, tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, str]]:
    """A bot on a fake Slack of its own, which a test may take away; and where the bot
    serves its metrics and health."""
    own = FakeSlack()
    own.install(load_manifest())
    await own.start()
    port = free_port()
    try:
        async with bot_in_process(own, model, tmp_path, METRICS_PORT=str(port)):
            yield own, f"http://127.0.0.1:{port}"
    finally:
        await own.stop()


@contextlib.asynccontextmanager
async def slack_away(own: FakeSlack) -> AsyncIterator[None]:
    """The fake Slack down for the block, then back on its port and the bot reconnected."""
    port = URL(own.api_url).port
    assert port is not None
    connections = own.connection_count
    await own.stop()
    yield
    await own.start(port)
    await own.wait_connected(connections + 1, timeout=60)


async def test_readiness_turns_false_while_slack_is_unreachable_and_back(
    alone: tuple[FakeSlack, str],
) -> None:
    own, base = alone
    ready = f"{base}/readyz"
    assert await get(ready) == (200, "ready\n")
    async with slack_away(own):
        assert await get(ready) == (503, "not ready: not connected to Slack\n")
    await until_ready(ready)


async def until_ready(url: str) -> None:
    for _ in range(300):
        if (await get(url))[0] == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered 200")


async def test_readiness_turns_false_while_the_bot_drains(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    person = new_id("U")
    dm = slack.dm_channel(person)
    async with bot_in_process(
        slack,
        model,
        tmp_path,
        METRICS_PORT=str(port),
        SHUTDOWN_DRAIN_SECONDS="30",
        OPENAI_TIMEOUT_SECONDS="60",
    ) as running:
        ts = await slack.post_user_message(dm, person, "[stall_after:1] held until cut off")
        await slack.wait_for(
            lambda: bool(slack.bot_replies(dm, ts)), what="the answer being written"
        )
        draining = asyncio.create_task(running.bot.drain())
        await asyncio.sleep(0)  # the drain's first step: it stops taking events
        assert await get(f"{base}/readyz") == (503, "not ready: draining\n")
        assert await get(f"{base}/healthz") == (200, "ok\n")
        # The held answer keeps the drain waiting; cutting it off ends it.
        await running.bot.processor.drain(0)
        await draining
        counted: Mapping[str, float] = by_label(
            await scrape(base), "slackbot_answers_total", "outcome"
        )
        assert counted == {"cut_off": 1}


async def test_a_message_arriving_as_the_bot_stops_taking_them_is_told_to_ask_again(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    person = new_id("U")
    dm = slack.dm_channel(person)
    async with bot_in_process(
        slack, model, tmp_path, SHUTDOWN_DRAIN_SECONDS="30", OPENAI_TIMEOUT_SECONDS="60"
    ) as running:
        held = await slack.post_user_message(dm, person, "[stall_after:1] held until cut off")
        await slack.wait_for(
            lambda: bool(slack.bot_replies(dm, held)), what="the answer being written"
        )
        # The pipeline stops taking messages while the connection is still up: what Slack
        # delivers in that moment has its ack, so the person is told.
        draining = asyncio.create_task(running.bot.processor.drain(30))
        await asyncio.sleep(0)
        late = await slack.post_user_message(dm, person, "a question just too late")
        await wait_for_text(slack, dm, late, SHUTTING_DOWN)
        await running.bot.processor.drain(0)
        await draining
    assert not any("just too late" in json.dumps(r.body) for r in model.requests)


async def test_status_shows_the_background_jobs_and_their_last_runs(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    # The jobs run at start beside the bot's first events: retention's is done once said.
    await bot.wait_for_output("retention: removed")
    shown = await command(slack, new_id("U"), new_id("C"), "status")
    jobs = shown.split("*Background jobs:*\n", 1)[1].splitlines()
    assert [line.split(" (")[0] for line in jobs] == [
        "• heartbeat",
        "• recovery",
        "• watchdog",
        "• event ids cleanup",
        "• idle limits cleanup",
        "• approval expiry",
        "• retention",
    ]
    # Retention runs at start; the others after their first interval (the watchdog's is
    # half a minute, which a slow run of this module may reach).
    assert jobs[-1].startswith("• retention (every 1 day): :white_check_mark: ok, ")
    # The heartbeat runs at start too.
    assert jobs[0].startswith("• heartbeat (every 5 s): :white_check_mark: ok, ")
    assert jobs[2] == "• watchdog (every 30 s): not run yet" or jobs[2].startswith(
        "• watchdog (every 30 s): :white_check_mark: ok, "
    )
    # Kept in the store too, for `admin stats` in another process.
    runs = {run.name: run.outcome for run in await bot.bot.store.jobs.job_runs()}
    assert runs["retention"] == "ok"


async def test_a_metrics_port_in_use_stops_the_start_with_one_line(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as refused:
            async with bot_in_process(slack, model, tmp_path, METRICS_PORT=str(port)):
                pass
    assert str(refused.value) == (
        f"cannot serve METRICS_PORT {port} on 127.0.0.1 (Address already in use)"
    )


async def test_an_answer_slack_stops_answering_is_counted_as_a_slack_error(
    alone: tuple[FakeSlack, str],
) -> None:
    own, base = alone
    before = await scrape(base)
    dm = own.dm_channel("U0GONE")
    ts = await own.post_user_message(dm, "U0GONE", "[delay:2] asked as Slack goes")
    await own.wait_for(
        lambda: any(
            call.params.get("thread_ts") == ts
            for call in own.calls_to("assistant.threads.setStatus")
        ),
        what="the answer under way",
    )

    def ended(samples: Samples) -> bool:
        return bool(by_label(samples, "slackbot_answers_total", "outcome"))

    async with slack_away(own):  # the answer is written into a closed port
        latest = await settled_scrape(base, before, ended)
    assert by_label(latest, "slackbot_answers_total", "outcome") == {"slack_error": 1}
