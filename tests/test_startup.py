"""A newcomer's first hour: what a start prints, and what the placeholders and Ctrl-C do."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import REPO, BotProcess
from tests.conftest import make_bot, start_bot
from tests.seen import wait_for_text

BOT = "<@UBOT>"
# One o200k_base token per word: 6,000 tokens in 36,000 characters, which an estimate
# (3.5 characters a token) would count as about 10,300.
WORDS = "hello " * 6_000


async def test_a_start_logs_no_warnings_and_counts_tokens_exactly_offline(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    home, cache = tmp_path / "home", tmp_path / "tiktoken-cache"
    home.mkdir()
    cache.mkdir()
    process = make_bot(
        slack,
        model,
        tmp_path,
        HOME=str(home),
        # Where tiktoken would keep what it downloads: it must stay empty (this machine
        # has no route to the download anyway; one that has must not need it).
        TIKTOKEN_CACHE_DIR=str(cache),
        # An unknown model gets a 32,000-token window: 24,000 to fill, a notice from 19,200.
        OPENAI_MODEL="local-llama",
    )
    await start_bot(slack, process)
    try:
        # Two long messages: about 12,300 tokens counted exactly, so the thread fits with
        # room to spare; estimated, they would pass 19,200 and bring the notice.
        channel, user = new_id("C"), new_id("U")
        root = await slack.post_user_message(channel, user, "FIRST " + WORDS)
        await slack.post_user_message(channel, user, "SECOND " + WORDS, thread_ts=root)
        await slack.post_user_message(channel, user, f"{BOT} how long is this?", thread_ts=root)
        text = await wait_for_text(slack, channel, root, "how long is this?")
        assert "getting long" not in text
        [request] = [r for r in model.requests if "how long is this?" in str(r.body)]
        sent = str(request.body["input"])
        assert "FIRST " + WORDS.strip() in sent and "SECOND " + WORDS.strip() in sent
    finally:
        assert await process.stop() == 0
    warnings = [line for line in process.output if " WARNING " in line or " ERROR " in line]
    assert not warnings, process.log
    assert "Traceback" not in process.log
    assert list(cache.iterdir()) == [] and list(home.iterdir()) == []


def first_steps(workdir: Path) -> dict[str, str]:
    """The README's first step, `cp .env.example .env`, and nothing from anyone's shell."""
    shutil.copy(REPO / ".env.example", workdir / ".env")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONUNBUFFERED": "1",
        "SANDBOX_DATABASE_PATH": str(workdir / "sandbox.db"),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_examples_placeholders_stop_the_bot_with_one_line_naming_them(
    tmp_path: Path,
) -> None:
    process = BotProcess(first_steps(tmp_path), cwd=tmp_path)
    await process.start()
    assert await process.wait() == 2
    assert process.output == [
        "configuration error: SLACK_BOT_TOKEN, SLACK_APP_TOKEN and OPENAI_API_KEY still hold "
        "the example values from .env.example; put your own in .env"
    ]


async def test_the_sandbox_says_why_the_demo_model_answers_with_the_example_key(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = BotProcess(first_steps(tmp_path), cwd=tmp_path, args=("sandbox", "--port", str(port)))
    await process.start()
    try:
        await process.wait_for_output(
            "Sandbox: the offline demo model answers: "
            "OPENAI_API_KEY still holds the example value from .env.example."
        )
        await process.wait_for_output("connected to Slack")
        page = re.search(r"Sandbox: open (\S+)", process.log)
        assert page is not None, process.log
        # As a browser opening the printed address: its key becomes a cookie for 127.0.0.1.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(page.group(1)) as opened:
                assert opened.status == 200
            async with http.get(f"http://127.0.0.1:{port}/sandbox/info") as response:
                info = await response.json()
        assert "offline demo model" in info["model"] and ".env.example" in info["model"]
    finally:
        assert await process.stop(signal.SIGINT) == 0
    assert "Traceback" not in process.log and "sk-your-key" not in process.log


# Python's -X importtime line for dotenv, imported by main.py just before the bot's own
# packages: the moment the first second's imports are under way. (Earlier still, the
# interpreter itself is starting, and the system's default for SIGINT applies: no
# program has a say.)
IMPORTING = "| dotenv"


@pytest.mark.parametrize("moment", ["importing", "starting", "ready"])
async def test_ctrl_c_at_any_moment_ends_the_bot_quietly(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, moment: str
) -> None:
    process = make_bot(slack, model, tmp_path, PYTHONPROFILEIMPORTTIME="1")
    checks, connections = len(slack.calls_to("auth.test")), slack.connection_count
    if moment == "starting":
        slack.latency["auth.test"] = 60.0  # Slack slow to answer: start-up is under way
    try:
        await process.start()
        if moment == "importing":
            await process.wait_for_output(IMPORTING)
        elif moment == "starting":
            await slack.wait_for(
                lambda: len(slack.calls_to("auth.test")) > checks, what="start-up's auth.test"
            )
        else:
            await slack.wait_connected(connections + 1, timeout=30)
        process.interrupt()
        code = await process.wait()
    finally:
        slack.latency.pop("auth.test", None)
        # A test that failed before its interrupt must not leave the bot running.
        if process.process is not None:
            await process.kill()
    assert code == 0, process.log
    assert "Traceback" not in process.log and "KeyboardInterrupt" not in process.log


@pytest.mark.parametrize("moment", [IMPORTING, "Sandbox: open", "connected to Slack"])
async def test_ctrl_c_at_any_moment_ends_the_sandbox_quietly(tmp_path: Path, moment: str) -> None:
    env = {**first_steps(tmp_path), "PYTHONPROFILEIMPORTTIME": "1"}
    process = BotProcess(env, cwd=tmp_path, args=("sandbox", "--port", str(free_port())))
    await process.start()
    await process.wait_for_output(moment)
    process.interrupt()
    assert await process.wait() == 0, process.log
    assert "Traceback" not in process.log and "KeyboardInterrupt" not in process.log
