"""The bot's object graph, built in one place (ARCHITECTURE.md §2).

`build_bot(config)` opens every resource inside one `AsyncExitStack` and yields a `Bot`
that serves until told to stop, then drains. Leaving the context closes everything in
reverse order, each resource whatever became of the others. main.py, the sandbox and
in-process tests build the bot the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from browser_service import AllowList, BrowserService
from config import HTTP_HOST, BotConfig
from message_processor import (
    AccessPolicy,
    AnswersInFlight,
    AttachmentReader,
    BackendParts,
    ConversationDesk,
    DocumentReader,
    Gatekeeping,
    ImageAllowance,
    ImageReader,
    ImageTools,
    LinkFetcher,
    ListenerBackend,
    MessageProcessor,
    ModelSlots,
    OfferedSource,
    PageReader,
    Preferences,
    ProcessorSettings,
    RateLimiter,
    Retention,
    TextHandler,
    ThreadContext,
    ToolDesk,
    ToolGate,
    build_link_session,
)
from message_processor.files.link_policy import (
    AddressPolicy,
    LinkPolicy,
    interface_addresses,
    is_public_address,
)
from message_processor.retention import DAY_SECONDS
from openai_client import ModelClient, PriceTable, TokenCounter, build_openai
from operations.health import serving_health
from operations.jobs import Job, Jobs
from operations.metrics import Metrics
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
from slack_client.listeners.app import build_app, fetch_identity
from slack_client.listeners.front import Front
from slack_client.listeners.http import HttpFront
from slack_client.listeners.socket import CountingSocketModeHandler
from slack_client.output.notices import SlackNotices
from slack_client.transport.limits import METHOD_LIMITS
from slack_client.transport.web import API_TIMEOUT_SECONDS, counting_calls
from storage import Store, StoreUnusable
from storage.opening import open_store
from thread_manager import LoopMonitor, SharedLeases, ThreadLocks, Watchdog
from untrusted.budget import ByteBudget
from untrusted.pool import WorkerLimits, WorkerPool
from untrusted.readers import UntrustedReaders

logger = logging.getLogger("bot")

T = TypeVar("T")

CLEANUP_INTERVAL_SECONDS = 3600.0
CATALOGUE_REFRESH_SECONDS = 600.0
# After a failed read of a tool source's catalogue, it is read again sooner.
CATALOGUE_RETRY_SECONDS = 30.0
APPROVAL_SWEEP_SECONDS = 60.0
WATCHDOG_SECONDS = 30.0
# Every instance says it is alive this often; one silent for four turns is gone
# (storage's OWNER_TIMEOUT_SECONDS), and a survivor's next recovery reports what it left
# unfinished: within 20 + 10 seconds of its death.
HEARTBEAT_SECONDS = 5.0
RECOVERY_SECONDS = 10.0
# /readyz asks the database for a trivial answer within this.
READY_CHECK_SECONDS = 2.0


class StartupError(Exception):
    """The bot cannot start (Slack unreachable, token refused); one line for the admin."""


@dataclass
class Bot:
    """The built bot: Socket Mode or HTTP in front of the pipeline."""

    identity: BotIdentity
    processor: MessageProcessor
    handler: Front
    store: Store
    drain_seconds: float
    _listening: bool = field(default=True, init=False)

    async def run(self, stop: asyncio.Event, connected: Callable[[], None] = lambda: None) -> None:
        """Serve until `stop` is set, then drain. slack-sdk retries a failing connection
        forever: `stop` ends that too. `connected` runs once Slack has taken us."""
        connecting = asyncio.create_task(self.handler.connect_async())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()
            logger.info("%s as %s; answering", self.handler.taking, self.identity.user_id)
            connected()
        else:
            connecting.cancel()
        await stopping
        await self.drain()

    async def readiness(self) -> str | None:
        """Why the bot does not take messages now (/readyz), or None when it does."""
        if not (self._listening and self.processor.accepting):
            return "draining"
        if not await self.handler.connected():
            return self.handler.unready
        try:
            async with asyncio.timeout(READY_CHECK_SECONDS):
                await self.store.ping()
        except TimeoutError:
            return "the database does not answer"
        except Exception as error:  # noqa: BLE001 - said in one line, whatever it is
            return f"the database cannot be used ({type(error).__name__})"
        return None

    async def drain(self) -> None:
        """Take no more events, let answers finish within the drain bound, cut the rest off."""
        logger.info("shutting down: draining %d answers", self.processor.in_flight)
        await self._stop_listening()
        await self.processor.drain(self.drain_seconds)

    async def close(self) -> None:
        """However the bot ends (a drain, or a failure while it serves): no more events,
        and no answer left running on resources about to close."""
        await self._stop_listening()
        await self.processor.drain(0)

    async def _stop_listening(self) -> None:
        if self._listening:
            self._listening = False
            await self.handler.close_async()


@contextlib.asynccontextmanager
async def build_bot(
    config: BotConfig, *, public: AddressPolicy = is_public_address
) -> AsyncIterator[Bot]:
    """The bot, connected to nothing yet but checked against Slack. `public` says which
    addresses pasted links may reach: the internet (tests stand a loopback address in)."""
    # Read once (getifaddrs), before anything needs closing.
    own_addresses = await asyncio.to_thread(interface_addresses)
    async with contextlib.AsyncExitStack() as stack:
        outside = await _open(
            config, stack, LinkPolicy(own_addresses, config.link_fetch_ports, public)
        )
        # Read beside the checks with Slack, and never left running if they fail.
        counting = asyncio.create_task(TokenCounter.load())
        try:
            identity = await _verify_slack(outside.web, config)
        except BaseException:
            counting.cancel()
            await asyncio.gather(counting, return_exceptions=True)
            raise
        counter = await counting
        await outside.pool.start()
        pipeline = await _pipeline(config, outside, identity, counter)
        stack.push_async_callback(pipeline.tools.close)
        await pipeline.processor.recover_interrupted()
        await pipeline.tools.resume()
        loop_monitor = LoopMonitor()
        service_commands = RateLimiter(
            config.service_commands_per_minute,
            shared=outside.store.coordination,
            name="service commands",
        )
        jobs = Jobs(
            _jobs(config, outside, pipeline, service_commands), outside.store.jobs.record_job_run
        )
        backend = _backend(config, outside, pipeline, loop_monitor, service_commands, jobs)
        app = build_app(outside.web, identity, backend)
        front = _front(config, app, outside.metrics)
        bot = Bot(identity, pipeline.processor, front, outside.store, config.shutdown_drain_seconds)
        stack.push_async_callback(bot.close)
        await stack.enter_async_context(jobs.running())
        await stack.enter_async_context(_monitoring(loop_monitor))
        if config.metrics_port is not None:
            _watch(outside, pipeline, loop_monitor)
        if isinstance(front, HttpFront):
            await _serve_http(stack, config, front, outside.metrics, bot)
        elif config.metrics_port is not None:
            await _serve_health(stack, config, outside.metrics, bot)
        yield bot


def _front(config: BotConfig, app: AsyncApp, metrics: Metrics) -> Front:
    """What takes Slack's deliveries: a Socket Mode connection, or HTTP (SLACK_MODE)."""
    if config.slack_mode == "http":
        return HttpFront(app, config.slack_signing_secret, metrics)
    return CountingSocketModeHandler(app, config.slack_app_token, metrics)


