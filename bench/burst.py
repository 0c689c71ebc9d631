"""Burst benchmark: N mentions in N threads at once, against the fakes, with model latency.

Prints, for the bot and for a floor (a bare AsyncApp that posts one reply per event,
bench/bare_app.py, driven the same way): ack latency p50/p99, time from the burst to
the last answer, answered/lost counts, the bot's CPU seconds per answered message and
its peak RSS, and the CPU the fakes spent meanwhile (they share the machine's cores with
the bot). Each configuration is run --runs times; figures are medians.

    .venv/bin/python bench/burst.py --messages 1000 --latency 2 --runs 3

With --metrics, the bot runs a second time with METRICS_PORT set and /metrics scraped
every SCRAPE_SECONDS through the burst ("scraped"), for the cost of being monitored.

With --instances 1 2 3, the bot runs as that many processes on one PostgreSQL database
(a new one on TEST_DATABASE_URL's server, tests/postgres.py), the fake Slack spreading
the envelopes over their connections; --store sqlite|postgres picks the store of a
single instance, for the cost of PostgreSQL. CPU is then the instances' together, and no
process is pinned to a core (several instances are there to use the cores there are).

    .venv/bin/python bench/burst.py --messages 1000 --latency 2 --no-floor --instances 1 2 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.loopback import free_port
from sandbox.workspace import FakeSlack
from tests.botproc import REPO, BotProcess, bot_environment, start_model_server
from tests.loopback import clear_proxies
from tests.postgres import Server, find_server

BARE_APP = REPO / "bench" / "bare_app.py"
POLL_SECONDS = 0.25
# Far more often than Prometheus' usual 15 s: the cost measured is an upper bound.
SCRAPE_SECONDS = 1.0
# The calls that change what a thread shows: the last one in a channel finished its answer.
REPLY_WRITES = {"chat.postMessage", "chat.update", "chat.appendStream", "chat.stopStream"}


@dataclass
class RunResult:
    ack_p50_ms: float
    ack_p99_ms: float
    last_answer_s: float
    answered: int
    lost: int
    cpu_per_answer_ms: float
    peak_rss_mb: float
    fakes_cpu_s: float
    # The PostgreSQL server's CPU meanwhile (0 with SQLite): on this machine, beside the
    # bot, where production gives it a host of its own.
    database_cpu_s: float = 0.0


def database_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL server process on this machine, by pid."""
    seen = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            seen[process.pid] = sum(process.info["cpu_times"][:2])
    return seen


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def answered(slack: FakeSlack, channel: str, root: str, needle: str) -> bool:
    return any(
        needle in m.text and not m.streaming and "Thinking" not in m.text
        for m in slack.bot_replies(channel, root)
    )


def last_write_by_channel(slack: FakeSlack, since: float) -> dict[str, float]:
    last: dict[str, float] = {}
    for call in slack.calls:
        if call.method in REPLY_WRITES and call.at >= since:
            channel = str(call.params.get("channel"))
            last[channel] = max(last.get(channel, since), call.at)
    return last


async def sample_rss(
    processes: list[psutil.Process], peak: list[float], stop: asyncio.Event
) -> None:
    """The peak of the processes' memory together."""
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], sum(p.memory_info().rss for p in processes) / 2**20)
        except psutil.NoSuchProcess:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


@dataclass(frozen=True)
class Setup:
    """How the bot runs: how many processes, on which store (None: SQLite)."""

    instances: int = 1
    postgres: Server | None = None


async def one_run(
    target: str, messages: int, latency: float, deadline: float, setup: Setup = Setup()
) -> RunResult:
    async with contextlib.AsyncExitStack() as stack:
        url = None
        if setup.postgres is not None:
            url = await stack.enter_async_context(setup.postgres.database())
        return await _one_run(target, messages, latency, deadline, setup.instances, url)


