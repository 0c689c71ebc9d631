"""What the Slack surface (slash command, modals, App Home, assistant panel) asks of the bot.

The listeners (slack_client/listeners/) never import message_processor: bot.py hands
them an object with these methods (ARCHITECTURE.md §2), and the reports below are what comes
back, ready to be rendered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from settings import Overrides, ScopeRef, Settings
from slack_client.handover import IncomingMessage


class SettingsRefused(Exception):
    """The person may not change settings in that scope; the message says why."""


class SettingsInvalid(Exception):
    """What a settings form submitted is not valid: one line per field, by field name."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class SettingsChange:
    """A scope's overrides before and after a save."""

    before: Overrides
    after: Overrides


@dataclass(frozen=True)
class SettingsForm:
    """What the settings modal of one scope starts from."""

    scope: ScopeRef
    stored: Overrides
    # The effective settings without this scope's own overrides: what "Default" means.
    inherited: Settings
    allowed_models: tuple[str, ...]
    # The provider's web search exists only in the Responses API.
    offers_web_search: bool = True


@dataclass(frozen=True)
class UsageLine:
    """One model's usage of one kind, as `/ai usage` shows it."""

    model: str
    count: int
    # What `count` counts: "answers", "images drawn" or "images edited".
    counts: str
    input_tokens: int
    output_tokens: int
    # None when no answer of this model had a known price.
    cost: float | None


@dataclass(frozen=True)
class UsageReport:
    this_month: list[UsageLine]
    last_30_days: list[UsageLine]
    # Shown to admins only: everyone's usage and the feedback on answers (last 30 days).
    everyone_30_days: list[UsageLine] | None = None
    feedback_30_days: dict[str, int] | None = None


@dataclass(frozen=True)
class LoopLag:
    """How late the event loop ran code (seconds): the worst lag, and what counts as a
    stall (those are logged with what was running)."""

    worst_last_hour: float
    threshold: float


@dataclass(frozen=True)
class ReaderLoad:
    """The worker processes that read attached files."""

    workers: int
    busy: int
    waiting: int
    killed: int


@dataclass(frozen=True)
class JobState:
    """A background job, as `/ai status` shows it."""

    name: str
    # Seconds between its runs.
    every: float
    # Seconds since its latest run began, and how that run ended ("ok", or "failed: "
    # and why); None before its first run.
    ago: float | None
    outcome: str | None


@dataclass(frozen=True)
class StatusReport:
    uptime_seconds: float
    answering: int
    queued: int
    # None when the model API answers; else a word on why not.
    model_api_problem: str | None
    # Each source of outside tools (the browser service, MCP servers) and its state.
    tool_sources: tuple[tuple[str, str], ...]
    event_loop: LoopLag
    file_readers: ReaderLoad
    jobs: tuple[JobState, ...]


class Gate(Protocol):
    """Who may use the bot, and how often."""

    def allows(self, user: str, channel: str | None) -> bool:
        """Whether `user` may use the bot in `channel` (None: at all)."""

    def is_admin(self, user: str) -> bool: ...

    async def throttled(self, user: str) -> str | None:
        """None when `user` may run a subcommand or shortcut that calls the model or another
        service now (it is counted); else one line saying when to try again."""


class Conversations(Protocol):
    """Messages to answer, answers to stop, conversations to summarise or start over."""

    async def submit(self, message: IncomingMessage) -> None: ...

    async def stop_answer(self, user: str, channel: str, thread_ts: str) -> None:
        """Slack's stop button on the answer in that thread."""

    async def summarize(
        self, user: str, channel: str, thread_ts: str | None, since: float | None
    ) -> str:
        """A summary of the thread (or of the channel since `since`, or its latest
        messages) written in the person's DM; returns what to tell them now."""

    async def reset_conversation(self, user: str, channel: str) -> None: ...


class SettingsDesk(Protocol):
    """The settings of a person, a channel or a thread."""

    allowed_models: tuple[str, ...]

    async def settings_form(
        self, user: str, scope: ScopeRef, thread_starter: str | None = None
    ) -> SettingsForm:
        """Raises SettingsRefused when `user` may not see `scope`'s settings: a thread's
        are for whoever started it (`thread_starter`, as Slack said), people answered in
        it, and admins."""

    async def save_settings(
        self,
        user: str,
        scope: ScopeRef,
        submitted: Mapping[str, str | None],
        thread_starter: str | None = None,
    ) -> SettingsChange:
        """Checks what the form submitted (SettingsInvalid) and who submits it
        (SettingsRefused: `user` may not change `scope`), then saves it."""

    async def effective_settings(self, user: str) -> Settings: ...


class Reports(Protocol):
    """What the bot tells about itself, and what people tell it about its answers."""

    async def usage(self, user: str) -> UsageReport: ...

    async def status(self) -> StatusReport: ...

    async def record_feedback(
        self, user: str, channel: str, message_ts: str, value: str
    ) -> None: ...


class AssistantThreads(Protocol):
    """Threads of Slack's AI surfaces, and who meets the bot there first."""

    async def is_new_thread(self, channel: str, thread_ts: str) -> bool: ...

    async def first_visit(self, user: str) -> bool:
        """True the first time `user` meets the bot (to be greeted), then False."""

    async def add_assistant_thread(self, channel: str, thread_ts: str) -> None:
        """A thread opened in Slack's assistant panel (other DM threads look the same)."""

    async def is_assistant_thread(self, channel: str, thread_ts: str) -> bool: ...


class ToolActions(Protocol):
    """The model's outside tools, from `/ai browser`, `/ai tools` and approval buttons."""

    async def browser(
        self,
        user: str,
        channel: str,
        text: str,
        notify: Callable[[str], Awaitable[None]],
        external: bool,
    ) -> str:
        """`/ai browser …`: the list of actions, or what running one gave; `notify`
        tells the person meanwhile (a queue position). `external`: the person is of
        another organisation."""

    async def tools(self, user: str, channel: str, external: bool) -> str:
        """`/ai tools`: the tools the person may have the model use here, by source."""

    async def decide_tool_call(self, user: str, approval_id: str, approve: bool) -> str | None:
        """Approve or Cancel clicked; a private note for the clicker, if any."""


class Backend(Gate, Conversations, SettingsDesk, Reports, AssistantThreads, ToolActions, Protocol):
    """Everything the listeners ask of the bot: what `build_app` is handed. Each listener
    module takes only the parts it uses."""


class PanelBackend(Gate, Conversations, AssistantThreads, Protocol):
    """What the assistant panel and the agent experience ask of the bot."""
