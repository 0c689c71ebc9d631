"""What one shared AsyncOpenAI costs under a burst of concurrent streamed answers.

Fires N concurrent streaming Responses calls at the fake model server (run in its own
process so its CPU is not counted) and reports this process's CPU seconds and the wall
time, for each combination of HTTP transport (the SDK's default httpx2 pool, or its
aiohttp transport) and event parsing (the SDK's typed stream events, or plain dicts
read through the same AsyncStream machinery). A last row reads the same streams with
plain aiohttp and no SDK at all: what the SDK's request and stream machinery costs on
top of the HTTP itself. Medians of --runs.

    .venv/bin/python bench/openai_transport.py --streams 1000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient, DefaultAsyncHttpxClient

HERE = Path(__file__).resolve().parent
BODY = {"model": "gpt-4.1-mini", "input": "[chunks:5] hello", "stream": True}


async def typed(client: AsyncOpenAI) -> int:
    stream = await client.responses.create(
        model="gpt-4.1-mini", input="[chunks:5] hello", stream=True
    )
    return sum([1 async for event in stream if event.type == "response.output_text.delta"])


async def plain(client: AsyncOpenAI) -> int:
    stream = await client.post(
        "/responses",
        cast_to=object,
        body=BODY,
        stream=True,
        stream_cls=AsyncStream[object],
    )
    return sum(
        [
            1
            async for event in stream
            if isinstance(event, dict) and event.get("type") == "response.output_text.delta"
        ]
    )


async def without_sdk(session: aiohttp.ClientSession, base_url: str) -> int:
    count = 0
    headers = {"Authorization": "Bearer sk-test-key"}
    async with session.post(f"{base_url}/responses", json=BODY, headers=headers) as response:
        async for line in response.content:
            if line.startswith(b"data: "):
                event = json.loads(line[6:])
                count += event.get("type") == "response.output_text.delta"
    return count


async def one_run_without_sdk(base_url: str, streams: int) -> tuple[float, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await without_sdk(session, base_url)
        cpu, wall = time.process_time(), time.perf_counter()
        deltas = await asyncio.gather(*(without_sdk(session, base_url) for _ in range(streams)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert all(d == 5 for d in deltas), "every stream must deliver its five deltas"
    return cpu, wall


async def one_run(base_url: str, transport: str, parsing: str, streams: int) -> tuple[float, float]:
    http = DefaultAioHttpClient() if transport == "aiohttp" else DefaultAsyncHttpxClient()
    client = AsyncOpenAI(api_key="sk-test-key", base_url=base_url, http_client=http, max_retries=0)
    call = typed if parsing == "typed" else plain
    await call(client)  # warm the pool and the SDK's caches
    cpu, wall = time.process_time(), time.perf_counter()
    deltas = await asyncio.gather(*(call(client) for _ in range(streams)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert all(d == 5 for d in deltas), "every stream must deliver its five deltas"
    await client.close()
    return cpu, wall


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "fake_model_server.py"), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        base_url = (await server.stdout.readline()).decode().strip()
        print(f"{args.streams} concurrent streamed answers, medians of {args.runs} runs")
        rows: list[tuple[str, Callable[[], Awaitable[tuple[float, float]]]]] = [
            (
                f"{transport:>8} {parsing:>6} events",
                functools.partial(one_run, base_url, transport, parsing, args.streams),
            )
            for transport in ("httpx2", "aiohttp")
            for parsing in ("typed", "plain")
        ]
        rows.append(
            (
                "  no SDK: plain aiohttp",
                functools.partial(one_run_without_sdk, base_url, args.streams),
            )
        )
        for name, run in rows:
            runs = [await run() for _ in range(args.runs)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(
                f"{name}: client CPU {cpu:6.2f} s "
                f"({cpu * 1000 / args.streams:5.2f} ms/answer), wall {wall:6.2f} s",
                flush=True,
            )
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    asyncio.run(main())
