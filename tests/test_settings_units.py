"""Unit tests: settings validation and precedence, prices, access and the rate limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import EXAMPLE_VALUES, ConfigError, load_config
from message_processor.admission.access import AccessPolicy, RateLimiter
from message_processor.listener_backend import may_tune_thread
from message_processor.preferences import Preferences
from openai_client import Price, PriceTable, Usage, parse_prices
from settings import Scope, ScopeRef, Settings, accepted_fields, drop_unaccepted, resolve, validate
from slack_client.render.views import settings_modal, submitted_values
from storage.sqlite import SQLiteStore

MODELS = ("gpt-4.1-mini", "gpt-5.4-mini", "o3")
BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "sk-1"}


def test_later_scopes_win_and_channel_and_thread_instructions_stay_apart() -> None:
    defaults = Settings(model="gpt-5.4-mini")
    effective = resolve(
        defaults,
        [
            (Scope.CHANNEL, {"model": "gpt-4.1-mini", "instructions": "Answer in French."}),
            (Scope.USER, {"model": "o3", "temperature": 0.2, "instructions": "Be brief."}),
            (
                Scope.THREAD,
                {"model": "gpt-4.1-mini", "web_search": True, "instructions": "Cite sources."},
            ),
        ],
    )
    assert effective.model == "gpt-4.1-mini"
    assert effective.temperature == 0.2
    assert effective.web_search is True
    assert effective.channel_instructions == "Answer in French."
    # A thread's instructions add to the person's own; they do not replace them.
    assert effective.instructions == "Be brief."
    assert effective.thread_instructions == "Cite sources."


def test_stored_values_of_the_wrong_type_are_skipped() -> None:
    effective = resolve(
        Settings(model="m"),
        [(Scope.USER, {"temperature": "hot", "streaming": "yes", "nonsense": 1, "model": 3})],
    )
    assert effective == Settings(model="m")


@pytest.mark.parametrize(
    ("raw", "field", "problem"),
    [
        ({"temperature": "hot"}, "temperature", "0 to 2"),
        ({"temperature": "2.5"}, "temperature", "0 to 2"),
        ({"temperature": "nan"}, "temperature", "0 to 2"),
        ({"top_p": "1.01"}, "top_p", "0 to 1"),
        ({"model": "gpt-9-ultra"}, "model", "models offered"),
        ({"instructions": "x" * 3001}, "instructions", "3,000"),
        ({"web_search": "maybe"}, "web_search", "on or off"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort", "low, medium, high"),
        ({"owner": "U1"}, "owner", "not a setting"),
    ],
)
def test_invalid_values_are_named_with_the_reason(
    raw: dict[str, str], field: str, problem: str
) -> None:
    result = validate(raw, MODELS)
    assert problem in result.errors[field]
    assert field not in result.overrides


def test_valid_values_become_typed_overrides_and_default_means_inherit() -> None:
    result = validate(
        {
            "model": "o3",
            "temperature": " 0.7 ",
            "streaming": "off",
            "instructions": "",
            "image_size": "default",
        },
        MODELS,
    )
    assert result.errors == {}
    assert result.overrides == {"model": "o3", "temperature": 0.7, "streaming": False}


def test_a_model_takes_only_the_fields_it_accepts() -> None:
    assert accepted_fields("gpt-4.1-mini") == {"temperature", "top_p"}
    assert accepted_fields("gpt-5.4-mini") == {"reasoning_effort", "verbosity"}
    assert accepted_fields("o3") == {"reasoning_effort"}
    stored = drop_unaccepted({"model": "o3", "temperature": 1.0, "verbosity": "low"}, "o3")
    assert stored == {"model": "o3"}


def test_the_modal_round_trips_what_was_entered() -> None:
    from slack_client.backend import SettingsForm

    form = SettingsForm(ScopeRef.user("U1"), {}, Settings(model="gpt-5.4-mini"), MODELS)
    view = settings_modal(form, {"model": "gpt-4.1-mini", "temperature": "0.3"}, "{}")
    state: dict[str, dict[str, object]] = {"values": {}}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        entry = {"type": element["type"]}
        if "initial_option" in element:
            entry["selected_option"] = element["initial_option"]
        else:
            entry["value"] = element.get("initial_value")
        state["values"][block["block_id"]] = {element["action_id"]: entry}
    values = submitted_values(state)
    assert values["model"] == "gpt-4.1-mini"
    assert values["temperature"] == "0.3"
    assert values["streaming"] == "default"
    assert "reasoning_effort" not in values


def test_prices_match_dated_snapshots_and_can_be_overridden() -> None:
    table = PriceTable(parse_prices("my-model=1/2, gpt-4.1=3/4"))
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000)
    assert table.cost("my-model", usage) == pytest.approx(2.0)
    assert table.price("gpt-4.1-2025-04-14") == Price(3, 4)
    assert table.price("gpt-4.1-mini-2025-04-14") == Price(0.40, 1.60)
    assert table.cost("unknown-model", usage) is None
    with pytest.raises(ValueError):
        parse_prices("gpt-4.1=cheap")


def test_the_placeholders_are_those_env_example_ships() -> None:
    """What the bot recognises as "never filled in" is exactly what .env.example sets."""
    example = Path(__file__).resolve().parent.parent / ".env.example"
    lines = example.read_text(encoding="utf-8").splitlines()
    assigned = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert assigned == EXAMPLE_VALUES


def test_configuration_of_access_and_costs() -> None:
    config = load_config(
        {**BASE, "ADMIN_USERS": "U1,U2", "ALLOWED_MODELS": "o3", "USER_MESSAGES_PER_MINUTE": "0"}
    )
    assert config.admin_users == {"U1", "U2"}
    assert config.allowed_models == ("gpt-5.4-mini", "o3")
    assert config.user_messages_per_minute == 0
    for name, value in [
        ("ALLOWED_USERS", "alice"),
        ("MODEL_PRICES", "x=1"),
        ("USER_MESSAGES_PER_MINUTE", "-1"),
    ]:
        with pytest.raises(ConfigError, match=name):
            load_config({**BASE, name: value})


def test_allowlists_cover_users_and_channels_but_not_dms() -> None:
    policy = AccessPolicy(admins=frozenset({"UADMIN"}), users=frozenset({"U1"}))
    assert policy.allows("U1", "C1") and policy.allows("UADMIN", "C1")
    assert not policy.allows("U2", "D2")
    channels = AccessPolicy(channels=frozenset({"C1"}))
    assert channels.allows("U9", "C1") and channels.allows("U9", "D9")
    assert not channels.allows("U9", "C2")


def test_the_rate_limit_is_a_sliding_minute_per_person() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.wait_needed("U1") == 0 and limiter.wait_needed("U1") == 0
    assert limiter.wait_needed("U1") == pytest.approx(60)
    assert limiter.wait_needed("U2") == 0
    now[0] += 30
    assert limiter.wait_needed("U1") == pytest.approx(30)
    now[0] += 30.5
    assert limiter.wait_needed("U1") == 0
    assert RateLimiter(0).wait_needed("U1") == 0


async def test_saved_settings_survive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "bot.db")
    db = await SQLiteStore.open(path)
    store = await Preferences.load(db.settings, Settings(model="gpt-5.4-mini"), MODELS)
    await store.save(ScopeRef.channel("C1"), {"instructions": "Be formal."}, by="UADMIN")
    await store.save(ScopeRef.user("U1"), {"model": "o3", "temperature": 0.5}, by="U1")
    await db.close()

    db = await SQLiteStore.open(path)
    store = await Preferences.load(db.settings, Settings(model="gpt-5.4-mini"), MODELS)
    effective = store.effective("U1", "C1", "1.000001")
    # o3 takes no temperature, so it was not kept.
    assert (effective.model, effective.temperature) == ("o3", None)
    assert effective.channel_instructions == "Be formal."
    # A model the admin has taken off the list is no longer used.
    store = await Preferences.load(db.settings, Settings(model="gpt-5.4-mini"), ("gpt-5.4-mini",))
    assert store.effective("U1", "C1").model == "gpt-5.4-mini"
    await db.close()


async def test_a_threads_settings_are_for_its_starter_those_answered_in_it_and_admins() -> None:
    db = await SQLiteStore.open(":memory:")
    access = AccessPolicy(admins=frozenset({"UADMIN"}))
    thread = ScopeRef.thread("C1", "100.000001")
    await db.threads.add_message("C1", "100.000001", "100.000002", "user", "UASKED", "question")
    await db.threads.add_message("C1", "100.000001", "100.000002", "assistant", None, "answer")
    await db.threads.add_message("C1", "200.000001", "200.000001", "user", "UELSEWHERE", "question")
    try:
        for user, starter in [("UASKED", None), ("USTARTER", "USTARTER"), ("UADMIN", None)]:
            assert await may_tune_thread(db.threads, access, user, thread, starter), user
        for user in ("USTRANGER", "UELSEWHERE"):
            assert not await may_tune_thread(db.threads, access, user, thread, "USTARTER"), user
    finally:
        await db.close()
