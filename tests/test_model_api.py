"""The model side end to end: Chat Completions style, context budget, usage, `.env`."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port with a socket bound but not listening: every connection is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


@pytest.mark.parametrize(
    ("case", "line", "not_said"),
    [
        ("refused", "its server refused the connection", "didn't finish"),
        # .invalid never resolves (RFC 2606): the lookup fails at once, offline too.
        ("dns", "its host name could not be found (DNS)", "didn't finish"),
        ("401", "refused this bot's API key. An admin needs to check OPENAI_API_KEY", "reach"),
        ("hang", "The model didn't finish within 2 seconds", "reach"),
    ],
)
async def test_each_model_api_failure_is_told_as_what_it_is(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path: Path,
    new_id: Callable[[str], str],
    case: str,
    line: str,
    not_said: str,
) -> None:
    with refusing_port() as port:
        where = {
            "refused": {"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"},
            "dns": {"OPENAI_BASE_URL": "http://model-api.invalid/v1"},
            "401": {"OPENAI_API_KEY": "sk-wrong-secret-key"},
            "hang": {"OPENAI_TIMEOUT_SECONDS": "2"},
        }[case]
        process = make_bot(slack, model, tmp_path, **where)
        await start_bot(slack, process)
        try:
            dm, user = new_id("D"), new_id("U")
            ts = await slack.post_user_message(dm, user, "[hang] are you there?")
            text = await wait_for_text(slack, dm, ts, line)
        finally:
            assert await process.stop() == 0
    assert not_said not in text
    assert "wrong-secret" not in text and "wrong-secret" not in process.log
