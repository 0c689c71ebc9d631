"""Unit tests: the settings for cost and fairness, image prices, and the daily image
allowance (counted per person per UTC day, also across answers running at once)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from config import ConfigError, load_config
from database import IMAGE_EDIT, IMAGE_GENERATION, Database
from message_processor.handlers.allowance import ImageAllowance, OverDailyLimit
from openai_client import PriceTable
from slack_client import IncomingMessage

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


async def test_images_are_counted_per_person_per_utc_day(tmp_path: Path) -> None:
    db = await Database.open(str(tmp_path / "bot.db"))
    now = MIDNIGHT + 22.5 * 3600
    allowance = ImageAllowance(
        db, PriceTable({}), per_day=2, model="gpt-image-1.5", clock=lambda: now
    )
    try:
        async with contextlib.AsyncExitStack() as running:
            # Two answers drawing at once take the day's two images between them.
            await running.enter_async_context(allowance.one("UADA"))
            await running.enter_async_context(allowance.one("UADA"))
            with pytest.raises(OverDailyLimit, match=r"the 2 images a day .* in 1 h 30 min"):
                await running.enter_async_context(allowance.one("UADA"))
            await allowance.record(_message("UADA"), IMAGE_GENERATION, "1024x1024")
            await allowance.record(_message("UADA"), IMAGE_EDIT, None)
        with pytest.raises(OverDailyLimit):
            async with allowance.one("UADA"):
                pass
        # Someone else has their own images.
        async with allowance.one("UBEN"):
            pass
        # The next UTC day starts afresh.
        now = MIDNIGHT + DAY
        async with allowance.one("UADA"):
            pass
        usage = await db.usage_by_model("UADA", 0)
        assert [(u.kind, u.answers, u.cost) for u in usage] == [
            (IMAGE_GENERATION, 1, 0.133),
            (IMAGE_EDIT, 1, 0.20),
        ]
    finally:
        await db.close()
