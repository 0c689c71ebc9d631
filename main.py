"""Entry point: read the configuration, build the bot, serve Slack (Socket Mode, or HTTP
with SLACK_MODE=http), shut down cleanly.

`python main.py` runs the bot. Configuration comes from the environment and `.env`
(the README lists the variables). A bad configuration exits with status 2 and one line naming
the problem. SIGINT (Ctrl-C) and SIGTERM end it with status 0 and no traceback at any
moment: during start-up they abandon it, once it runs they drain in-flight answers.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType


class _Interrupts:
    """SIGINT and SIGTERM from the very first line: never a traceback, always status 0.

    Until the event loop takes them (`deliver_to`) they end the process at once: the
    modules below take a second or more to load, and Python's default would print a
    KeyboardInterrupt traceback and exit 130. Once the loop is done they are ignored,
    the process being on its way out.
    """

    def __init__(self) -> None:
        self._deliver: Callable[[], object] | None = None
        self._finished = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self._finished:
            return
        if self._deliver is None:
            raise SystemExit(0)
        self._deliver()

    def deliver_to(self, deliver: Callable[[], object]) -> None:
        self._deliver = deliver

    def finish(self) -> None:
        self._finished = True


_INTERRUPTS = _Interrupts()
for _signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(_signum, _INTERRUPTS)

if __name__ == "__main__" and sys.argv[1:2] == ["admin"]:
    # A short command, not the service: Ctrl-C interrupts it as any command's is (exit
    # status 130, not 0), and SIGTERM ends it at once. Dispatched before the bot's modules
    # load: it needs none of them.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from admin.cli import run as run_admin

    sys.exit(run_admin(sys.argv[2:]))

import asyncio
import gc
import logging
import os
from collections.abc import Awaitable
from typing import Any

from dotenv import find_dotenv, load_dotenv
from yarl import URL

from bot import StartupError, build_bot
from config import BotConfig, ConfigError, load_config
from message_processor.files.link_policy import AddressPolicy, is_public_address
from operations.logs import configure_logging

logger = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_STARTUP = 1
# Objects allocated between young collections (CPython default: 700).
GC_YOUNG_THRESHOLD = 20_000


class Shutdown:
    """What a signal does to the bot: during start-up it abandons the start (the task
    doing it is cancelled, and cleans up); once the bot serves, it starts the drain."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self._starting: asyncio.Task[Any] | None = None

    def starting(self, task: asyncio.Task[Any]) -> None:
        self._starting = task

    def serving(self) -> None:
        self._starting = None

    def request(self) -> None:
        self.requested.set()
        if self._starting is not None:
            # Once: a second Ctrl-C must not cut short the clean-up of the first.
            self._starting.cancel()
            self._starting = None


def run_until_stopped(main: Callable[[Shutdown], Awaitable[int]]) -> int:
    """`main` in an event loop that SIGINT and SIGTERM end quietly, whenever they come."""
    with asyncio.Runner() as runner:
        shutdown = Shutdown()
        loop = runner.get_loop()
        _INTERRUPTS.deliver_to(lambda: loop.call_soon_threadsafe(shutdown.request))
        try:
            return runner.run(_stoppable(main, shutdown))
        finally:
            _INTERRUPTS.finish()


async def _stoppable(main: Callable[[Shutdown], Awaitable[int]], shutdown: Shutdown) -> int:
    task = asyncio.current_task()
    assert task is not None
    if shutdown.requested.is_set():
        return 0  # the signal came before the loop got here
    shutdown.starting(task)
    try:
        return await main(shutdown)
    except asyncio.CancelledError:
        if not shutdown.requested.is_set():
            raise
        task.uncancel()
        logger.info("stopped during start-up")
        return 0


async def run(
    config: BotConfig, shutdown: Shutdown, public: AddressPolicy = is_public_address
) -> int:
    """The bot until a signal. `public` says which addresses pasted links may reach: the
    internet (tests stand a loopback address in for it)."""
    async with build_bot(config, public=public) as bot:
        # From here a signal drains.
        shutdown.serving()
        await bot.run(shutdown.requested, connected=_serving)
    return 0