async def _serve_http(
    stack: contextlib.AsyncExitStack,
    config: BotConfig,
    front: HttpFront,
    metrics: Metrics,
    bot: Bot,
) -> None:
    """Slack's requests on PORT, with the health endpoints beside them when METRICS_PORT
    is the same port, or on their own server as in Socket Mode."""
    if config.metrics_port == config.port:
        front.add_health(metrics, bot.readiness)
    elif config.metrics_port is not None:
        await _serve_health(stack, config, metrics, bot)
    try:
        await stack.enter_async_context(front.serving(HTTP_HOST, config.port))
    except OSError as error:
        raise StartupError(
            f"cannot serve PORT {config.port} on {HTTP_HOST} ({_why(error)})"
        ) from None


async def _serve_health(
    stack: contextlib.AsyncExitStack, config: BotConfig, metrics: Metrics, bot: Bot
) -> None:
    host, port = config.metrics_host, config.metrics_port
    assert port is not None
    try:
        await stack.enter_async_context(serving_health(metrics, bot.readiness, host, port))
    except OSError as error:
        raise StartupError(f"cannot serve METRICS_PORT {port} on {host} ({_why(error)})") from None


def _why(error: OSError) -> str:
    # A port in use has an errno; a host name that does not resolve, only a text.
    return os.strerror(error.errno) if error.errno and error.errno > 0 else str(error)


