"""DATABASE_URL picks the store: PostgreSQL when set, SQLite at DATABASE_PATH when not;
its password is a secret like the tokens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from config import BotConfig, config_problems, load_config
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from storage.opening import open_store
from storage.postgres import PostgresStore
from storage.sqlite import SQLiteStore
from tests.conftest import running_bot
from tests.seen import wait_for_text

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "sk-1"}


def test_unset_it_is_sqlite_at_database_path() -> None:
    config = load_config({**BASE, "DATABASE_PATH": "/var/bot.db"})
    assert config.database_url is None
    assert config.database_path == "/var/bot.db"


def test_a_postgresql_url_is_taken_and_its_password_is_a_secret() -> None:
    for url in ("postgresql://bot:s%40cret@db:5432/bot", "postgres://bot:s%40cret@db/bot"):
        config = load_config({**BASE, "DATABASE_URL": url})
        assert config.database_url == url
        assert {"s%40cret", "s@cret"} <= set(config.secrets)
        assert "s%40cret" not in repr(config)
    assert load_config({**BASE, "DATABASE_URL": "postgresql://db/bot"}).secrets == (
        load_config(BASE).secrets
    )


def test_another_kind_of_url_is_a_problem_naming_the_variable_only() -> None:
    for url in ("mysql://bot:hunter2@db/bot", "db:5432/bot", "postgresql://db:port/bot"):
        problems = config_problems({**BASE, "DATABASE_URL": url})
        assert problems == ["DATABASE_URL must be a URL starting with postgresql:// or postgres://"]
        assert "hunter2" not in problems[0]


async def test_the_store_opened_is_the_one_configured(tmp_path: Path) -> None:
    config: BotConfig = load_config({**BASE, "DATABASE_PATH": str(tmp_path / "bot.db")})
    store = await open_store(config.database_url, config.database_path)
    try:
        assert isinstance(store, SQLiteStore)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_with_a_database_url_the_store_is_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    config = load_config(
        {**BASE, "DATABASE_URL": postgres_url, "DATABASE_PATH": str(tmp_path / "bot.db")}
    )
    store = await open_store(config.database_url, config.database_path)
    try:
        assert isinstance(store, PostgresStore)
        await store.ping()
        await store.coordination.heartbeat()
    finally:
        await store.close()
    assert not (tmp_path / "bot.db").exists()


@pytest.mark.postgres
async def test_the_bot_on_postgresql_answers_and_keeps_the_thread_there(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path: Path,
    postgres_url: str,
    new_id: Callable[[str], str],
) -> None:
    user, dm = new_id("U"), new_id("D")
    async with running_bot(slack, model, tmp_path, DATABASE_URL=postgres_url):
        ts = await slack.post_user_message(dm, user, "kept in postgres")
        await wait_for_text(slack, dm, ts, "kept in postgres")
    assert not (tmp_path / "bot.db").exists()
    store = await PostgresStore.open(postgres_url)
    try:
        stored = (await store.threads.load_thread(dm, ts)).messages
    finally:
        await store.close()
    assert [(m.role, m.user_id) for m in stored] == [("user", user), ("assistant", None)]
    assert stored[0].text.endswith("kept in postgres")
