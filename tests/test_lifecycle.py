"""Starting, stopping, crashing and restarting the real bot process."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import BotProcess, bot_environment
from tests.conftest import make_bot, start_bot
from tests.fakes.slack_faults import attach_faults
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
        ({"RETENTION_DAYS": "a while"}, "RETENTION_DAYS"),
        ({"RETENTION_DAYS": "-1"}, "RETENTION_DAYS"),
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
        slack, model, tmp_path, SHUTDOWN_DRAIN_SECONDS="2", OPENAI_TIMEOUT_SECONDS="60"
    )
    await start_bot(slack, process)
    user, quick_dm, stuck_dm = new_id("U"), new_id("D"), new_id("D")
    quick = await slack.post_user_message(quick_dm, user, "[chunks:4][chunk_delay:0.25] finish me")
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
        # The note ends the part being written, or follows the last full one: no part
        # loses its text to it.
        parts = [m.text for m in slack.bot_replies(dm, ts)]
        assert all(len(part) > 3000 for part in parts[:-1])
        assert "interrupted" in parts[-1]
    finally:
        assert await second.stop() == 0


INTERRUPTED = "interrupted when the bot restarted"


async def test_a_crash_right_after_the_claim_ends_with_the_person_told(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    """Killed while the model holds the answer: the message is claimed and nothing of the
    answer is shown or recorded yet. The restarted bot tells the person in the thread."""
    user, channel = new_id("U"), new_id("C")

    async def claimed_and_held(ts: str) -> None:
        await model.wait_for(lambda: model.hung_requests >= 1, what="the hung call")

    mention = f"<@{slack.bot_user_id}> [hang] claimed, never answered"
    ts, second = await crash_mid_answer(
        slack, model, tmp_path, channel, user, mention, claimed_and_held
    )
    try:
        text = await wait_for_text(slack, channel, ts, INTERRUPTED)
        assert "Ask again" in text
        # Claimed: Slack delivering it again after the restart gets no second reply.
        for envelope in list(slack.envelopes_for_ts[ts]):
            await slack.redeliver(envelope)
        control = await slack.post_user_message(channel, user, f"<@{slack.bot_user_id}> next")
        await wait_for_text(slack, channel, control, "next")
        assert len(slack.bot_replies(channel, ts)) == 1
    finally:
        assert await second.stop() == 0


@pytest.mark.parametrize("native", [True, False], ids=["streamed", "edited"])
async def test_a_crash_mid_part_adds_the_note_to_its_text(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path: Path,
    new_id: Callable[[str], str],
    native: bool,
) -> None:
    user, dm = new_id("U"), new_id("D")
    shown: list[str] = []

    async def some_text_shown(ts: str) -> None:
        # A second write to the reply's message: the first was followed by its record.
        grows = "chat.appendStream" if native else "chat.update"
        await slack.wait_for(
            lambda: any(c.method == grows and c.params.get("channel") == dm for c in slack.calls),
            what="the reply growing",
        )
        shown.append(slack.bot_replies(dm, ts)[-1].text)

    slack.streaming_supported = native
    try:
        ts, second = await crash_mid_answer(
            slack,
            model,
            tmp_path,
            dm,
            user,
            "[chunks:6][chunk_delay:0.5][stall_after:4] half said",
            some_text_shown,
        )
    finally:
        slack.streaming_supported = True
    try:
        await wait_for_text(slack, dm, ts, INTERRUPTED)
        [reply] = slack.bot_replies(dm, ts)
        assert reply.text.startswith(shown[0])
        assert reply.text.rstrip().endswith("Ask again and I'll answer._")
    finally:
        assert await second.stop() == 0


async def test_a_crash_after_a_full_part_keeps_it_and_adds_the_note_after(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    user, dm = new_id("U"), new_id("D")
    full: list[str] = []
    faults = attach_faults(slack)

    async def next_part_held_back(ts: str) -> None:
        # The first part is full and Slack makes the second one wait.
        await slack.wait_for(
            lambda: any(
                c.method == "chat.postMessage" and c.status == 429 and c.params.get("channel") == dm
                for c in slack.calls
            ),
            what="the second part held back",
        )
        faults.clear("chat.postMessage")
        full.extend(m.text for m in slack.bot_replies(dm, ts))

    faults.fail_next("chat.postMessage", retry_after=60, count=3)
    ts, second = await crash_mid_answer(
        slack,
        model,
        tmp_path,
        dm,
        user,
        "[long:30000][chunks:10][chunk_delay:0.2] a long one",
        next_part_held_back,
    )
    try:
        await wait_for_text(slack, dm, ts, INTERRUPTED)
        parts = [m.text for m in slack.bot_replies(dm, ts)]
        assert len(full) == 1 and len(full[0]) > 3000
        assert parts[0] == full[0]
        assert INTERRUPTED in parts[-1] and INTERRUPTED not in parts[0]
    finally:
        assert await second.stop() == 0


@pytest.mark.parametrize(
    ("broken", "told"),
    [
        ("claimed_events", "couldn't take on this message"),
        ("messages", "Something went wrong on my side"),
    ],
    ids=["the claim", "right after the claim"],
)
async def test_a_database_failure_is_told_in_the_thread(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path: Path,
    new_id: Callable[[str], str],
    broken: str,
    told: str,
) -> None:
    """A real write failure (the database refuses the table's inserts), not a mock."""
    user, dm = new_id("U"), new_id("D")
    path = tmp_path / "bot.db"
    first = make_bot(slack, model, tmp_path)
    await start_bot(slack, first)
    try:
        with sqlite3.connect(path) as db:
            db.execute(
                f"CREATE TRIGGER broken BEFORE INSERT ON {broken}"
                " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        ts = await slack.post_user_message(dm, user, "lost in the database")
        text = await wait_for_text(slack, dm, ts, told)
        assert "again" in text
        assert "disk I/O" not in text
        with sqlite3.connect(path) as db:
            db.execute("DROP TRIGGER broken")
        # The thread is not left locked, and the bot answers again.
        again = await slack.post_user_message(dm, user, "once more", thread_ts=ts)
        await wait_for_text(slack, dm, ts, "once more")
        assert again
    finally:
        assert await first.stop() == 0
    # Told once: a restart adds nothing to the thread.
    told_before = [m.text for m in slack.bot_replies(dm, ts)]
    second = make_bot(slack, model, tmp_path)
    await start_bot(slack, second)
    assert await second.stop() == 0
    assert [m.text for m in slack.bot_replies(dm, ts)] == told_before