def _jobs(
    config: BotConfig, outside: _Outside, pipeline: _Pipeline, service_commands: RateLimiter
) -> list[Job]:
    """Every background job, with how often it runs (README "Operating it")."""

    async def forget_idle_limits() -> None:
        service_commands.forget_idle()

    async def heartbeat() -> None:
        outside.scheduler.share(await pipeline.leases.renew())

    jobs = [
        Job("heartbeat", HEARTBEAT_SECONDS, heartbeat, at_start=True),
        Job("recovery", RECOVERY_SECONDS, pipeline.processor.recover_interrupted),
        Job("watchdog", WATCHDOG_SECONDS, Watchdog(pipeline.locks).check),
        Job("event ids cleanup", CLEANUP_INTERVAL_SECONDS, pipeline.processor.purge_expired),
        Job("idle limits cleanup", CLEANUP_INTERVAL_SECONDS, forget_idle_limits),
        Job("approval expiry", APPROVAL_SWEEP_SECONDS, pipeline.tools.expire_due),
    ]
    for source in pipeline.tools.sources:
        jobs.append(
            Job(
                f"{source.name} catalogue",
                CATALOGUE_REFRESH_SECONDS,
                functools.partial(pipeline.tools.refresh, source.name),
                at_start=True,
                retry=CATALOGUE_RETRY_SECONDS,
            )
        )
    if config.retention_days:
        retention = Retention(outside.store.threads, config.retention_days)
        jobs.append(Job("retention", DAY_SECONDS, retention.purge, at_start=True))
    return jobs


def _watch(outside: _Outside, pipeline: _Pipeline, loop_monitor: LoopMonitor) -> None:
    """The gauges read at scrape time: queues, work under way, the loop, the readers."""
    metrics, processor, pool = outside.metrics, pipeline.processor, outside.pool
    watch = metrics.watch
    watch(
        "model_slots_waiting", "Answers waiting for a model slot.", lambda: pipeline.slots.waiting
    )
    watch("model_slots_in_use", "Model slots in use.", lambda: pipeline.slots.in_use)
    watch(
        "slack_calls_waiting_channel",
        "Slack calls waiting for a channel's posting budget.",
        lambda: outside.scheduler.waiting()[0],
    )
    watch(
        "slack_calls_waiting_workspace",
        "Slack calls waiting for a method's budget across the workspace.",
        lambda: outside.scheduler.waiting()[1],
    )
    watch(
        "tool_calls_waiting",
        "Calls waiting for a tool source (the browser service, an MCP server).",
        lambda: pipeline.tools.waiting,
    )
    watch("threads_answering", "Threads being answered now.", lambda: processor.answering)
    watch("answers_in_flight", "Messages being handled now.", lambda: processor.in_flight)
    watch(
        "event_loop_lag_seconds",
        "The event loop's worst wait for its turn in the current minute.",
        loop_monitor.worst_lag_last_minute,
    )
    watch("file_readers_busy", "Worker processes reading a file now.", lambda: pool.busy)
    watch("file_reads_waiting", "Files waiting for a worker process.", lambda: pool.waiting)
    metrics.watch_count(
        "file_reader_kills",
        "Worker processes ended past their limits or by a crash.",
        lambda: pool.kills,
    )