def _serving() -> None:
    _settle_garbage_collector()
    _tell_process_manager_ready()


def _tell_process_manager_ready() -> None:
    """PM2 starts an app with a Node.js IPC channel on NODE_CHANNEL_FD and, with
    `wait_ready: true` (ecosystem.config.js), counts it online, and lets `pm2 reload`
    go on to the next instance, once the app sends the message "ready": here, once
    Slack has taken the bot's connection (in HTTP mode, once it serves). Node's default
    IPC is JSON, one message a line.
    """
    fd = os.environ.get("NODE_CHANNEL_FD", "")
    if not fd.isdigit() or os.environ.get("NODE_CHANNEL_SERIALIZATION_MODE", "json") != "json":
        return
    try:
        os.write(int(fd), b'"ready"\n')
    except OSError as error:
        logger.warning("could not tell the process manager the bot is ready (%s)", error.strerror)


def _settle_garbage_collector() -> None:
    """Keep the cyclic collector off the objects that live as long as the process.

    Under a burst, each full collection walked every module, SDK model and Bolt listener
    again; freezing what start-up built and collecting less often took a third off the
    CPU of an answer (bench/burst.py). Answers make little cyclic garbage.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


USAGE = """usage: python main.py [sandbox [--port PORT] [--browser-service URL]
                                  [--mcp-servers MCP_SERVERS] | admin ...]

