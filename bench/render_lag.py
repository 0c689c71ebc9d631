"""How long the event loop stalls while a reply's messages are worked out.

Renders answers into Slack messages (`reply_parts`: markdown and table blocks, the
mrkdwn fallback text) the way a streamed reply does at each update, once on the event
loop and once as ReplyStream does for long text (in a thread), while a 1 ms ticker
measures the loop's worst lag. Answers: ordinary prose, and text made of tens of
thousands of tiny blocks (the parser's worst case), each as long as a reply can show.
Prints the median over `--runs`.

    .venv/bin/python bench/render_lag.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_client.output.parts import CONVERTED_CHARS, Rendered, reply_parts
from tests.fakes.scripted_model import long_answer

ANSWERS = {
    "prose": long_answer(CONVERTED_CHARS),
    "tiny paragraphs": "a\n\n" * (CONVERTED_CHARS // 3),
    "a long list": "- a\n" * (CONVERTED_CHARS // 4),
    "a long table": "| a | b |\n|---|---|\n" + "| x | y |\n" * (CONVERTED_CHARS // 10),
}


async def worst_lag(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(seconds the work took, the loop's worst lag meanwhile)."""
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        while running:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - started - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    await work()
    took = time.perf_counter() - started
    await asyncio.sleep(0.02)
    running = False
    await task
    return took, worst


async def main(runs: int) -> None:
    for name, text in ANSWERS.items():

        async def on_loop(text: str = text) -> list[Rendered]:
            return reply_parts(text)

        async def in_thread(text: str = text) -> list[Rendered]:
            return await asyncio.to_thread(reply_parts, text)

        for how, work in (("on the loop", on_loop), ("in a thread", in_thread)):
            results = [await worst_lag(work) for _ in range(runs)]
            took = statistics.median(r[0] for r in results)
            lag = statistics.median(r[1] for r in results)
            print(
                f"{name:16} {len(text):>7} chars {how:12} took {took * 1000:6.0f} ms, "
                f"worst loop lag {lag * 1000:5.0f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
