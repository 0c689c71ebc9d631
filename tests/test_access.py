"""End to end: allowlists and the per-user rate limit, as the people turned away see them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI, responses_prompt
from sandbox.workspace import FakeSlack
from tests.inproc import InProcessBot, bot_in_process
from tests.manifests import assistant_view_manifest, installed
from tests.seen import command, wait_for_text

BOT = "<@UBOT>"
ALLOWED, LIMITED, STRANGER = "UALLOWED1", "ULIMITED1", "USTRANGER1"
OPEN_CHANNEL, CLOSED_CHANNEL = "COPEN1", "CCLOSED1"
PER_MINUTE = 3


@pytest.fixture(scope="module")
async def bot(slack: FakeSlack, model: FakeOpenAI, bot_dir: Path) -> AsyncIterator[InProcessBot]:
    async with bot_in_process(
        slack,
        model,
        bot_dir,
        ALLOWED_USERS=f"{ALLOWED},{LIMITED}",
        ALLOWED_CHANNELS=OPEN_CHANNEL,
        USER_MESSAGES_PER_MINUTE=str(PER_MINUTE),
    ) as process:
        yield process


async def test_someone_not_allowed_is_told_once_per_thread_and_not_answered(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot
) -> None:
    root = await slack.post_user_message(OPEN_CHANNEL, STRANGER, f"{BOT} may I ask?")
    await slack.wait_for(lambda: bool(slack.ephemerals_for(STRANGER)), what="the refusal")
    [refusal] = slack.ephemerals_for(STRANGER)
    # Under the message itself: its thread does not exist, as nobody answered it.
    assert "not set up to answer you" in refusal.text and refusal.thread_ts is None
    await slack.post_user_message(OPEN_CHANNEL, STRANGER, f"{BOT} please?", thread_ts=root)

    # An allowed person in the same thread is answered; by then the stranger's second
    # message has long been handled, and was neither answered nor refused again.
    await slack.post_user_message(OPEN_CHANNEL, ALLOWED, f"{BOT} allowed here", thread_ts=root)
    text = await wait_for_text(slack, OPEN_CHANNEL, root, "allowed here")
    assert "may I ask" not in text and "please?" not in text
    assert len(slack.ephemerals_for(STRANGER)) == 1
    # The stranger's lines are part of the thread the allowed person asked about, but
    # no model call answered them.
    asked = [responses_prompt(r.body).last_user_text for r in model.requests]
    assert not any("may I ask" in a or "please?" in a for a in asked)
    assert "not set up" in await command(slack, STRANGER, OPEN_CHANNEL, "settings")


async def test_a_channel_off_the_list_is_refused_even_to_allowed_people(
    slack: FakeSlack, bot: InProcessBot
) -> None:
    root = await slack.post_user_message(CLOSED_CHANNEL, ALLOWED, f"{BOT} over here")
    await slack.wait_for(
        lambda: any("not set up" in e.text for e in slack.ephemerals_for(ALLOWED, CLOSED_CHANNEL)),
        what="the refusal in the closed channel",
    )
    assert not slack.bot_replies(CLOSED_CHANNEL, root)


async def test_the_rate_limit_says_when_to_try_again(slack: FakeSlack, bot: InProcessBot) -> None:
    dm = "DLIMITED1"
    answered = [
        await slack.post_user_message(dm, LIMITED, f"question {n}") for n in range(PER_MINUTE)
    ]
    for n, ts in enumerate(answered):
        await wait_for_text(slack, dm, ts, f"question {n}")
    over = await slack.post_user_message(dm, LIMITED, "one too many")
    another = await slack.post_user_message(dm, LIMITED, "and another")

    def notices() -> list[str]:
        return [e.text for e in slack.ephemerals_for(LIMITED, dm) if "last minute" in e.text]

    await slack.wait_for(lambda: bool(notices()), what="the rate-limit notice")
    [notice] = notices()
    assert f"{PER_MINUTE} messages in the last minute" in notice and "send them again in" in notice
    assert ":no_entry_sign:" in notice
    # Once both are handled (an allowed person's answer comes after them), neither was
    # answered, both carry the mark the notice explains, and the second got no second
    # notice.
    root = await slack.post_user_message(dm, ALLOWED, "someone else")
    await wait_for_text(slack, dm, root, "someone else")
    assert not slack.bot_replies(dm, over) and len(notices()) == 1
    marked = {"no_entry_sign": ["UBOT"]}
    await slack.wait_for(
        lambda: all(slack.messages[(dm, ts)].reactions == marked for ts in (over, another)),
        what="both turned-away messages marked",
    )
    assert not any(slack.messages[(dm, ts)].reactions for ts in answered)


async def test_the_assistant_panel_tells_someone_not_allowed(
    slack: FakeSlack, bot: InProcessBot
) -> None:
    with installed(slack, assistant_view_manifest()):
        channel, thread = await slack.start_assistant_thread(STRANGER)
        await slack.wait_for(
            lambda: any("not set up" in m.text for m in slack.bot_replies(channel, thread)),
            what="the refusal in the panel",
        )
    assert (channel, thread) not in slack.suggested_prompts