python main.py           runs the Slack assistant bot over Socket Mode (or, with
                         SLACK_MODE=http, Slack's HTTP requests on PORT), configured from
                         the environment and a .env file in the current directory (see
                         README.md for the variables).
python main.py sandbox   runs the same bot against an embedded Slack-compatible workspace
                         with a web page at http://127.0.0.1:PORT/ (default 8765), on
                         loopback only; no Slack token is needed, and with no
                         OPENAI_API_KEY an offline demo model answers. It uses a
                         browser service only when given one with --browser-service,
                         and MCP servers only with --mcp-servers (BROWSER_SERVICE_URL
                         and MCP_SERVERS are ignored there).
python main.py admin     an operator's commands over the bot's database (stats, usage,
                         backup, purge, settings) and its configuration (doctor); it
                         works while the bot runs. `python main.py admin --help` lists
                         them."""
SANDBOX_PORT = 8765


def main(argv: list[str]) -> int:
    if argv[:1] == ["sandbox"]:
        return _sandbox(argv[1:])
    if argv:
        print(USAGE, file=sys.stderr if argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv[0] in ("-h", "--help") else EXIT_CONFIG
    load_dotenv(find_dotenv(usecwd=True))
    try:
        config = load_config(os.environ)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    _keep_bot_token_from_bolt()
    return _run(config)


def _keep_bot_token_from_bolt() -> None:
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and, as the bot hands
    it a client instead, warns at every start that the token goes unused. The
    configuration has what it needs by now (the sandbox never uses it)."""
    os.environ.pop("SLACK_BOT_TOKEN", None)


def _run(config: BotConfig) -> int:
    configure_logging(config.log_level, config.log_format, config.secrets)
    try:
        return run_until_stopped(lambda shutdown: run(config, shutdown))
    except StartupError as error:
        print(f"startup error: {error}", file=sys.stderr)
        return EXIT_STARTUP


def _sandbox(argv: list[str]) -> int:
    """The bot as in production (same wiring, Socket Mode, locks, storage, Slack's budgets),
    connected to the sandbox's workspace instead of Slack."""
    options = dict(zip(argv[::2], argv[1::2], strict=False))
    port = options.get("--port", str(SANDBOX_PORT))
    known = set(options) <= {"--port", "--browser-service", "--mcp-servers"}
    if len(argv) != 2 * len(options) or not known or not port.isdigit():
        print(USAGE, file=sys.stderr)
        return EXIT_CONFIG
    # Imported here: the sandbox's servers are no part of a production start.
    from sandbox.launch import PortTaken

    load_dotenv(find_dotenv(usecwd=True))
    _keep_bot_token_from_bolt()
    try:
        return run_until_stopped(
            lambda shutdown: _run_sandbox(
                int(port), options.get("--browser-service"), options.get("--mcp-servers"), shutdown
            )
        )
    except PortTaken as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as error:
        print(f"startup error: {error}", file=sys.stderr)
        return EXIT_STARTUP


async def _run_sandbox(
    port: int, browser_service: str | None, mcp_servers: str | None, shutdown: Shutdown
) -> int:
    from sandbox.launch import choose_model, running_sandbox

    model = choose_model(os.environ)
    async with running_sandbox(port, model=model) as sandbox:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_APP_TOKEN": sandbox.app_token,
            "SLACK_API_URL": sandbox.slack_api_url,
            # The sandbox's workspace delivers over Socket Mode, whatever .env says.
            "SLACK_MODE": "socket",
            "DATABASE_PATH": os.environ.get("SANDBOX_DATABASE_PATH", "data/sandbox.db"),
        }
        # A BROWSER_SERVICE_URL in .env may be a real logged-in browser: trying the bot
        # must not act there unless the person names it for the sandbox.
        configured = env.pop("BROWSER_SERVICE_URL", None)
        if browser_service is not None:
            env["BROWSER_SERVICE_URL"] = browser_service
            # Named for the sandbox, it is for its one person, wherever they ask.
            for name in ("BROWSER_SERVICE_USERS", "BROWSER_SERVICE_CHANNELS"):
                env[name] = env.get(name, "").strip() or "*"
        if browser_service != configured:  # the token is the configured service's alone
            env.pop("BROWSER_SERVICE_TOKEN", None)
        # The same for MCP servers: .env's may act on real accounts.
        configured = env.pop("MCP_SERVERS", None)
        if mcp_servers is not None:
            env["MCP_SERVERS"] = mcp_servers
            for name in ("MCP_USERS", "MCP_CHANNELS"):
                env[name] = env.get(name, "").strip() or "*"
        if mcp_servers != configured:  # the tokens are the configured servers' alone
            for name in [name for name in env if name.startswith("MCP_TOKEN_")]:
                del env[name]
        if sandbox.demo_model_url is not None and sandbox.demo_model_key is not None:
            env.update(
                OPENAI_API_KEY=sandbox.demo_model_key, OPENAI_BASE_URL=sandbox.demo_model_url
            )
        config = load_config(env)
        configure_logging(config.log_level, config.log_format, config.secrets)
        print(
            f"Sandbox: open {sandbox.page_url} (listening on 127.0.0.1 only). Ctrl-C stops it.\n"
            f"Browser service: {_sandbox_browser_service(config)}\n"
            f"MCP servers: {_sandbox_mcp_servers(config)}",
            flush=True,
        )
        if model.label is None:
            print(f"Sandbox: the offline demo model answers: {model.why}.", flush=True)
        return await run(config, shutdown)


def _sandbox_browser_service(config: BotConfig) -> str:
    """Which browser service the sandbox's bot uses, for its start text."""
    if config.browser_service_url is None:
        return "none (add --browser-service URL to use one)"
    # Its origin only: a URL may carry credentials.
    return f"{URL(config.browser_service_url).origin()} (from --browser-service)"


def _sandbox_mcp_servers(config: BotConfig) -> str:
    """Which MCP servers the sandbox's bot uses, for its start text."""
    if not config.mcp_servers:
        return "none (add --mcp-servers name=URL,… to use some)"
    # Each origin only: a URL may carry a key in its query.
    shown = ", ".join(f"{s.name} at {URL(s.url).origin()}" for s in config.mcp_servers)
    return f"{shown} (from --mcp-servers)"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