async def _one_run(
    target: str,
    messages: int,
    latency: float,
    deadline: float,
    instances: int,
    database_url: str | None,
) -> RunResult:
    slack = FakeSlack()
    slack.spread_envelopes = True
    await slack.start()
    model, model_url = await start_model_server(latency)
    workdir = Path(tempfile.mkdtemp(prefix="burst-"))
    env = bot_environment(
        slack_api_url=slack.api_url,
        openai_base_url=model_url,
        database_path=workdir / "bot.db",
        MAX_CONCURRENT_REQUESTS=str(max(100, messages)),
        LOG_LEVEL="WARNING",
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    if target == "scraped":
        env["METRICS_PORT"] = str(free_port())
    bots = [BotProcess(env, cwd=workdir) for _ in range(instances)]
    for bot in bots:
        if target == "floor":
            bot.script = BARE_APP
    await asyncio.gather(*(bot.start() for bot in bots))
    await slack.wait_connected(instances, timeout=60)
    procs = [psutil.Process(bot.process.pid) for bot in bots if bot.process is not None]
    model_proc = psutil.Process(model.pid)
    if (os.cpu_count() or 1) >= 2 and instances == 1 and database_url is None:
        # The bot gets a core of its own, as in production where Slack and the model run
        # elsewhere; the fakes share the other.
        procs[0].cpu_affinity([0])
        for fake in (psutil.Process(), model_proc):
            fake.cpu_affinity([1])
    # Warm up (first-call imports, connection pools) outside the measurement: a question
    # for each instance.
    warm = [
        await slack.post_user_message(f"CWARM{n}", "UWARM", "<@UBOT> warm up")
        for n in range(instances)
    ]
    await slack.wait_for(
        lambda: all(answered(slack, f"CWARM{n}", ts, "warm up") for n, ts in enumerate(warm)),
        timeout=60,
    )
    peak = [0.0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(procs, peak, stop))
    scraper = asyncio.create_task(
        scrape(env["METRICS_PORT"], stop) if "METRICS_PORT" in env else stop.wait()
    )
    cpu_before = sum(sum(proc.cpu_times()[:2]) for proc in procs)
    database_before = database_cpu()
    fakes_before = time.process_time() + sum(model_proc.cpu_times()[:2])
    envelopes_before = set(slack.sent_at)
    started = time.monotonic()
    channels = [f"CB{i:05d}" for i in range(messages)]
    roots = await asyncio.gather(
        *(
            slack.post_user_message(ch, f"U{i:05d}", f"<@UBOT> question {i}.")
            for i, ch in enumerate(channels)
        )
    )
    pending = {
        (ch, root, f"question {i}.")
        for i, (ch, root) in enumerate(zip(channels, roots, strict=False))
    }

    # Checked rarely and timed by the fake's own record of the write that finished each
    # answer: checking 1,000 threads every few milliseconds took a third of the core
    # that the fakes share, and slowed the very answers it timed.
    while pending and time.monotonic() - started < deadline:
        await asyncio.sleep(POLL_SECONDS)
        pending -= {p for p in pending if answered(slack, *p)}
    finished = last_write_by_channel(slack, since=started)
    last = max((finished.get(ch, started) for ch in channels), default=started) - started
    cpu = sum(sum(proc.cpu_times()[:2]) for proc in procs) - cpu_before
    database_after = database_cpu()
    database = 0.0
    if database_url is not None:
        database = sum(t - database_before.get(pid, 0.0) for pid, t in database_after.items())
    fakes_cpu = time.process_time() + sum(model_proc.cpu_times()[:2]) - fakes_before
    stop.set()
    await sampler
    scrapes = await scraper
    assert target != "scraped" or scrapes, "the metrics were never scraped"
    acks = [
        (slack.acks[e] - slack.sent_at[e]) * 1000
        for e in slack.sent_at
        if e not in envelopes_before and e in slack.acks
    ]
    await asyncio.gather(*(bot.stop() for bot in bots))
    await slack.stop()
    model.terminate()
    await model.wait()
    ok = messages - len(pending)
    return RunResult(
        ack_p50_ms=percentile(acks, 0.5),
        ack_p99_ms=percentile(acks, 0.99),
        last_answer_s=last,
        answered=ok,
        lost=len(pending),
        cpu_per_answer_ms=cpu * 1000 / max(ok, 1),
        peak_rss_mb=peak[0],
        fakes_cpu_s=fakes_cpu,
        database_cpu_s=database,
    )


async def scrape(port: str, stop: asyncio.Event) -> int:
    """Read /metrics as Prometheus would until `stop`; how many scrapes succeeded."""
    done = 0
    async with aiohttp.ClientSession(trust_env=False) as session:
        while not stop.is_set():
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                await response.read()
                done += response.status == 200
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCRAPE_SECONDS)
    return done


def summary(name: str, runs: list[RunResult]) -> str:
    def med(attr: str) -> float:
        return float(statistics.median(float(getattr(r, attr)) for r in runs))

    return (
        f"{name:>6}  ack p50 {med('ack_p50_ms'):7.1f} ms  p99 {med('ack_p99_ms'):7.1f} ms  "
        f"last answer {med('last_answer_s'):6.2f} s  answered {med('answered'):6.0f}  "
        f"lost {med('lost'):4.0f}  cpu/answer {med('cpu_per_answer_ms'):6.2f} ms  "
        f"peak rss {med('peak_rss_mb'):6.1f} MB  fakes' cpu {med('fakes_cpu_s'):5.2f} s  "
        f"database cpu {med('database_cpu_s'):5.2f} s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--latency", type=float, default=2.0, help="model latency, seconds")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--no-floor", action="store_true")
    parser.add_argument("--metrics", action="store_true", help="also the bot being scraped")
    parser.add_argument(
        "--instances", type=int, nargs="+", help="bot processes on one PostgreSQL, in turn"
    )
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    clear_proxies()
    postgres: Server | None = None
    if args.instances or args.store == "postgres":
        postgres, why = await find_server()
        if postgres is None:
            raise SystemExit(why)
    print(f"model latency {args.latency} s, {args.runs} runs each, medians")
    try:
        for n in args.messages:
            if args.instances:
                for count in args.instances:
                    setup = Setup(count, postgres)
                    runs = [
                        await one_run("bot", n, args.latency, args.deadline, setup)
                        for _ in range(args.runs)
                    ]
                    print(f"N={n:5d} " + summary(f"x{count}", runs), flush=True)
                continue
            targets = ["bot"] if args.no_floor else ["bot", "floor"]
            if args.metrics:
                targets.insert(1, "scraped")
            setup = Setup(1, postgres if args.store == "postgres" else None)
            for target in targets:
                runs = [
                    await one_run(target, n, args.latency, args.deadline, setup)
                    for _ in range(args.runs)
                ]
                print(f"N={n:5d} " + summary(target, runs), flush=True)
            if not args.no_floor:
                print()
    finally:
        if postgres is not None:
            await postgres.stop()


if __name__ == "__main__":
    asyncio.run(main())
