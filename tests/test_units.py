"""Unit tests: formatting, splitting, trimming, configuration, locks, storage."""

from __future__ import annotations

import asyncio
import logging

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest

from config import ConfigError, load_config
from openai_client import ChatTurn, GenerationSettings, TokenCounter, sampling_parameters
from openai_client.client import fidelity_options
from openai_client.tokens import context_window, trim_to_budget
from slack_client.listeners.event_registry import EventListeners
from slack_client.render.mrkdwn import markdown_to_mrkdwn, split_message
from storage.sqlite.coordination import SingleInstance
from thread_manager import SharedLeases, ThreadKey, ThreadLocks, Watchdog

# --- Markdown to mrkdwn ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and __also__", "*bold* and *also*"),
        ("*italic* text", "_italic_ text"),
        ("~~gone~~", "~gone~"),
        ("[docs](https://example.com/a?b=1)", "<https://example.com/a?b=1|docs>"),
        ("## Heading", "*Heading*"),
        ("- one\n* two", "• one\n• two"),
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
        ("`x **not bold** <y>`", "`x **not bold** &lt;y&gt;`"),
        ("```python\nif a < b:\n    **x**\n```", "```\nif a &lt; b:\n    **x**\n```"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("snake_case_name", "snake_case_name"),
    ],
)
def test_markdown_becomes_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert markdown_to_mrkdwn(markdown) == mrkdwn


def test_tables_become_monospaced_blocks() -> None:
    table = "| a | b |\n|---|---|\n| 1 | 2 |"
    assert markdown_to_mrkdwn(table) == "```\n| a | b |\n| 1 | 2 |\n```"


# --- Splitting ------------------------------------------------------------------------


def test_short_text_is_one_part() -> None:
    assert split_message("hello") == ["hello"]
    assert split_message("") == []


def test_split_closes_and_reopens_code_fences() -> None:
    code = "\n".join(f"    line {i} = {i} * 2" for i in range(600))
    text = f"Intro paragraph.\n```\n{code}\n```\nOutro."
    parts = split_message(text, limit=1_000)
    assert len(parts) > 10
    assert all(len(p) <= 1_000 for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts)
    rejoined = "\n".join(p.removesuffix("\n```").removeprefix("```\n") for p in parts[1:-1])
    assert "line 300 = 300 * 2" in rejoined


def test_split_cuts_overlong_lines() -> None:
    parts = split_message("x" * 10_000, limit=1_000)
    assert "".join(parts) == "x" * 10_000
    assert all(len(p) <= 1_000 for p in parts)


# --- Token budget trimming ------------------------------------------------------------


