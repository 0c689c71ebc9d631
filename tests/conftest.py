"""Fixtures: fake Slack and fake OpenAI on loopback, and the real bot as a child process."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.manifest import load_manifest
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import BotProcess, bot_environment
from tests.fakes.scripted_model import scripted_model
from tests.inproc import InProcessBot, bot_in_process
from tests.loopback import clear_proxies
from tests.postgres import Server, find_server

clear_proxies()

_ids = itertools.count(1)


@pytest.fixture
def new_id() -> Callable[[str], str]:
    """Unique Slack ids ("C0007", "D0008", "U0009") so tests never share a thread."""
    return lambda prefix: f"{prefix}{next(_ids):04d}"


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.install(load_manifest())
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def model() -> AsyncIterator[FakeOpenAI]:
    fake = scripted_model()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bot")


def make_bot(slack: FakeSlack, model: FakeOpenAI, workdir: Path, **overrides: str) -> BotProcess:
    env = bot_environment(
        slack_api_url=slack.api_url,
        openai_base_url=model.base_url,
        database_path=workdir / "bot.db",
        **overrides,
    )
    return BotProcess(env, cwd=workdir)


async def start_bot(slack: FakeSlack, bot: BotProcess) -> None:
    connections = slack.connection_count
    await bot.start()
    try:
        await slack.wait_connected(connections + 1, timeout=30)
    except AssertionError:
        await bot.kill()
        raise AssertionError(f"bot did not connect; its output:\n{bot.log}") from None


@contextlib.asynccontextmanager
async def running_bot(
    slack: FakeSlack, model: FakeOpenAI, workdir: Path, **overrides: str
) -> AsyncIterator[BotProcess]:
    """The bot connected to the fakes; on leaving, it must stop cleanly (no tracebacks)."""
    process = make_bot(slack, model, workdir, **overrides)
    await start_bot(slack, process)
    try:
        yield process
    except BaseException:
        await process.kill()  # a failing test does not leave its bot running
        raise
    code = await process.stop()
    assert code == 0, process.log
    assert "Traceback" not in process.log, process.log


@pytest.fixture(scope="module")
async def bot(slack: FakeSlack, model: FakeOpenAI, bot_dir: Path) -> AsyncIterator[InProcessBot]:
    """The bot as users run it (in the tests' process), with a short model timeout so
    hung calls end quickly."""
    async with bot_in_process(slack, model, bot_dir) as running:
        yield running


@pytest.fixture(scope="session")
async def postgres_server() -> AsyncIterator[Server]:
    """The PostgreSQL the tests use (see tests/postgres.py). Without one, its tests fail
    when CI is set and are skipped otherwise: never passed without having run."""
    server, why = await find_server()
    if server is None:
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    yield server
    await server.stop()


@pytest.fixture
async def postgres_url(postgres_server: Server) -> AsyncIterator[str]:
    """The URL of a new, empty database of this test's own, dropped after it."""
    async with postgres_server.database() as url:
        yield url