@dataclass(frozen=True)
class _Outside:
    """What the bot talks to, opened with it and closed with it."""

    store: Store
    # Slack's Web API and file host: slack-sdk applies its own timeout only to sessions
    # it creates, so this one has it set.
    slack: aiohttp.ClientSession
    scheduler: SlackScheduler
    web: AsyncWebClient
    # Links from messages: no proxy, no cookies, and an address check on every
    # connection; never to the bot's own addresses.
    links: aiohttp.ClientSession
    link_policy: LinkPolicy
    # The browser service's own session: its token goes nowhere else.
    browser: aiohttp.ClientSession
    model: ModelClient
    pool: WorkerPool
    metrics: Metrics


async def _open(
    config: BotConfig, stack: contextlib.AsyncExitStack, link_policy: LinkPolicy
) -> _Outside:
    try:
        store = await open_store(
            config.database_url, config.database_path, pool_size=config.database_pool_size
        )
    except StoreUnusable as error:
        raise StartupError(str(error)) from None
    # The last word once everything is closed, whatever ended the bot.
    stack.callback(logger.info, "stopped")
    stack.push_async_callback(store.close)
    metrics = Metrics(
        models=(*config.allowed_models, config.openai_image_model),
        slack_methods=METHOD_LIMITS,
        tool_sources=("browser", *(server.name for server in config.mcp_servers)),
    )
    slack = await stack.enter_async_context(
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS),
            trace_configs=[counting_calls(metrics, config.slack_api_url)],
        )
    )
    links = await stack.enter_async_context(build_link_session(link_policy))
    browser = await stack.enter_async_context(aiohttp.ClientSession(trust_env=False))
    scheduler = SlackScheduler()
    model = ModelClient(
        build_openai(config.openai_api_key, config.openai_base_url, config.openai_timeout_seconds),
        api_style=config.openai_api_style,
        timeout=config.openai_timeout_seconds,
        image_model=config.openai_image_model,
        metrics=metrics,
    )
    stack.push_async_callback(model.close)
    pool = WorkerPool(
        config.file_readers,
        WorkerLimits(
            cpu_seconds=config.file_read_seconds,
            wall_seconds=config.file_read_seconds * 3,
            memory_bytes=config.file_read_memory_mb * 2**20,
        ),
    )
    stack.push_async_callback(pool.close)
    web = build_web_client(config.slack_bot_token, config.slack_api_url, slack, scheduler)
    return _Outside(store, slack, scheduler, web, links, link_policy, browser, model, pool, metrics)


@dataclass(frozen=True)
class _Pipeline:
    processor: MessageProcessor
    tools: ToolDesk
    locks: ThreadLocks
    leases: SharedLeases
    access: AccessPolicy
    slots: ModelSlots
    preferences: Preferences


async def _pipeline(
    config: BotConfig, outside: _Outside, identity: BotIdentity, counter: TokenCounter
) -> _Pipeline:
    store, web = outside.store, outside.web
    replies = SlackReplies(web, outside.scheduler, native_streaming=True)
    notices = SlackNotices(replies)
    files = SlackFiles(outside.slack, config.slack_bot_token, config.slack_api_url, web)
    readers = UntrustedReaders(outside.pool)
    budget = ByteBudget(config.file_read_budget_mb * 2**20)
    links = LinkFetcher(outside.links, outside.link_policy)
    images = ImageReader(files, links, readers, budget)
    tools = ToolDesk(
        _tool_sources(config, outside.browser),
        replies,
        notices,
        files,
        approvals=store.approvals,
        approval_seconds=config.browser_service_approval_seconds,
        metrics=outside.metrics,
    )
    slots = ModelSlots(config.max_concurrent_requests)
    preferences = await Preferences.load(
        store.settings, Settings(model=config.openai_model), config.allowed_models
    )
    access = AccessPolicy(
        admins=config.admin_users, users=config.allowed_users, channels=config.allowed_channels
    )
    reader = ThreadReader(web, outside.scheduler)
    prices = PriceTable(config.model_prices)
    allowance = ImageAllowance(
        store.usage,
        prices,
        per_day=config.image_generations_per_day,
        model=config.openai_image_model,
    )
    context = ThreadContext(reader, store.threads, identity, images)
    conversations = ConversationDesk(reader, context, access)
    text = TextHandler(
        context,
        AttachmentReader(
            images, DocumentReader(files, readers, budget), PageReader(links, readers, budget)
        ),
        ImageTools(outside.model, files, readers, budget, allowance, slots),
        tools,
        conversations,
        outside.model,
        counter,
        slots,
    )
    leases = SharedLeases(store.coordination)
    locks = ThreadLocks(leases)
    processor = MessageProcessor(
        stores=store,
        replies=replies,
        notices=notices,
        locks=locks,
        text=text,
        conversations=conversations,
        preferences=preferences,
        gate=Gatekeeping(
            access=access,
            limiter=RateLimiter(config.user_messages_per_minute, shared=store.coordination),
            prices=prices,
            answers=AnswersInFlight(config.user_answers_in_flight, leases),
        ),
        settings=ProcessorSettings(
            model_timeout=config.openai_timeout_seconds,
            messages_per_minute=config.user_messages_per_minute,
            answer_deadline=config.answer_deadline_seconds,
        ),
        metrics=outside.metrics,
    )
    return _Pipeline(processor, tools, locks, leases, access, slots, preferences)


