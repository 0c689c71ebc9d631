"""Hostile burst: hostile files and normal questions arrive together, against the fakes.

Posts `--hostile` files from the hostile corpus (tests/hostile.py, plus PDFs whose one
page takes PDFium tens of seconds to render, which only the worker's CPU limit ends),
each in a thread of its own, at the same moment as `--questions` plain questions in
other channels. Prints whether every question was answered and how fast (the last
answer, and the median), how long the last hostile file took to get its note, the
event loop's worst lag over the run as the bot itself measured it (`/ai status`), the
bot's peak RSS and the peak RSS of its file-reading workers together.

    .venv/bin/python bench/hostile.py --hostile 20 --questions 200 --latency 0.5 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.workspace import FakeSlack, UploadedFile
from tests.botproc import BotProcess, bot_environment, start_model_server
from tests.hostile import CORPUS, drawing_bomb_pdf
from tests.loopback import clear_proxies
from tests.seen import settled, thread_text
from tests.test_hostile import SHORT_ANSWER

POLL_SECONDS = 0.25
# One file in this many is a rendering bomb that needs the CPU limit.
BOMB_EVERY = 5


@dataclass
class RunResult:
    answered: int
    questions: int
    last_answer_s: float
    median_answer_s: float
    noted: int
    hostile: int
    last_note_s: float
    worst_lag_ms: float
    bot_rss_mb: float
    workers_rss_mb: float


async def sample_rss(bot: psutil.Process, peaks: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(psutil.NoSuchProcess):
            peaks[0] = max(peaks[0], bot.memory_info().rss / 2**20)
            workers = 0.0
            for child in bot.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    workers += child.memory_info().rss / 2**20
            peaks[1] = max(peaks[1], workers)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


def hostile_files(count: int) -> list[UploadedFile]:
    files = []
    for index in range(count):
        if index % BOMB_EVERY == 0:
            files.append(
                UploadedFile(f"drawing-{index}.pdf", "application/pdf", drawing_bomb_pdf())
            )
        else:
            entry = CORPUS[index % len(CORPUS)]
            files.append(UploadedFile(entry.name, entry.mimetype, entry.data))
    return files


async def worst_lag_ms(slack: FakeSlack) -> float:
    envelope = await slack.slash_command("UADMIN", "CSTATUS", "status")
    await slack.wait_for(lambda: bool(slack.responses.get(envelope)), timeout=30, what="status")
    text = slack.responses[envelope][-1].text
    found = re.search(r"Event loop:\*[^\n]*?([\d.]+) (ms|s)\b", text)
    if found is None:
        raise AssertionError(f"no event-loop line in /ai status:\n{text}")
    value = float(found.group(1))
    return value if found.group(2) == "ms" else value * 1000


async def one_run(args: argparse.Namespace) -> RunResult:
    slack = FakeSlack()
    await slack.start()
    model, model_url = await start_model_server(args.latency)
    workdir = Path(tempfile.mkdtemp(prefix="hostile-"))
    env = bot_environment(
        slack_api_url=slack.api_url,
        openai_base_url=model_url,
        database_path=workdir / "bot.db",
        LOG_LEVEL="WARNING",
        USER_MESSAGES_PER_MINUTE="0",
        OPENAI_TIMEOUT_SECONDS="120",
        FILE_READ_SECONDS=str(args.read_seconds),
    )
    bot = BotProcess(env, cwd=workdir)
    await bot.start()
    await slack.wait_connected(1, timeout=60)
    assert bot.process is not None
    proc = psutil.Process(bot.process.pid)
    warm = await slack.post_user_message("CWARM", "UWARM", "<@UBOT> warm up")
    await slack.wait_for(lambda: settled(slack, "CWARM", warm), timeout=60, what="warm-up")
    peaks = [0.0, 0.0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(proc, peaks, stop))
    files = hostile_files(args.hostile)
    started = time.monotonic()
    hostile_posts = [
        slack.post_user_message(f"CH{i:04d}", f"UH{i:04d}", f"<@UBOT> {SHORT_ANSWER}", files=[f])
        for i, f in enumerate(files)
    ]
    question_posts = [
        slack.post_user_message(f"CQ{i:04d}", f"UQ{i:04d}", f"<@UBOT> question {i}.")
        for i in range(args.questions)
    ]
    roots = await asyncio.gather(*hostile_posts, *question_posts)
    # Each thread with the words that show its answer is in (a status line such as
    # "Queued…" is settled too, but is no answer).
    hostile = {(f"CH{i:04d}", roots[i], "Seen it.") for i in range(args.hostile)}
    questions = {
        (f"CQ{i:04d}", roots[args.hostile + i], f"question {i}.") for i in range(args.questions)
    }
    done_at: dict[tuple[str, str, str], float] = {}
    while len(done_at) < len(hostile) + len(questions):
        if time.monotonic() - started > args.deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
        now = time.monotonic() - started
        for channel, root, words in (hostile | questions) - done_at.keys():
            if settled(slack, channel, root) and words in thread_text(slack, channel, root):
                done_at[(channel, root, words)] = now
    lag = await worst_lag_ms(slack)
    stop.set()
    await sampler
    await bot.stop()
    # What the bot itself logged of each stall over 100 ms, with the code that ran.
    for line in bot.output:
        if "event loop stalled" in line:
            print(f"  bot: {line[line.index('event loop stalled') :]}")
    await slack.stop()
    model.terminate()
    await model.wait()
    answered = [done_at[t] for t in questions if t in done_at]
    noted = [done_at[t] for t in hostile if t in done_at]
    return RunResult(
        answered=len(answered),
        questions=len(questions),
        last_answer_s=max(answered, default=float("nan")),
        median_answer_s=statistics.median(answered) if answered else float("nan"),
        noted=len(noted),
        hostile=len(hostile),
        last_note_s=max(noted, default=float("nan")),
        worst_lag_ms=lag,
        bot_rss_mb=peaks[0],
        workers_rss_mb=peaks[1],
    )


def summary(runs: list[RunResult]) -> str:
    def med(attr: str) -> float:
        return float(statistics.median(float(getattr(r, attr)) for r in runs))

    first = runs[0]
    return (
        f"questions answered {med('answered'):.0f}/{first.questions} "
        f"(median {med('median_answer_s'):.2f} s, last {med('last_answer_s'):.2f} s)  "
        f"hostile noted {med('noted'):.0f}/{first.hostile} (last {med('last_note_s'):.1f} s)  "
        f"worst loop lag {med('worst_lag_ms'):.0f} ms  "
        f"peak rss bot {med('bot_rss_mb'):.0f} MB, workers {med('workers_rss_mb'):.0f} MB"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hostile", type=int, default=20)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5, help="model latency, seconds")
    parser.add_argument("--read-seconds", type=float, default=20.0, help="FILE_READ_SECONDS")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=300.0)
    args = parser.parse_args()
    clear_proxies()
    runs = []
    for number in range(1, args.runs + 1):
        result = await one_run(args)
        print(f"run {number}: {summary([result])}", flush=True)
        runs.append(result)
    print(f"median of {len(runs)}: {summary(runs)}")


if __name__ == "__main__":
    asyncio.run(main())
