"""End to end: what one answer and one person may use. The answer deadline, answers in
flight per person, model slots per call (not per answer), the daily image cap with image
costs in `/ai usage`, and the throttle on `/ai` subcommands and shortcuts that call other
services."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.conftest import running_bot
from tests.fakes.browser_service import FakeBrowserService
from tests.inproc import InProcessBot, bot_in_process
from tests.seen import command, shortcut, shown_steps, thread_text, wait_for_text

IN_FLIGHT = 2
IMAGES_PER_DAY = 2
COMMANDS_PER_MINUTE = 2
DEADLINE = 3
SUMMARIZE = "summarize_thread"
THROTTLED = re.compile(
    r":hourglass: You've run 2 `/ai` commands or shortcuts that call other services in the "
    r"last minute, which is the limit\. Try again in \d+ seconds\."
)


@pytest.fixture(scope="module")
async def bot(slack: FakeSlack, model: FakeOpenAI, bot_dir: Path) -> AsyncIterator[InProcessBot]:
    """Small per-person bounds, and a model timeout long enough that a held model call
    ends only when the test ends it."""
    async with bot_in_process(
        slack,
        model,
        bot_dir,
        OPENAI_TIMEOUT_SECONDS="60",
        USER_ANSWERS_IN_FLIGHT=str(IN_FLIGHT),
        IMAGE_GENERATIONS_PER_DAY=str(IMAGES_PER_DAY),
        OPENAI_IMAGE_MODEL="gpt-image-1.5",
        SERVICE_COMMANDS_PER_MINUTE=str(COMMANDS_PER_MINUTE),
    ) as process:
        yield process


def asked_the_model(model: FakeOpenAI, words: str) -> bool:
    return any(words in json.dumps(r.body) for r in model.requests)


async def test_a_person_past_the_in_flight_cap_waits_and_others_are_not_held_up(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    ada = new_id("U")
    dm = slack.dm_channel(ada)
    # Two answers that start streaming, then are held by the model.
    first = await slack.post_user_message(dm, ada, "[stall_after:1] first question")
    second = await slack.post_user_message(dm, ada, "[stall_after:1] second question")
    await slack.wait_for(
        lambda: all(slack.sessions.get((dm, ts)) == "processing" for ts in (first, second)),
        what="both answers being written",
    )

    third = await slack.post_user_message(dm, ada, "third question")
    await slack.wait_for(
        lambda: "I'm still writing your other 2 answers" in shown_steps(slack, dm, third),
        what="the third question saying it waits",
    )
    assert not asked_the_model(model, "third question")

    # Someone else is answered while Ada's answers are held.
    ben = new_id("U")
    ben_dm = slack.dm_channel(ben)
    asked = await slack.post_user_message(ben_dm, ben, "a question of my own")
    await wait_for_text(slack, ben_dm, asked, "a question of my own")
    assert not asked_the_model(model, "third question")

    # One of Ada's answers ends: the waiting one goes ahead and is answered.
    await slack.press_stop(ada, dm, first)
    await wait_for_text(slack, dm, first, "Stopped.")
    await wait_for_text(slack, dm, third, "third question")
    await slack.press_stop(ada, dm, second)
    await wait_for_text(slack, dm, second, "Stopped.")


async def test_images_past_the_daily_cap_are_refused_and_usage_lists_their_cost(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    asked = await slack.post_user_message(
        dm, user, 'draw [tool:generate_image:{"prompt": "a red kite"}]'
    )
    await wait_for_text(slack, dm, asked, "Tool result: The image is posted")
    await slack.post_user_message(
        dm, user, '[tool:edit_image:{"prompt": "make it blue", "image": 1}]', thread_ts=asked
    )
    await wait_for_text(slack, dm, asked, "Tool result: The edited image is posted")
    uploads = len(slack.uploads)

    again = await slack.post_user_message(
        dm, user, 'one more [tool:generate_image:{"prompt": "a green kite"}]'
    )
    text = await wait_for_text(slack, dm, again, "midnight UTC")
    assert f"You've had the {IMAGES_PER_DAY} images a day" in text
    assert re.search(r"in \d+ h \d\d min", text), text
    assert len(slack.uploads) == uploads

    usage = await command(slack, user, dm, "usage")
    # gpt-image-1.5's list prices at high quality: $0.133 square, $0.20 the larger sizes.
    assert "`gpt-image-1.5`: 1 images drawn, $0.1330" in usage
    assert "`gpt-image-1.5`: 1 images edited, $0.2000" in usage


async def test_subcommands_that_call_other_services_are_throttled(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    for _ in range(COMMANDS_PER_MINUTE):
        assert "Model API" in await command(slack, user, channel, "status")
    refused = await command(slack, user, channel, "summarize")
    assert THROTTLED.fullmatch(refused), refused
    # What calls no other service is not counted, and someone else is not held back.
    assert "Your usage this month" in await command(slack, user, channel, "usage")
    assert "Model API" in await command(slack, new_id("U"), channel, "status")


async def test_the_summarize_thread_shortcut_counts_against_the_same_budget(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    slack.add_channel(channel, [user])
    asked = await slack.post_user_message(channel, user, "Which database for the service?")
    assert "on its way to our DM" in await shortcut(slack, user, channel, asked, SUMMARIZE)
    dm = slack.dm_channel(user)
    await slack.wait_for(lambda: bool(slack.messages_in(dm)), what="the summary in the DM")
    [summary] = [m.ts for m in slack.messages_in(dm) if not m.is_reply]
    await wait_for_text(slack, dm, summary, "Answer to:")
    assert "Model API" in await command(slack, user, channel, "status")

    # Two of the budget's two used, one by the shortcut: the next of either is refused.
    refused = await shortcut(slack, user, channel, asked, SUMMARIZE)
    assert THROTTLED.fullmatch(refused), refused
    assert THROTTLED.fullmatch(await command(slack, user, channel, "status"))
    assert [m.ts for m in slack.messages_in(dm) if not m.is_reply] == [summary]


async def test_an_answer_past_its_deadline_is_stopped_and_the_thread_is_free(
    slack: FakeSlack, model: FakeOpenAI, bot_dir: Path, new_id: Callable[[str], str]
) -> None:
    (bot_dir / "deadline").mkdir()
    async with running_bot(
        slack,
        model,
        bot_dir / "deadline",
        ANSWER_DEADLINE_SECONDS=str(DEADLINE),
        OPENAI_TIMEOUT_SECONDS="30",
    ):
        user = new_id("U")
        dm = slack.dm_channel(user)
        # Each model call and each drawing takes a second, well within the model
        # timeout; two rounds of drawing and three model calls take longer than the
        # deadline.
        asked = await slack.post_user_message(
            dm,
            user,
            '[delay:1][tool_rounds:2][tool:generate_image:{"prompt": "a kite [delay:1]"}] '
            "draw two kites",
        )
        text = await wait_for_text(slack, dm, asked, "I stopped this answer")
        assert f"I stopped this answer after {DEADLINE} seconds" in text
        assert "didn't finish within" not in text
        await slack.post_user_message(dm, user, "and now?", thread_ts=asked)
        await wait_for_text(slack, dm, asked, "and now?")


@pytest.fixture
async def service() -> AsyncIterator[FakeBrowserService]:
    fake = FakeBrowserService()
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_slow_tool_holds_no_model_slot(
    slack: FakeSlack,
    model: FakeOpenAI,
    service: FakeBrowserService,
    bot_dir: Path,
    new_id: Callable[[str], str],
) -> None:
    ada, ben = new_id("U"), new_id("U")
    (bot_dir / "narrow").mkdir()
    async with running_bot(
        slack,
        model,
        bot_dir / "narrow",
        MAX_CONCURRENT_REQUESTS="1",
        BROWSER_SERVICE_URL=service.base_url,
        BROWSER_SERVICE_TIMEOUT_SECONDS="60",
        # Who may have the model use browser tools, where the bot asks for that.
        BROWSER_SERVICE_USERS=ada,
        BROWSER_SERVICE_CHANNELS="*",
        IMAGE_GENERATIONS_PER_DAY="0",
    ):
        # The service takes its time: the call stays in progress until the test ends it.
        service.delays["/chat/dialogs"] = 60
        dm = slack.dm_channel(ada)
        asked = await slack.post_user_message(
            dm, ada, '[tool:browser_list_dialogs:{"limit": 2}] who wrote to us today?'
        )
        await service.wait_for(lambda: service.in_flight == 1, what="the slow call")

        ben_dm = slack.dm_channel(ben)
        question = await slack.post_user_message(ben_dm, ben, "meanwhile, a question")
        await wait_for_text(slack, ben_dm, question, "meanwhile, a question")
        assert service.in_flight == 1
        assert "Queued" not in shown_steps(slack, ben_dm, question)
        # With no images a day, the model is not offered the image tools.
        [sent] = [r for r in model.requests if "meanwhile, a question" in json.dumps(r.body)]
        assert "generate_image" not in json.dumps(sent.body.get("tools", []))

        await slack.press_stop(ada, dm, asked)
        assert "Stopped." in await wait_for_text(slack, dm, asked, "Stopped.")
        assert "Tool result" not in thread_text(slack, dm, asked)
