"""Starting, stopping, crashing and restarting the real bot process."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import BotProcess, bot_environment
from tests.conftest import make_bot, start_bot
from tests.seen import wait_for_text


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token-secret"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "not-an-app-token-secret"}, "SLACK_APP_TOKEN"),
        ({"OPENAI_API_KEY": ""}, "OPENAI_API_KEY"),
        ({"OPENAI_TIMEOUT_SECONDS": "soon"}, "OPENAI_TIMEOUT_SECONDS"),
        ({"MAX_CONCURRENT_REQUESTS": "0"}, "MAX_CONCURRENT_REQUESTS"),
        ({"SLACK_API_URL": "slack.example"}, "SLACK_API_URL"),
        ({"OPENAI_API_STYLE": "soap"}, "OPENAI_API_STYLE"),
    ],
)
async def test_bad_configuration_exits_with_one_clear_line(
    tmp_path: Path, change: dict[str, str], named: str
) -> None:
    env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        openai_base_url="http://127.0.0.1:9/v1",
        database_path=tmp_path / "bot.db",
        OPENAI_API_KEY="sk-very-secret-key",
    )
    env.update(change)
    env = {k: v for k, v in env.items() if v}
    process = BotProcess(env, cwd=tmp_path)
    await process.start()
    code = await process.wait()
    assert code == 2
    assert len(process.output) == 1, process.log
    assert named in process.output[0]
    assert "secret" not in process.log


@pytest.mark.parametrize("name", ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"])
async def test_a_refused_token_exits_with_one_clear_line(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, name: str
) -> None:
    prefix = "xoxb-" if name == "SLACK_BOT_TOKEN" else "xapp-"
    process = make_bot(slack, model, tmp_path, **{name: f"{prefix}revoked-secret"})
    await process.start()
    assert await process.wait() == 1
    assert f"Slack refused {name} (invalid_auth)" in process.output[-1]
    assert "revoked-secret" not in process.log


async def test_unreachable_slack_exits_with_one_clear_line(
    model: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        openai_base_url=model.base_url,
        database_path=tmp_path / "bot.db",
    )
    process = BotProcess(env, cwd=tmp_path)
    await process.start()
    assert await process.wait(timeout=60) == 1
    assert "cannot reach Slack at SLACK_API_URL" in process.output[-1]
    assert "xoxb-test-token" not in process.log


async def test_identity_is_fetched_once_at_start_not_per_event(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    before = len(slack.calls_to("auth.test"))
    process = make_bot(slack, model, tmp_path)
    await start_bot(slack, process)
    try:
        dms = [new_id("D") for _ in range(20)]
        roots = [
            await slack.post_user_message(dm, new_id("U"), f"hi {i}") for i, dm in enumerate(dms)
        ]
        for i, (dm, ts) in enumerate(zip(dms, roots, strict=True)):
            await wait_for_text(slack, dm, ts, f"hi {i}")
        assert len(slack.calls_to("auth.test")) - before == 1
    finally:
        assert await process.stop() == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_shutdown_drains_answers_and_tells_the_cut_off_ones(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path: Path,
    new_id: Callable[[str], str],
    signum: int,
) -> None:
    process = make_bot(
        slack, model, tmp_path, SHUTDOWN_DRAIN_SECONDS="3", OPENAI_TIMEOUT_SECONDS="60"
    )
    await start_bot(slack, process)
    user, quick_dm, stuck_dm = new_id("U"), new_id("D"), new_id("D")
    quick = await slack.post_user_message(quick_dm, user, "[chunks:4][chunk_delay:0.5] finish me")
    stuck = await slack.post_user_message(stuck_dm, user, "[hang] never finishes")
    await model.wait_for(lambda: model.hung_requests >= 1, what="the hung call")
    await slack.wait_for(lambda: bool(slack.bot_replies(quick_dm, quick)), what="first reply")

    code = await process.stop(signum)

    assert code == 0, process.log
    await wait_for_text(slack, quick_dm, quick, "finish me")
    await wait_for_text(slack, stuck_dm, stuck, "cut off because the bot is restarting")
    assert "stopped" in process.log


async def crash_mid_answer(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path: Path,
    dm: str,
    user: str,
    question: str,
    under_way: Callable[[str], Awaitable[None]],
) -> tuple[str, BotProcess]:
    """Kill a bot once its answer to `question` is under way; start a new one on its data."""
    first = make_bot(slack, model, tmp_path, OPENAI_TIMEOUT_SECONDS="60")
    await start_bot(slack, first)
    ts = await slack.post_user_message(dm, user, question)
    await under_way(ts)
    await first.kill()
    second = make_bot(slack, model, tmp_path)
    await start_bot(slack, second)
    return ts, second


async def test_restart_after_a_crash_marks_the_interrupted_answer(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    user, dm = new_id("U"), new_id("D")

    async def status_shown_and_model_hung(ts: str) -> None:
        await model.wait_for(lambda: model.hung_requests >= 1, what="the hung call")
        # Only Slack's loading state shows: the reply has no message of its own yet.
        await slack.wait_for(lambda: bool(slack.assistant_status.get((dm, ts))), what="status")
        assert not slack.bot_replies(dm, ts)

    ts, second = await crash_mid_answer(
        slack, model, tmp_path, dm, user, "[hang] doomed question", status_shown_and_model_hung
    )
    try:
        text = await wait_for_text(slack, dm, ts, "interrupted when the bot restarted")
        assert "Thinking" not in text
        # The same envelope delivered again after the restart is not answered twice.
        for envelope in list(slack.envelopes_for_ts[ts]):
            await slack.redeliver(envelope)
        control = await slack.post_user_message(dm, user, "control after restart")
        await wait_for_text(slack, dm, control, "control after restart")
        assert len(slack.bot_replies(dm, ts)) == 1
    finally:
        assert await second.stop() == 0


async def test_a_crash_in_a_reply_of_several_parts_keeps_the_written_parts(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    user, dm = new_id("U"), new_id("D")

    async def several_parts_shown(ts: str) -> None:
        await slack.wait_for(lambda: len(slack.bot_replies(dm, ts)) >= 2, what="a reply in parts")

    question = "[long:30000][chunks:10][stall_after:6] long one"
    ts, second = await crash_mid_answer(
        slack, model, tmp_path, dm, user, question, several_parts_shown
    )
    try:
        text = await wait_for_text(slack, dm, ts, "interrupted when the bot restarted")
        assert text.count("interrupted when the bot restarted") == 1
        # The newest part the bot had recorded becomes the notice (a part posted just
        # before the crash may not be recorded yet, and keeps its text); the parts
        # before it keep theirs.
        parts = [m.text for m in slack.bot_replies(dm, ts)]
        notice = next(i for i, part in enumerate(parts) if "interrupted" in part)
        assert all(len(part) > 3000 for part in parts[:notice])
    finally:
        assert await second.stop() == 0
