"""End to end in a workspace without native streaming: placeholder + chat.update, pacing."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.manifest import load_manifest
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from slack_client.transport.limits import POSTING, POSTING_IN_A_WORKSPACE, MethodLimit, Rate
from tests.botproc import BotProcess
from tests.conftest import make_bot, start_bot
from tests.fakes.slack_faults import attach_faults
from tests.seen import bot_texts, settled, shown_steps, thread_text, wait_for_text

BOT = "<@UBOT>"


@pytest.fixture(scope="module")
async def bot(slack: FakeSlack, model: FakeOpenAI, bot_dir: Path) -> AsyncIterator[BotProcess]:
    slack.streaming_supported = False
    process = make_bot(slack, model, bot_dir)
    await start_bot(slack, process)
    yield process
    assert await process.stop() == 0, process.log


async def test_answer_grows_by_editing_one_message(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "[chunks:8][chunk_delay:0.4] tell me slowly")
    await wait_for_text(slack, dm, ts, "tell me slowly")
    [reply] = slack.bot_replies(dm, ts)
    # Slack's loading state stood for the reply until its first words.
    assert slack.assistant_status_history[(dm, ts)][0] == "is thinking…"
    # Several intermediate versions, each extending the one before.
    answers = reply.versions
    assert len(answers) >= 2
    assert all(b.startswith(a) and len(b) > len(a) for a, b in itertools.pairwise(answers))
    assert not slack.calls_to("chat.appendStream")


async def test_a_status_message_stands_in_where_slack_has_no_loading_states(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    attach_faults(slack).fail_next("assistant.threads.setStatus", error="channel_not_found")
    ts = await slack.post_user_message(dm, user, "[chunks:4][chunk_delay:0.4] no loading state")
    await wait_for_text(slack, dm, ts, "no loading state")
    [reply] = slack.bot_replies(dm, ts)
    assert reply.versions[0] == "_Thinking…_"
    assert reply.versions[-1].startswith("Answer to:")


async def test_answer_completes_through_a_429_storm_on_updates(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    attach_faults(slack).fail_next("chat.update", status=429, retry_after=1, count=3)
    ts = await slack.post_user_message(dm, user, "[chunks:6][chunk_delay:0.3] storm please")
    text = await wait_for_text(slack, dm, ts, "storm please")
    assert text.startswith("Answer to:")
    assert len(slack.bot_replies(dm, ts)) == 1


async def test_a_burst_in_one_channel_under_one_post_per_second(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    faults = attach_faults(slack)
    faults.rate_limit("chat.postMessage", per_channel_per_second=1.0)
    try:
        roots = [
            # Five people, each asking once: a burst past Slack's allowance for a channel.
            await slack.post_user_message(channel, new_id("U"), f"{BOT} burst question {i}")
            for i in range(5)
        ]
        for i, root in enumerate(roots):
            await wait_for_text(slack, channel, root, f"burst question {i}", timeout=90)
            assert len(slack.bot_replies(channel, root)) == 1
    finally:
        faults.rate_limit("chat.postMessage", per_channel_per_second=0)
    assert faults.rate_limited_count["chat.postMessage"] > 0


async def test_forty_thousand_characters_become_several_valid_messages(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "[long:40000] write a lot")
    await slack.wait_for(
        lambda: settled(slack, dm, ts) and len(thread_text(slack, dm, ts)) > 38_000,
        what="the whole long answer",
    )
    texts = bot_texts(slack, dm, ts)
    # Messages of Markdown within Slack's 12,000 characters of markdown blocks.
    assert len(texts) >= 4
    assert all(len(t) <= 12_000 for t in texts)
    assert all(t.count("```") % 2 == 0 for t in texts)


@pytest.fixture
async def own_slack() -> AsyncIterator[FakeSlack]:
    """A workspace of its own, without native streaming as this module's: whether or not
    another test started the module's bot (which is what turned streaming off on the
    shared one), every event goes to the bot under test, in the same workspace."""
    fake = FakeSlack()
    fake.streaming_supported = False
    fake.install(load_manifest())
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_burst_waits_in_the_queue_and_says_so(
    own_slack: FakeSlack, model: FakeOpenAI, bot_dir: Path, new_id: Callable[[str], str]
) -> None:
    slack = own_slack
    # A bot with room for a single model call at a time.
    narrow = make_bot(slack, model, bot_dir / "narrow", MAX_CONCURRENT_REQUESTS="1")
    (bot_dir / "narrow").mkdir()
    await start_bot(slack, narrow)
    try:
        user = new_id("U")
        dms = [new_id("D") for _ in range(3)]
        roots = await asyncio.gather(
            *(
                slack.post_user_message(dm, user, f"[delay:1] queued {i}")
                for i, dm in enumerate(dms)
            )
        )
        for i, (dm, ts) in enumerate(zip(dms, roots, strict=True)):
            await wait_for_text(slack, dm, ts, f"queued {i}")
        # A step of the streamed answer, or Slack's loading state where it stands in.
        shown = [shown_steps(slack, dm, ts) for dm, ts in zip(dms, roots, strict=True)]
        assert any("Queued" in steps for steps in shown), shown
    finally:
        assert await narrow.stop() == 0


async def test_slack_refusing_the_reply_is_said_in_a_fresh_message(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    faults = attach_faults(slack)
    faults.fail_next("chat.update", status=200, error="cant_update_message", count=1000)
    try:
        ts = await slack.post_user_message(dm, user, "[chunks:6][chunk_delay:0.4] refused")
        await slack.wait_for(
            lambda: any("Slack refused" in t for t in bot_texts(slack, dm, ts)),
            what="the failure line",
        )
    finally:
        faults.clear("chat.update")
    texts = bot_texts(slack, dm, ts)
    assert texts[-1] == ":warning: _Slack refused one of my messages (cant_update_message)._"
    assert "xoxb" not in bot.log


async def test_an_answer_held_by_slacks_limit_says_so_and_lands_once(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    # One post every five seconds in a channel: whichever answer comes second waits for
    # Slack longer than the three seconds after which it says so.
    posting = Rate(per_minute=12, burst=1)
    table = {"chat.postMessage": MethodLimit(POSTING_IN_A_WORKSPACE, POSTING, posting)}
    faults = attach_faults(slack)
    faults.realistic_limits(table, default=None)
    try:
        roots = [
            await slack.post_user_message(channel, new_id("U"), f"<@UBOT> [chunks:1] quick {i}")
            for i in range(2)
        ]
        for i, root in enumerate(roots):
            await wait_for_text(slack, channel, root, f"quick {i}", timeout=30)
    finally:
        faults.realistic_limits(None)
    assert faults.rate_limited_count["chat.postMessage"] >= 1
    said = {
        root: [
            " ".join(call.params.get("loading_messages") or [])
            for call in slack.calls_to("assistant.threads.setStatus")
            if (call.params.get("channel_id"), call.params.get("thread_ts")) == (channel, root)
        ]
        for root in roots
    }
    # One answer was held, and its thread said so once; the other's did not.
    waits = sorted(sum("waiting for Slack" in step for step in steps) for steps in said.values())
    assert waits == [0, 1], said
    for root in roots:
        assert len(slack.bot_replies(channel, root)) == 1


async def test_an_answer_with_links_never_lets_slack_fetch_them(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    answer = "See https://example.com/report and the chart at https://example.org/c.png now."
    ts = await slack.post_user_message(dm, user, f"[reply:{answer}][chunks:8][chunk_delay:0.4]")
    await wait_for_text(slack, dm, ts, "c.png now.")
    writes = [
        call
        for call in slack.calls_to("chat.postMessage") + slack.calls_to("chat.update")
        if call.params.get("channel") == dm
    ]
    # The answer grew by edits, each asking Slack for no link previews, as did its post.
    assert sum(call.method == "chat.update" for call in writes) >= 2
    assert all(
        call.params.get("unfurl_links") is False and call.params.get("unfurl_media") is False
        for call in writes
    ), writes
