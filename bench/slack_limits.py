"""Slack-limits benchmark: many streamed answers in few channels, under Slack's rate limits.

Questions are spread round-robin over --channels channels, one mention each in a new
thread, from different people, all posted at once; the fake model streams each answer
over about --stream-seconds after its latency. The fake Slack enforces the limits of
slack_client/transport/limits.py (per-channel posting budgets, per-method workspace budgets, 429
with Retry-After beyond them) unless --no-limits.

Prints per run, and as medians over --runs: the time from the burst to the first
visible answer text in each thread (p50, max), the time to the last final answer, the
429s the bot got, answered/lost threads and threads answered more than once; and the
lower bound Slack's limits put on the last final answer (see `lower_bound_seconds`),
with the ratio of the measured time to it (the target is at most TARGET_RATIO).

    .venv/bin/python bench/slack_limits.py --channels 30 --questions 300 --stream-seconds 5

With --instances N, N bot processes share a new PostgreSQL database (TEST_DATABASE_URL's
server, tests/postgres.py) and the fake spreads the questions over their connections:
together they must stay within the same limits (no process is pinned to a core then).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.workspace import ApiCall, FakeSlack
from slack_client.transport.limits import (
    POSTING_IN_A_CHANNEL,
    limit_of,
)
from tests.botproc import BotProcess, bot_environment, start_model_server
from tests.fakes.slack_faults import attach_faults
from tests.loopback import clear_proxies
from tests.postgres import Server, find_server

POLL_SECONDS = 0.25
# The model's answer in this many deltas, evenly spaced over --stream-seconds.
CHUNKS = 11
TARGET_RATIO = 1.5
# The methods that open an answer's message: they share the channel's posting budget.
ANSWER_POSTS = ("chat.postMessage", "chat.startStream")
# The calls that change what a thread shows.
REPLY_WRITES = {*ANSWER_POSTS, "chat.update", "chat.appendStream", "chat.stopStream"}

Thread = tuple[str, str]  # (channel, thread_ts)


@dataclass
class RunResult:
    first_text_p50_s: float
    first_text_max_s: float
    last_answer_s: float
    rate_limited: int
    answered: int
    lost: int
    duplicates: int


def lower_bound_seconds(answers_per_channel: Iterable[int], model_seconds: float) -> float:
    """The earliest, after the burst, that Slack's limits (slack_client/transport/limits.py) let the
    last of these answers be complete, every bucket being full at the burst.

    Each answer needs at least one message posted in its channel (chat.postMessage or
    chat.startStream, which draw on the channel's one posting budget), and cannot be
    complete before the model has finished (`model_seconds`: latency + streaming time).

    - per channel: with n_c answers in channel c, per-channel rate r (per second) and
      burst b, the last post in c is no earlier than (n_c - b) / r (0 if n_c <= b);
    - across the workspace: the N answers' posts go through chat.postMessage's workspace
      budget plus chat.startStream's (rates R_post, R_start per second, bursts B_post,
      B_start), so the last is no earlier than (N - B_post - B_start) / (R_post + R_start)
      (0 if N <= B_post + B_start).

    The bound is the largest of the model time, the per-channel bounds and the workspace
    bound.
    """
    counts = list(answers_per_channel)
    channel = limit_of("chat.postMessage").per_channel or POSTING_IN_A_CHANNEL
    per_channel = max((max(0, n - channel.burst) / channel.per_second for n in counts), default=0.0)
    workspace = [limit_of(method).workspace for method in ANSWER_POSTS]
    bursts = sum(rate.burst for rate in workspace)
    across = max(0, sum(counts) - bursts) / sum(rate.per_second for rate in workspace)
    return max(model_seconds, per_channel, across)


def question_text(index: int, stream_seconds: float) -> str:
    """A mention whose answer the fake model streams in CHUNKS deltas over stream_seconds."""
    delay = stream_seconds / (CHUNKS - 1)
    return f"<@UBOT> question {index}. [chunks:{CHUNKS}][chunk_delay:{delay:.3f}]"


def answered(slack: FakeSlack, channel: str, root: str, needle: str) -> bool:
    return any(
        needle in m.text and not m.streaming and "Thinking" not in m.text
        for m in slack.bot_replies(channel, root)
    )


def shows_answer(text: str) -> bool:
    """Text a person reads as (part of) the answer: a line that is not empty and not a
    status (the bot's statuses, e.g. "_Thinking…_", are whole lines in italics)."""
    for line in text.splitlines():
        line = line.strip()
        if line and not (line.startswith("_") and line.endswith("_")) and "Thinking" not in line:
            return True
    return False


def written_text(call: ApiCall) -> str:
    """The text a write call sets (chat.postMessage, chat.update) or appends (streams)."""
    params = call.params
    parts = [str(params.get("text") or ""), str(params.get("markdown_text") or "")]
    chunks = params.get("chunks")
    if isinstance(chunks, list):
        parts += [
            str(chunk.get("text", ""))
            for chunk in chunks
            if isinstance(chunk, dict) and chunk.get("type") == "markdown_text"
        ]
    return "\n".join(parts)


def thread_of(slack: FakeSlack, call: ApiCall) -> Thread | None:
    channel = str(call.params.get("channel"))
    if call.method in ANSWER_POSTS:
        thread_ts = call.params.get("thread_ts")
        return None if thread_ts is None else (channel, str(thread_ts))
    message = slack.get_message(channel, str(call.params.get("ts")))
    if message is None or message.thread_ts is None:
        return None
    return channel, message.thread_ts


def write_times(
    slack: FakeSlack, threads: set[Thread], since: float
) -> tuple[dict[Thread, float], dict[Thread, float]]:
    """From the fake's record of the calls that Slack accepted: when each thread first
    showed answer text, and when it was last written to."""
    first: dict[Thread, float] = {}
    last: dict[Thread, float] = {}
    for call in slack.calls:
        if call.method not in REPLY_WRITES or call.at < since:
            continue
        if call.status != 200 or call.error is not None:
            continue
        thread = thread_of(slack, call)
        if thread not in threads:
            continue
        assert thread is not None
        last[thread] = max(last.get(thread, since), call.at)
        if thread not in first and shows_answer(written_text(call)):
            first[thread] = call.at
    return first, last


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else math.nan


async def stop_all(
    bots: list[BotProcess], slack: FakeSlack, model: asyncio.subprocess.Process | None
) -> None:
    for bot in bots:
        if bot.process is None:
            continue
        try:
            await bot.stop()
        except TimeoutError:
            await bot.kill()
    await slack.stop()
    if model is not None and model.returncode is None:
        model.terminate()
        await model.wait()


async def one_run(
    args: argparse.Namespace, questions: int, postgres: Server | None = None
) -> RunResult:
    if postgres is None:
        return await _one_run(args, questions, None)
    async with postgres.database() as url:
        return await _one_run(args, questions, url)


async def _one_run(args: argparse.Namespace, questions: int, database_url: str | None) -> RunResult:
    slack = FakeSlack()
    slack.spread_envelopes = True
    await slack.start()
    model: asyncio.subprocess.Process | None = None
    bots: list[BotProcess] = []
    try:
        model, model_url = await start_model_server(args.latency)
        workdir = Path(tempfile.mkdtemp(prefix="slack-limits-"))
        env = bot_environment(
            slack_api_url=slack.api_url,
            openai_base_url=model_url,
            database_path=workdir / "bot.db",
            MAX_CONCURRENT_REQUESTS=str(max(100, questions)),
            USER_MESSAGES_PER_MINUTE="0",
            USER_ANSWERS_IN_FLIGHT="1000",
            # The whole stream must fit in it, however long the bot waits on Slack.
            OPENAI_TIMEOUT_SECONDS=str(max(60.0, 4 * (args.latency + args.stream_seconds))),
            LOG_LEVEL="WARNING",
        )
        if database_url is not None:
            env["DATABASE_URL"] = database_url
        bots = [BotProcess(env, cwd=workdir) for _ in range(args.instances)]
        await asyncio.gather(*(bot.start() for bot in bots))
        await slack.wait_connected(args.instances, timeout=60)
        bot = bots[0]
        assert bot.process is not None
        if (os.cpu_count() or 1) >= 2 and args.instances == 1:
            # The bot gets a core of its own, as in production; the fakes share the other.
            psutil.Process(bot.process.pid).cpu_affinity([0])
            for fake in (psutil.Process(), psutil.Process(model.pid)):
                fake.cpu_affinity([1])
        # Warm up (first-call imports, connection pools) outside the measurement.
        warm = [
            await slack.post_user_message("CWARM", f"UWARM{n}", "<@UBOT> warm up")
            for n in range(args.instances)
        ]
        await slack.wait_for(
            lambda: all(answered(slack, "CWARM", ts, "warm up") for ts in warm), timeout=60
        )
        # Counts the 429s of the measurement only.
        faults = attach_faults(slack)
        if not args.no_limits:
            # From here on, with every bucket full, as lower_bound_seconds assumes.
            faults.realistic_limits()

        channels = [f"CL{i % args.channels:04d}" for i in range(questions)]
        started = time.monotonic()
        roots = await asyncio.gather(
            *(
                slack.post_user_message(ch, f"U{i:05d}", question_text(i, args.stream_seconds))
                for i, ch in enumerate(channels)
            )
        )
        needles = {
            (ch, root): f"question {i}."
            for i, (ch, root) in enumerate(zip(channels, roots, strict=True))
        }
        pending = set(needles)
        # Checked rarely: the times come from the fake's record of the calls afterwards.
        while pending and time.monotonic() - started < args.deadline:
            await asyncio.sleep(POLL_SECONDS)
            pending -= {t for t in pending if answered(slack, *t, needles[t])}
        rate_limited = faults.rate_limited_total()
        first, last = write_times(slack, set(needles), since=started)
        done = [t for t in needles if t not in pending]
        duplicates = sum(
            1
            for (ch, root), needle in needles.items()
            if sum(needle in m.text for m in slack.bot_replies(ch, root)) > 1
        )
        if args.verbose and faults.rate_limited_count:
            print(f"  429s by method: {dict(faults.rate_limited_count)}", flush=True)
    finally:
        await stop_all(bots, slack, model)
    first_text = [first[t] - started for t in needles if t in first]
    return RunResult(
        first_text_p50_s=percentile(first_text, 0.5),
        first_text_max_s=max(first_text, default=math.nan),
        last_answer_s=max((last.get(t, started) - started for t in done), default=0.0),
        rate_limited=rate_limited,
        answered=len(done),
        lost=len(pending),
        duplicates=duplicates,
    )


def summary(runs: list[RunResult], bound: float) -> str:
    def med(attr: str) -> float:
        return float(statistics.median(float(getattr(r, attr)) for r in runs))

    ratio = med("last_answer_s") / bound
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    return (
        f"first text p50 {med('first_text_p50_s'):6.2f} s  max {med('first_text_max_s'):6.2f} s  "
        f"last answer {med('last_answer_s'):6.2f} s  bound {bound:6.2f} s  "
        f"ratio {ratio:5.2f} ({verdict} target {TARGET_RATIO}x)  429s {med('rate_limited'):5.0f}  "
        f"answered {med('answered'):5.0f}  lost {med('lost'):4.0f}  "
        f"duplicates {med('duplicates'):3.0f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=30)
    parser.add_argument("--questions", type=int, nargs="+", default=[300])
    parser.add_argument("--stream-seconds", type=float, default=5.0)
    parser.add_argument("--latency", type=float, default=0.5, help="model latency, seconds")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument(
        "--no-limits", action="store_true", help="the fake Slack enforces no rate limits"
    )
    parser.add_argument("--verbose", action="store_true", help="429s by method, each run")
    parser.add_argument("--instances", type=int, default=1, help="bots on one PostgreSQL")
    args = parser.parse_args()
    clear_proxies()
    postgres: Server | None = None
    if args.instances > 1:
        postgres, why = await find_server()
        if postgres is None:
            raise SystemExit(why)
    mode = "no limits" if args.no_limits else "Slack's limits"
    print(
        f"{mode}, {args.channels} channels, model latency {args.latency} s, "
        f"streams of {args.stream_seconds} s, {args.runs} runs each, medians",
        flush=True,
    )
    try:
        for n in args.questions:
            per_channel = Counter(i % args.channels for i in range(n))
            bound = lower_bound_seconds(per_channel.values(), args.latency + args.stream_seconds)
            runs = []
            for _ in range(args.runs):
                run = await one_run(args, n, postgres)
                print(f"  run: {summary([run], bound)}", flush=True)
                runs.append(run)
            print(f"N={n:5d} x{args.instances} " + summary(runs, bound), flush=True)
    finally:
        if postgres is not None:
            await postgres.stop()


if __name__ == "__main__":
    asyncio.run(main())
