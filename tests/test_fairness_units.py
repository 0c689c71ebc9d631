"""Unit tests: the settings for cost and fairness, image prices, and the daily image
allowance (counted per person per UTC day, also across answers running at once)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import aiohttp
import pytest

from config import ConfigError, load_config
from message_processor.admission.inflight import AnswersInFlight
from message_processor.admission.slots import ModelSlots
from message_processor.tools.allowance import ImageAllowance, OverDailyLimit
from openai_client import PriceTable
from slack_client import IncomingMessage, ReplyStream
from storage import UsageKind
from storage.sqlite import SQLiteStore
from storage.sqlite.coordination import SingleInstance
from thread_manager import SharedLeases

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "sk-1"}
DAY = 24 * 3600
# Some UTC midnight.
MIDNIGHT = 1_796_342_400.0


def test_defaults_a_demanding_operator_accepts() -> None:
    config = load_config(BASE)
    assert config.answer_deadline_seconds == 2 * config.openai_timeout_seconds == 610
    assert config.user_answers_in_flight == 3
    assert config.image_generations_per_day == 25
    assert config.service_commands_per_minute == 5
    # A short model timeout keeps a deadline of at least ten minutes.
    assert load_config({**BASE, "OPENAI_TIMEOUT_SECONDS": "6"}).answer_deadline_seconds == 600
    assert load_config({**BASE, "OPENAI_TIMEOUT_SECONDS": "900"}).answer_deadline_seconds == 1800
    chosen = load_config({**BASE, "ANSWER_DEADLINE_SECONDS": "2.5"})
    assert chosen.answer_deadline_seconds == 2.5
    assert load_config({**BASE, "IMAGE_GENERATIONS_PER_DAY": "0"}).image_generations_per_day == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ANSWER_DEADLINE_SECONDS", "soon-ish"),
        ("ANSWER_DEADLINE_SECONDS", "-7"),
        ("USER_ANSWERS_IN_FLIGHT", "-3"),
        ("IMAGE_GENERATIONS_PER_DAY", "-4"),
        ("SERVICE_COMMANDS_PER_MINUTE", "lots"),
    ],
)
def test_a_bad_value_is_named_but_not_shown(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as refused:
        load_config({**BASE, name: value})
    assert value not in str(refused.value)


def test_images_cost_their_list_price_by_size_and_snapshot() -> None:
    prices = PriceTable({})
    assert prices.image_cost("gpt-image-1.5", "1024x1024") == 0.133
    assert prices.image_cost("gpt-image-1.5-2025-12-16", "1536x1024") == 0.20
    assert prices.image_cost("gpt-image-1-mini-2025-10-06", "1024x1024") == 0.036
    # An edit's output size is the input's: priced at the larger sizes.
    assert prices.image_cost("gpt-image-1", None) == 0.25
    assert prices.image_cost("gpt-image-2.5-sunburst", "1024x1024") is None


def _message(user: str) -> IncomingMessage:
    return IncomingMessage(
        channel="D1",
        user=user,
        text="draw",
        ts="1.0",
        thread_ts="1.0",
        is_dm=True,
        is_mention=False,
        team_id=None,
        event_id=None,
        client_msg_id=None,
    )


async def _drawn() -> bytes:
    return b"png"


async def test_images_are_counted_per_person_per_utc_day(tmp_path: Path) -> None:
    db = await SQLiteStore.open(str(tmp_path / "bot.db"))
    now = MIDNIGHT + 22.5 * 3600
    allowance = ImageAllowance(
        db.usage, PriceTable({}), per_day=2, model="gpt-image-1.5", clock=lambda: now
    )
    ada, ben = _message("UADA"), _message("UBEN")
    try:
        async with contextlib.AsyncExitStack() as running:
            # Two answers drawing at once take the day's two images between them.
            drawing = await running.enter_async_context(
                allowance.one(ada, UsageKind.IMAGE_GENERATION, "1024x1024")
            )
            editing = await running.enter_async_context(
                allowance.one(ada, UsageKind.IMAGE_EDIT, None)
            )
            with pytest.raises(OverDailyLimit, match=r"the 2 images a day .* in 1 h 30 min"):
                await running.enter_async_context(
                    allowance.one(ada, UsageKind.IMAGE_GENERATION, None)
                )
            assert await drawing.made(_drawn()) == b"png"
            assert await editing.made(_drawn()) == b"png"
        with pytest.raises(OverDailyLimit):
            async with allowance.one(ada, UsageKind.IMAGE_GENERATION, None):
                pass
        # Someone else has their own images.
        async with allowance.one(ben, UsageKind.IMAGE_GENERATION, None):
            pass
        # The next UTC day starts afresh.
        now = MIDNIGHT + DAY
        async with allowance.one(ada, UsageKind.IMAGE_GENERATION, None):
            pass
        usage = await db.usage.usage_by_model("UADA", 0)
        assert [(u.kind, u.answers, u.cost) for u in usage] == [
            (UsageKind.IMAGE_GENERATION, 1, 0.133),
            (UsageKind.IMAGE_EDIT, 1, 0.20),
        ]
    finally:
        await db.close()


async def test_an_image_call_stopped_midway_counts_and_a_failed_one_does_not(
    tmp_path: Path,
) -> None:
    db = await SQLiteStore.open(str(tmp_path / "bot.db"))
    allowance = ImageAllowance(
        db.usage, PriceTable({}), per_day=1, model="gpt-image-1.5", clock=lambda: MIDNIGHT
    )
    ada = _message("UADA")
    try:

        async def refused() -> bytes:
            raise ValueError("refused under the content policy")

        with pytest.raises(ValueError):
            async with allowance.one(ada, UsageKind.IMAGE_GENERATION, None) as image:
                await image.made(refused())
        # A stop while the service draws: it may have drawn, and charges all the same.
        service_drawing, stopped = asyncio.Event(), asyncio.Event()

        async def slow() -> bytes:
            service_drawing.set()
            await stopped.wait()
            return b"png"

        async def ask() -> None:
            async with allowance.one(ada, UsageKind.IMAGE_GENERATION, None) as image:
                await image.made(slow())

        answer = asyncio.create_task(ask())
        await service_drawing.wait()
        answer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await answer
        assert [u.answers for u in await db.usage.usage_by_model("UADA", 0)] == [1]
        with pytest.raises(OverDailyLimit):
            async with allowance.one(ada, UsageKind.IMAGE_GENERATION, None):
                pass
    finally:
        await db.close()


class _ClosingStepFails:
    """A reply whose Slack update fails as a waiting step closes (a connection reset)."""

    @contextlib.asynccontextmanager
    async def step(self, title: str) -> AsyncIterator[None]:
        yield
        raise aiohttp.ClientConnectionError("connection reset")

    async def set_status(self, text: str) -> None:
        return None


@pytest.mark.parametrize("kind", ["model slots", "answers in flight"])
async def test_a_place_is_given_back_when_its_waiting_step_fails_to_close(kind: str) -> None:
    slots, places = ModelSlots(1), AnswersInFlight(1, SharedLeases(SingleInstance()))

    def hold() -> contextlib.AbstractAsyncContextManager[None]:
        stream = cast(ReplyStream, _ClosingStepFails())
        return slots.hold(stream) if kind == "model slots" else places.hold("UADA", stream)

    first_in, first_done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with hold():
            first_in.set()
            await first_done.wait()

    async def second() -> None:
        async with hold():
            pass

    running = asyncio.create_task(first())
    await first_in.wait()
    waiting = [asyncio.create_task(second()), asyncio.create_task(second())]
    await asyncio.sleep(0)  # both now wait in their step
    first_done.set()
    await running
    with pytest.raises(aiohttp.ClientConnectionError):
        await waiting[0]
    # The place came back: the next one waiting got it (a leak would wait for good).
    async with asyncio.timeout(10):
        with pytest.raises(aiohttp.ClientConnectionError):
            await waiting[1]
