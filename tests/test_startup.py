"""A newcomer's first hour: what a start prints, and what the placeholders and Ctrl-C do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
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
