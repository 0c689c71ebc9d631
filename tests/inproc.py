"""The bot built in the test's own process and event loop, by the same builder as main.py.

For tests of the pipeline where the process itself (its start, signals, exit status) is
not what is tested: no interpreter to start per module, and what the bot logs is kept
as a child process's output would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

from bot import Bot, build_bot
from config import load_config
from message_processor.files.link_policy import AddressPolicy, is_public_address
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import bot_environment

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class BotLog(logging.Handler):
    """Every record at INFO and above, formatted as main.py formats them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter(LOG_FORMAT))
        self.output: list[str] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.output.extend(self.format(record).splitlines())
        self._changed.set()

    async def wait_for(self, needle: str, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not any(needle in line for line in self.output):
                self._changed.clear()
                await self._changed.wait()


class InProcessBot:
    """A running bot and what it logged."""

    def __init__(self, bot: Bot, log: BotLog) -> None:
        self.bot = bot
        self._log = log

    @property
    def output(self) -> list[str]:
        return self._log.output

    @property
    def log(self) -> str:
        return "\n".join(self._log.output)

    async def wait_for_output(self, needle: str, timeout: float = 10) -> None:
        try:
            await self._log.wait_for(needle, timeout)
        except TimeoutError:
            raise AssertionError(f"the bot never logged {needle!r}:\n{self.log}") from None


@contextlib.contextmanager
def _logged(handler: BotLog) -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(handler)


def bot_in_process(
    slack: FakeSlack, model: FakeOpenAI, workdir: Path, **overrides: str
) -> contextlib.AbstractAsyncContextManager[InProcessBot]:
    """The bot connected to the fakes, configured by `overrides` of the environment."""
    return bot_reaching(slack, model, workdir, is_public_address, overrides)


@contextlib.asynccontextmanager
async def bot_reaching(
    slack: FakeSlack,
    model: FakeOpenAI,
    workdir: Path,
    public: AddressPolicy,
    overrides: Mapping[str, str],
) -> AsyncIterator[InProcessBot]:
    """The bot connected to the fakes (in HTTP mode, serving them), with `public` saying
    which addresses pasted links may reach (tests stand a loopback address in for the
    internet). On leaving, it drains and closes as at a SIGTERM, whatever it raised is
    raised here, and it must have logged no traceback."""
    env = bot_environment(
        slack_api_url=slack.api_url,
        openai_base_url=model.base_url,
        database_path=workdir / "bot.db",
        **overrides,
    )
    config = load_config(env)
    log = BotLog()
    stop = asyncio.Event()
    connections = slack.connection_count
    with _logged(log):
        async with build_bot(config, public=public) as bot:
            serving = asyncio.create_task(bot.run(stop))
            running = InProcessBot(bot, log)
            try:
                if config.slack_mode == "http":
                    # Slack comes to the bot, which takes it once it serves.
                    await running.wait_for_output("serving Slack's requests", timeout=30)
                else:
                    await slack.wait_connected(connections + 1, timeout=30)
                yield running
            finally:
                stop.set()
                await serving
    assert "Traceback" not in running.log, running.log