def turns(*texts: str) -> list[ChatTurn]:
    return [ChatTurn("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(texts)]


def test_everything_fits_when_under_budget() -> None:
    result = trim_to_budget(TokenCounter(), "system", turns("a", "b", "c"), budget=1_000)
    assert [t.text for t in result.turns] == ["a", "b", "c"]
    assert result.dropped == 0 and not result.near_budget


def test_oldest_turns_are_dropped_first() -> None:
    counter = TokenCounter()
    history = turns(*(f"message {i} " + "word " * 50 for i in range(20)))
    result = trim_to_budget(counter, "system prompt", history, budget=400)
    assert result.dropped > 0 and result.near_budget
    assert result.turns[-1] == history[-1]
    assert result.turns == history[-len(result.turns) :]
    assert result.tokens <= 400


def test_an_oversized_newest_message_keeps_its_end() -> None:
    question = "context " * 5_000 + "THE ACTUAL QUESTION?"
    result = trim_to_budget(TokenCounter(), "system", turns("old", "older", question), 300)
    assert len(result.turns) == 1
    assert result.turns[0].text.endswith("THE ACTUAL QUESTION?")
    assert TokenCounter().count(result.turns[0].text) <= 300


def test_counting_never_fails_and_unknown_models_get_a_default_window() -> None:
    assert TokenCounter().count("") >= 0
    assert TokenCounter().count("x" * 35) == 11
    assert context_window("my-local-llama") == 32_000
    assert context_window("gpt-4.1-mini") == 1_047_576


# --- Model parameters -----------------------------------------------------------------


def test_reasoning_models_get_no_sampling_parameters() -> None:
    for model in ("gpt-5", "gpt-5.4-mini", "gpt-6.1-sol", "o3", "o4-mini"):
        params = sampling_parameters(
            GenerationSettings(model=model, temperature=0.2, top_p=0.9, reasoning_effort="low")
        )
        assert "temperature" not in params and "top_p" not in params
        assert params["reasoning_effort"] == "low"
    for model in ("gpt-4.1", "gpt-5.3-chat-latest"):
        params = sampling_parameters(GenerationSettings(model=model, temperature=0.2))
        assert params == {"temperature": 0.2}


@pytest.mark.parametrize(
    ("model", "preserve", "prompt_starts", "options"),
    [
        ("gpt-image-1.5", True, "make it blue", {"input_fidelity": "high"}),
        ("gpt-image-1.5", False, "make it blue", {"input_fidelity": "low"}),
        ("gpt-image-1-mini", False, "make it blue", {"input_fidelity": "low"}),
        ("gpt-image-1-mini", True, "Keep everything", {}),
        ("gpt-image-2.5-sunburst", True, "Keep everything", {}),
        ("gpt-image-2.5-sunburst", False, "Feel free to reinterpret", {}),
        ("gpt-image-2.5-sunburst", None, "make it blue", {}),
    ],
)
def test_fidelity_is_a_parameter_where_the_model_has_one_else_words(
    model: str, preserve: bool | None, prompt_starts: str, options: dict[str, str]
) -> None:
    prompt, sent = fidelity_options(model, "make it blue", preserve)
    assert prompt.startswith(prompt_starts) and prompt.endswith("make it blue")
    assert sent == options


# --- Configuration --------------------------------------------------------------------

GOOD = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "sk-1"}


def test_defaults_follow_the_design() -> None:
    config = load_config(GOOD)
    assert config.openai_timeout_seconds == 305
    assert config.max_concurrent_requests == 100
    assert config.slack_api_url == "https://slack.com/api/"
    assert config.openai_api_style == "responses"
    assert config.database_path == "data/bot.db"
    assert "xoxb-1" not in repr(config) and "sk-1" not in repr(config)


def test_gov_slack_url_is_normalised() -> None:
    config = load_config({**GOOD, "SLACK_API_URL": "https://slack-gov.com/api"})
    assert config.slack_api_url == "https://slack-gov.com/api/"


@pytest.mark.parametrize("name", ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "OPENAI_API_KEY"])
def test_missing_secret_is_named(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({k: v for k, v in GOOD.items() if k != name})


# --- Thread locks ---------------------------------------------------------------------


async def test_a_busy_thread_is_refused_and_idle_locks_disappear() -> None:
    locks = ThreadLocks(SharedLeases(SingleInstance()))
    key = ThreadKey("C1", "1.0")
    async with locks.try_hold(key, "first") as first:
        assert first
        async with locks.try_hold(key, "second") as second:
            assert not second
        async with locks.try_hold(ThreadKey("C1", "2.0"), "other thread") as other:
            assert other
    assert len(locks) == 0
    with pytest.raises(RuntimeError):
        async with locks.try_hold(key, "failing") as held:
            assert held
            raise RuntimeError("boom")
    assert not locks.is_busy(key)


async def test_a_follow_up_waits_briefly_for_a_thread_about_to_be_free() -> None:
    locks = ThreadLocks(SharedLeases(SingleInstance()))
    key = ThreadKey("C1", "1.0")
    first_done = asyncio.Event()

    async def first() -> None:
        async with locks.try_hold(key, "first") as held:
            assert held
            await first_done.wait()

    holder = asyncio.create_task(first())
    await asyncio.sleep(0)
    assert locks.is_busy(key)
    async with locks.try_hold(key, "impatient", grace=0.0) as held:
        assert not held
    asyncio.get_running_loop().call_soon(first_done.set)
    async with locks.try_hold(key, "patient", grace=10.0) as held:
        assert held
    await holder


class _Spotted(logging.Handler):
    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.seen.set()


async def test_the_watchdog_reports_long_answers_and_changes_nothing() -> None:
    locks = ThreadLocks(SharedLeases(SingleInstance()))
    key = ThreadKey("C9", "9.0")
    spotted = _Spotted("a slow answer")
    logging.getLogger("thread_manager").addHandler(spotted)
    try:
        async with locks.try_hold(key, "a slow answer") as held:
            assert held
            await Watchdog(locks, threshold=0.0).check()
            assert spotted.seen.is_set()
            assert locks.is_busy(key)
    finally:
        logging.getLogger("thread_manager").removeHandler(spotted)
    assert not locks.is_busy(key)


# --- Event listeners --------------------------------------------------------------------


async def test_catch_all_leaves_handled_event_types_to_their_listeners() -> None:
    """Registered first, the catch-all still acknowledges only what no listener takes;
    Bolt would otherwise run it, the first match, for every event."""

    async def authorize(**_: object) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_user_id="U0", bot_token="x")

    app = AsyncApp(authorize=authorize, request_verification_enabled=False)
    events = EventListeners(app)
    events.catch_all()
    opened = asyncio.Event()

    @events.on("app_home_opened")
    async def on_home_opened() -> None:
        opened.set()

    def delivered(event_type: str) -> AsyncBoltRequest:
        body = {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": f"Ev{event_type}",
            "event": {"type": event_type, "user": "U1"},
        }
        return AsyncBoltRequest(body=body, mode="socket_mode")

    ignored = await app.async_dispatch(delivered("pin_added"))
    assert ignored.status == 200
    handled = await app.async_dispatch(delivered("app_home_opened"))
    assert handled.status == 200
    await asyncio.wait_for(opened.wait(), timeout=5)