def _backend(
    config: BotConfig,
    outside: _Outside,
    pipeline: _Pipeline,
    loop_monitor: LoopMonitor,
    service_commands: RateLimiter,
    jobs: Jobs,
) -> ListenerBackend:
    store = outside.store
    return ListenerBackend(
        BackendParts(
            threads=store.threads,
            usage=store.usage,
            feedback=store.feedback,
            people=store.people,
            processor=pipeline.processor,
            preferences=pipeline.preferences,
            access=pipeline.access,
            model=outside.model,
            slots=pipeline.slots,
            tools=pipeline.tools,
            allowed_models=config.allowed_models,
            offers_web_search=config.openai_api_style == "responses",
            loop_monitor=loop_monitor,
            readers=outside.pool,
            service_commands=service_commands,
            jobs=jobs,
        )
    )


@contextlib.asynccontextmanager
async def _monitoring(loop_monitor: LoopMonitor) -> AsyncIterator[None]:
    """The event loop's lag, measured for as long as the bot is up."""
    task = asyncio.create_task(loop_monitor.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


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


async def _verify_slack(web: AsyncWebClient, config: BotConfig) -> BotIdentity:
    """Who the bot is (auth.test, once), and in Socket Mode whether Slack takes the app
    token (HTTP mode has none to check: Slack comes to it).

    Socket Mode would retry a refused app token forever; this refuses to start instead.
    """
    identity = await _ask_slack("SLACK_BOT_TOKEN", fetch_identity(web))
    if config.slack_mode == "socket":
        await _ask_slack(
            "SLACK_APP_TOKEN", web.apps_connections_open(app_token=config.slack_app_token)
        )
    return identity


def _tool_sources(config: BotConfig, session: aiohttp.ClientSession) -> list[OfferedSource]:
    """The browser service and the MCP servers, each with who may use it where."""
    sources = []
    if config.browser_service_url is not None:
        service = BrowserService(
            session,
            config.browser_service_url,
            token=config.browser_service_token,
            timeout=config.browser_service_timeout_seconds,
            concurrency=config.browser_service_concurrency,
            allow=AllowList.parse(config.browser_service_actions),
        )
        gate = ToolGate(config.browser_service_users, config.browser_service_channels)
        sources.append(OfferedSource(service, gate))
    if config.mcp_servers:
        # Imported only when there are servers: the SDK is a third of the bot's imports.
        from tool_sources.mcp import McpServer
    for server in config.mcp_servers:
        mcp = McpServer(
            server.name,
            server.url,
            token=server.token,
            allow=server.tools,
            timeout=server.timeout_seconds,
        )
        gate = ToolGate(server.users, server.channels, how=f"MCP_SERVERS ({server.name})")
        sources.append(OfferedSource(mcp, gate))
    return sources
