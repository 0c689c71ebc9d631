"""Entry point: read the configuration, build the bot, run Socket Mode, shut down cleanly.

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

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from dotenv import find_dotenv, load_dotenv
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from browser_service import AllowList, BrowserService
from config import BotConfig, ConfigError, load_config
from message_processor import (
    AccessPolicy,
    AnswersInFlight,
    AttachmentReader,
    BotSurface,
    BrowserDesk,
    BrowserGate,
    ConversationDesk,
    DocumentReader,
    Gatekeeping,
    ImageAllowance,
    ImageReader,
    ImageTools,
    LinkFetcher,
    MessageProcessor,
    ModelSlots,
    Preferences,
    ProcessorSettings,
    RateLimiter,
    Retention,
    SurfaceParts,
    TextHandler,
    ThreadContext,
    build_link_session,
)
from message_processor.link_policy import (
    AddressPolicy,
    LinkPolicy,
    interface_addresses,
    is_public_address,
)
from openai_client import ModelClient, PriceTable, TokenCounter, build_openai
from settings import Settings
from slack_client import (
    BotIdentity,
    SlackFiles,
    SlackReplies,
    SlackScheduler,
    ThreadReader,
    build_web_client,
    slack_error,
)
from slack_client.app import build_app, fetch_identity
from slack_client.web import API_TIMEOUT_SECONDS
from storage import StoreUnusable
from storage.sqlite import SQLiteStore
from thread_manager import LoopMonitor, ThreadLocks, Watchdog
from untrusted.budget import ByteBudget
from untrusted.pool import WorkerLimits, WorkerPool
from untrusted.readers import UntrustedReaders

logger = logging.getLogger("bot")

T = TypeVar("T")

EXIT_CONFIG = 2
EXIT_STARTUP = 1
CLEANUP_INTERVAL_SECONDS = 3600.0
CATALOGUE_REFRESH_SECONDS = 600.0
# Objects allocated between young collections (CPython default: 700).
GC_YOUNG_THRESHOLD = 20_000


class StartupError(Exception):
    """The bot cannot start (Slack unreachable, token refused); one line for the admin."""


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


async def _every(interval: float, job: Callable[[], Awaitable[object]]) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except Exception:
            logger.exception("background job failed")


async def _ask_slack(token_name: str, call: Awaitable[T]) -> T:
    """One start-up call to Slack; any failure becomes one line for the admin."""
    try:
        return await call
    except SlackApiError as error:
        raise StartupError(f"Slack refused {token_name} ({slack_error(error)})") from None
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as error:
        raise StartupError(
            f"cannot reach Slack at SLACK_API_URL ({type(error).__name__})"
        ) from None


async def _verify_slack(web: AsyncWebClient, app_token: str) -> BotIdentity:
    """Who the bot is (auth.test, once), and whether Slack takes the app token.

    Socket Mode would retry a refused app token forever; this refuses to start instead.
    """
    identity = await _ask_slack("SLACK_BOT_TOKEN", fetch_identity(web))
    await _ask_slack("SLACK_APP_TOKEN", web.apps_connections_open(app_token=app_token))
    return identity


async def run(
    config: BotConfig, shutdown: Shutdown, public: AddressPolicy = is_public_address
) -> int:
    """The bot until a signal. `public` says which addresses pasted links may reach: the
    internet (tests stand a loopback address in for it)."""
    # Read once (getifaddrs), before anything needs closing.
    own_addresses = await asyncio.to_thread(interface_addresses)
    try:
        store = await SQLiteStore.open(config.database_path)
    except StoreUnusable as error:
        raise StartupError(str(error)) from None
    # slack-sdk applies its own timeout only to sessions it creates: set it here.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS))
    # Links from messages get a session of their own: no proxy, no cookies, and an
    # address check on every connection; never to the bot's own addresses.
    link_policy = LinkPolicy(
        own_addresses=own_addresses,
        ports=config.link_fetch_ports,
        public=public,
    )
    links = build_link_session(link_policy)
    # The browser service's own session: its token goes nowhere else.
    browser_session = aiohttp.ClientSession(trust_env=False)
    scheduler = SlackScheduler()
    web = build_web_client(config.slack_bot_token, config.slack_api_url, session, scheduler)
    model = ModelClient(
        build_openai(config.openai_api_key, config.openai_base_url, config.openai_timeout_seconds),
        api_style=config.openai_api_style,
        timeout=config.openai_timeout_seconds,
        image_model=config.openai_image_model,
    )
    background: list[asyncio.Task[None]] = []
    browser: BrowserDesk | None = None
    pool = WorkerPool(
        config.file_readers,
        WorkerLimits(
            cpu_seconds=config.file_read_seconds,
            wall_seconds=config.file_read_seconds * 3,
            memory_bytes=config.file_read_memory_mb * 2**20,
        ),
    )
    try:
        identity, counter = await asyncio.gather(
            _verify_slack(web, config.slack_app_token), TokenCounter.load()
        )
        locks = ThreadLocks()
        replies = SlackReplies(web, scheduler, native_streaming=True)
        files = SlackFiles(session, config.slack_bot_token, config.slack_api_url, web)
        await pool.start()
        readers = UntrustedReaders(pool)
        budget = ByteBudget(config.file_read_budget_mb * 2**20)
        images = ImageReader(files, LinkFetcher(links, link_policy), readers, budget)
        browser = BrowserDesk(
            _browser_service(config, browser_session),
            replies,
            files,
            gate=BrowserGate(config.browser_service_users, config.browser_service_channels),
            approvals=store.approvals,
            approval_seconds=config.browser_service_approval_seconds,
        )
        slots = ModelSlots(config.max_concurrent_requests)
        preferences = await Preferences.load(
            store.settings, Settings(model=config.openai_model), config.allowed_models
        )
        access = AccessPolicy(
            admins=config.admin_users,
            users=config.allowed_users,
            channels=config.allowed_channels,
        )
        reader = ThreadReader(web, scheduler)
        prices = PriceTable(config.model_prices)
        allowance = ImageAllowance(
            store.usage,
            prices,
            per_day=config.image_generations_per_day,
            model=config.openai_image_model,
        )
        context = ThreadContext(reader, store.threads, identity, images)
        conversations = ConversationDesk(reader, context, access)
        processor = MessageProcessor(
            stores=store,
            replies=replies,
            locks=locks,
            text=TextHandler(
                context,
                AttachmentReader(images, DocumentReader(files, store.threads, readers, budget)),
                ImageTools(model, files, store.threads, readers, budget, allowance, slots),
                browser,
                conversations,
                model,
                counter,
                slots,
            ),
            conversations=conversations,
            preferences=preferences,
            gate=Gatekeeping(
                access=access,
                limiter=RateLimiter(config.user_messages_per_minute),
                prices=prices,
                answers=AnswersInFlight(config.user_answers_in_flight),
            ),
            settings=ProcessorSettings(
                model_timeout=config.openai_timeout_seconds,
                messages_per_minute=config.user_messages_per_minute,
                answer_deadline=config.answer_deadline_seconds,
            ),
        )
        await processor.recover_interrupted()
        await browser.resume()
        loop_monitor = LoopMonitor()
        surface = BotSurface(
            SurfaceParts(
                threads=store.threads,
                usage=store.usage,
                feedback=store.feedback,
                people=store.people,
                processor=processor,
                preferences=preferences,
                access=access,
                model=model,
                slots=slots,
                browser=browser,
                allowed_models=config.allowed_models,
                offers_web_search=config.openai_api_style == "responses",
                loop_monitor=loop_monitor,
                readers=pool,
                service_commands=RateLimiter(config.service_commands_per_minute),
            )
        )
        handler = AsyncSocketModeHandler(build_app(web, identity, surface), config.slack_app_token)
        background = [
            asyncio.create_task(Watchdog(locks).run()),
            asyncio.create_task(loop_monitor.run()),
            asyncio.create_task(_every(CLEANUP_INTERVAL_SECONDS, processor.purge_expired)),
            asyncio.create_task(_every(CLEANUP_INTERVAL_SECONDS, surface.forget_idle)),
            asyncio.create_task(browser.keep_catalogue(CATALOGUE_REFRESH_SECONDS)),
        ]
        if config.retention_days:
            background.append(
                asyncio.create_task(Retention(store.threads, config.retention_days).run())
            )
        # From here a signal drains. slack-sdk retries a failing connection forever; a
        # signal must still end that.
        shutdown.serving()
        connecting = asyncio.create_task(handler.connect_async())  # type: ignore[no-untyped-call]
        stopping = asyncio.create_task(shutdown.requested.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()
            logger.info("connected to Slack as %s; answering", identity.user_id)
            _settle_garbage_collector()
        else:
            connecting.cancel()
        await stopping
        logger.info("shutting down: draining %d answers", processor.in_flight)
        await handler.close_async()  # type: ignore[no-untyped-call]
        await processor.drain(config.shutdown_drain_seconds)
        return 0
    finally:
        for task in background:
            task.cancel()
        if browser is not None:
            await browser.close()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await model.close()
        await pool.close()
        await store.close()
        await session.close()
        await links.close()
        await browser_session.close()
        logger.info("stopped")


def _browser_service(config: BotConfig, session: aiohttp.ClientSession) -> BrowserService | None:
    if config.browser_service_url is None:
        return None
    return BrowserService(
        session,
        config.browser_service_url,
        token=config.browser_service_token,
        timeout=config.browser_service_timeout_seconds,
        concurrency=config.browser_service_concurrency,
        allow=AllowList.parse(config.browser_service_actions),
    )


def _settle_garbage_collector() -> None:
    """Keep the cyclic collector off the objects that live as long as the process.

    Under a burst, each full collection walked every module, SDK model and Bolt listener
    again; freezing what start-up built and collecting less often took a third off the
    CPU of an answer (bench/burst.py). Answers make little cyclic garbage.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


