"""The bot's log lines as a log collector reads them: LOG_FORMAT=json, and secrets never
written in either format."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from operations.logs import log_handler
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import APP_TOKEN, BOT_TOKEN, OPENAI_KEY, BotProcess, bot_environment
from tests.conftest import make_bot, start_bot
from tests.seen import wait_for_text

SECRETS = (BOT_TOKEN, APP_TOKEN, OPENAI_KEY)


async def test_json_lines_name_the_message_answered_and_no_secret(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    # DEBUG: the libraries' own lines (HTTP, Socket Mode) must be JSON and secret-free too.
    process = make_bot(slack, model, tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    await start_bot(slack, process)
    user, dm, failing_dm = new_id("U"), new_id("D"), new_id("D")
    try:
        asked = await slack.post_user_message(dm, user, "what is a log line?")
        await wait_for_text(slack, dm, asked, "what is a log line?")
        failed = await slack.post_user_message(failing_dm, user, "[status:400] and now?")
        await process.wait_for_output(f"answered channel={failing_dm} ")
        await process.wait_for_output(f"answered channel={dm} ")
    finally:
        code = await process.stop()
    assert code == 0, process.log

    lines = [_json_line(text, process.log) for text in process.output]
    for sent_in, ts, outcome in ((dm, asked, "answered"), (failing_dm, failed, "model_error")):
        (event_id,) = slack.event_ids_for_ts[ts]
        about = [line for line in lines if line.get("event_id") == event_id]
        assert about, process.log
        for line in about:
            assert (line["channel"], line["thread"], line["user"]) == (sent_in, ts, user), line
        (answered,) = [line for line in about if line["message"].startswith("answered ")]
        assert answered["outcome"] == outcome, answered
        assert isinstance(answered["duration_seconds"], float), answered
        assert answered["duration_seconds"] >= 0, answered
        assert answered["level"] == "INFO" and answered["logger"] == "message_processor.processor"
        assert answered["time"].endswith("+00:00"), answered
    for secret in SECRETS:
        assert secret not in process.log


async def test_an_unknown_log_format_is_a_configuration_error(tmp_path: Path) -> None:
    env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        openai_base_url="http://127.0.0.1:9/v1",
        database_path=tmp_path / "bot.db",
        LOG_FORMAT="xml",
    )
    process = BotProcess(env, cwd=tmp_path)
    await process.start()
    assert await process.wait() == 2
    assert len(process.output) == 1, process.log
    assert "LOG_FORMAT" in process.output[0]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_redacted_from_message_arguments_and_traceback(fmt: str) -> None:
    # A quote and a backslash: JSON spells such a secret otherwise than it is.
    odd_secret = 'sk-"odd\\secret'
    handler = log_handler(fmt, [BOT_TOKEN, OPENAI_KEY, odd_secret])
    try:
        raise RuntimeError(f"refused {BOT_TOKEN} and {odd_secret}")
    except RuntimeError:
        record = logging.LogRecord(
            "bot",
            logging.ERROR,
            __file__,
            1,
            f"calling with {OPENAI_KEY} and %s, and a stranger's %s and %s",
            (APP_TOKEN, "xoxp-1234-5678-abcdef", "xoxe.xoxp-1-ABCDEF"),
            sys.exc_info(),
        )
    assert handler.filter(record)
    line = handler.format(record)

    for secret in (*SECRETS, odd_secret, json.dumps(odd_secret)[1:-1], "xoxp-1234", "xoxe"):
        assert secret not in line
    assert line.count("[redacted]") == 6, line
    if fmt == "json":
        logged = json.loads(line)
        assert "RuntimeError: refused [redacted] and [redacted]" in logged["traceback"]
        assert logged["message"] == (
            "calling with [redacted] and [redacted], and a stranger's [redacted] and [redacted]"
        )


def _json_line(text: str, log: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        raise AssertionError(f"not a JSON line: {text!r}\nthe output:\n{log}") from None
    assert isinstance(parsed, dict), text
    return parsed
