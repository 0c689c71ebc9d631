"""The model side end to end: Chat Completions style, context budget, usage, `.env`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import APP_TOKEN, BOT_TOKEN, OPENAI_KEY
from tests.conftest import make_bot, start_bot
from tests.pictures import picture
from tests.seen import wait_for_text

BOT = "<@UBOT>"


async def test_chat_completions_style_for_servers_without_responses(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    model.responses_enabled = False
    process = make_bot(slack, model, tmp_path, OPENAI_API_STYLE="chat")
    await start_bot(slack, process)
    try:
        dm, user = new_id("D"), new_id("U")
        ts = await slack.post_user_message(dm, user, "[chunks:4][chunk_delay:0.3] over chat")
        await wait_for_text(slack, dm, ts, "over chat")
        request = next(r for r in model.requests if "over chat" in str(r.body))
        assert request.path == "/v1/chat/completions"
        assert request.body["messages"][0]["role"] == "system"
        assert request.body["stream"] is True
        # Images travel as Chat Completions image parts in this style.
        diagram = picture("diagram.png", 120, 90, colour="purple")
        ts = await slack.post_user_message(dm, user, "and over chat?", files=[diagram])
        text = await wait_for_text(slack, dm, ts, "and over chat?")
        assert "[saw 1 image(s): 120x90 PNG]" in text
    finally:
        model.responses_enabled = True
        assert await process.stop() == 0


async def test_usage_is_recorded_per_user_and_model(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    process = make_bot(slack, model, tmp_path, OPENAI_MODEL="gpt-4.1-mini")
    await start_bot(slack, process)
    dm, user = new_id("D"), new_id("U")
    for question in ("count me", "count me too"):
        ts = await slack.post_user_message(dm, user, question)
        await wait_for_text(slack, dm, ts, question)
    assert await process.stop() == 0
    with sqlite3.connect(tmp_path / "bot.db") as db:
        rows = db.execute(
            "SELECT model, COUNT(*), SUM(input_tokens), SUM(output_tokens) FROM usage"
            " WHERE user_id = ? GROUP BY model",
            (user,),
        ).fetchall()
    [(model_name, answers, input_tokens, output_tokens)] = rows
    assert (model_name, answers) == ("gpt-4.1-mini", 2)
    assert input_tokens > 0 and output_tokens > 0


async def test_a_thread_near_its_budget_is_trimmed_and_the_user_told_once(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    # An unknown local model gets a small default window, so a few long messages fill it.
    process = make_bot(slack, model, tmp_path, OPENAI_MODEL="local-llama")
    await start_bot(slack, process)
    try:
        channel, user = new_id("C"), new_id("U")
        root = await slack.post_user_message(channel, user, "OLDEST " + "lorem ipsum " * 3_300)
        for i in range(4):
            filler = f"part {i} " + "dolor sit " * 3_900
            await slack.post_user_message(channel, user, filler, thread_ts=root)
        await slack.post_user_message(channel, user, f"{BOT} what now?", thread_ts=root)
        text = await wait_for_text(slack, channel, root, "getting long")
        await slack.post_user_message(channel, user, "and then?", thread_ts=root)
        text = await wait_for_text(slack, channel, root, "and then?")
        assert text.count("getting long") == 1
        sent = str(next(r for r in model.requests if "what now?" in str(r.body)).body["input"])
        assert "OLDEST" not in sent and "what now?" in sent
    finally:
        assert await process.stop() == 0


async def test_settings_are_read_from_a_dotenv_file(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    process = make_bot(slack, model, tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "OPENAI_API_KEY"):
        del process.env[name]
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_APP_TOKEN={APP_TOKEN}\nOPENAI_API_KEY={OPENAI_KEY}\n"
    )
    await start_bot(slack, process)
    try:
        dm, user = new_id("D"), new_id("U")
        ts = await slack.post_user_message(dm, user, "configured from a file")
        await wait_for_text(slack, dm, ts, "configured from a file")
    finally:
        assert await process.stop() == 0