USAGE = """usage: python main.py [sandbox [--port PORT] [--browser-service URL]]

python main.py           runs the Slack assistant bot over Socket Mode, configured from
                         the environment and a .env file in the current directory (see
                         README.md for the variables).
python main.py sandbox   runs the same bot against an embedded Slack-compatible workspace
                         with a web page at http://127.0.0.1:PORT/ (default 8765), on
                         loopback only; no Slack token is needed, and with no
                         OPENAI_API_KEY an offline demo model answers. It uses a
                         browser service only when given one with --browser-service
                         (BROWSER_SERVICE_URL is ignored there)."""
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
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
    known = set(options) <= {"--port", "--browser-service"}
    if len(argv) != 2 * len(options) or not known or not port.isdigit():
        print(USAGE, file=sys.stderr)
        return EXIT_CONFIG
    # Imported here: the sandbox's servers are no part of a production start.
    from sandbox.launch import PortTaken

    load_dotenv(find_dotenv(usecwd=True))
    _keep_bot_token_from_bolt()
    try:
        return run_until_stopped(
            lambda shutdown: _run_sandbox(int(port), options.get("--browser-service"), shutdown)
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


async def _run_sandbox(port: int, browser_service: str | None, shutdown: Shutdown) -> int:
    from sandbox.launch import choose_model, running_sandbox

    model = choose_model(os.environ)
    async with running_sandbox(port, model=model) as sandbox:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_APP_TOKEN": sandbox.app_token,
            "SLACK_API_URL": sandbox.slack_api_url,
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
        if sandbox.demo_model_url is not None and sandbox.demo_model_key is not None:
            env.update(
                OPENAI_API_KEY=sandbox.demo_model_key, OPENAI_BASE_URL=sandbox.demo_model_url
            )
        config = load_config(env)
        logging.basicConfig(
            level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        print(
            f"Sandbox: open {sandbox.page_url} (listening on 127.0.0.1 only). Ctrl-C stops it.\n"
            f"Browser service: {_sandbox_browser_service(config)}",
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
