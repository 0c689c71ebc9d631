"""What the slash command, modals, App Home and assistant panel ask of the bot.

Implements the protocols of slack_client's `Backend`: bot.py hands this object to the
listeners (`build_app`). The rules live here, on the server: who may change which
settings, what usage an admin sees. The listeners only render.
"""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from message_processor.admission.access import AccessPolicy, RateLimiter, commands_throttled
from message_processor.admission.slots import ModelSlots
from message_processor.conversation.summaries import ConversationRef
from message_processor.preferences import Preferences
from message_processor.processor import MessageProcessor
from message_processor.tools.desk import ToolDesk
from openai_client import ModelClient
from operations.jobs import Jobs
from settings import Scope, ScopeRef, Settings, validate
from slack_client import IncomingMessage
from slack_client.backend import (
    JobState,
    LoopLag,
    ReaderLoad,
    SettingsChange,
    SettingsForm,
    SettingsInvalid,
    SettingsRefused,
    StatusReport,
    UsageLine,
    UsageReport,
)
from slack_client.render.views import NEGATIVE, POSITIVE
from storage import FeedbackStore, ModelUsage, PeopleStore, ThreadStore, UsageKind, UsageStore
from thread_manager import LoopMonitor
from untrusted.pool import WorkerPool

logger = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600
SUMMARY_ON_ITS_WAY = "On it: the summary is on its way to our DM."
THREAD_SETTINGS_REFUSED = (
    "Only the person who started this thread, people I've answered in it and admins of "
    "this bot can see or change its settings."
)


@dataclass(frozen=True)
class BackendParts:
    threads: ThreadStore
    usage: UsageStore
    feedback: FeedbackStore
    people: PeopleStore
    processor: MessageProcessor
    preferences: Preferences
    access: AccessPolicy
    model: ModelClient
    slots: ModelSlots
    tools: ToolDesk
    allowed_models: tuple[str, ...]
    offers_web_search: bool
    loop_monitor: LoopMonitor
    readers: WorkerPool
    # `/ai` subcommands and shortcuts that call the model or another service
    # (SERVICE_COMMANDS_PER_MINUTE).
    service_commands: RateLimiter
    jobs: Jobs


class ListenerBackend:
    def __init__(self, parts: BackendParts) -> None:
        self._parts = parts
        self._started = time.monotonic()
        self.allowed_models = parts.allowed_models

    def allows(self, user: str, channel: str | None) -> bool:
        return self._parts.access.allows(user, channel)

    def is_admin(self, user: str) -> bool:
        return self._parts.access.is_admin(user)

    async def throttled(self, user: str) -> str | None:
        """None, counting one service command or shortcut for `user`; else when to try again."""
        limiter = self._parts.service_commands
        wait = await limiter.spend(user)
        if wait <= 0:
            return None
        logger.info("service commands throttled user=%s for %.0fs", user, wait)
        return commands_throttled(limiter.per_minute, wait)

    async def submit(self, message: IncomingMessage) -> None:
        await self._parts.processor.submit(message)

    async def settings_form(
        self, user: str, scope: ScopeRef, thread_starter: str | None = None
    ) -> SettingsForm:
        if scope.kind is Scope.THREAD:
            await self._check_thread_member(user, scope, thread_starter)
        preferences = self._parts.preferences
        await preferences.refresh()
        return SettingsForm(
            scope=scope,
            stored=preferences.stored(scope),
            inherited=preferences.inherited(user, scope),
            allowed_models=self._parts.allowed_models,
            offers_web_search=self._parts.offers_web_search,
        )

    async def save_settings(
        self,
        user: str,
        scope: ScopeRef,
        submitted: Mapping[str, str | None],
        thread_starter: str | None = None,
    ) -> SettingsChange:
        if not self.allows(user, None):
            raise SettingsRefused("I'm not set up to answer you.")
        if scope.kind is Scope.CHANNEL and not self.is_admin(user):
            raise SettingsRefused("Only admins of this bot can change a channel's settings.")
        if scope.kind is Scope.USER and scope.key != user:
            raise SettingsRefused("You can only change your own settings.")
        if scope.channel_id is not None and not self.allows(user, scope.channel_id):
            raise SettingsRefused("I'm not set up to answer you in that channel.")
        if scope.kind is Scope.THREAD:
            # Again at saving: the modal's opening proves nothing about who submits it.
            await self._check_thread_member(user, scope, thread_starter)
        # Checked once the person may change them: someone refused learns nothing of
        # what the form offers.
        checked = validate(submitted, self.allowed_models)
        if checked.errors:
            raise SettingsInvalid(checked.errors)
        await self._parts.preferences.refresh()
        before = self._parts.preferences.stored(scope)
        await self._parts.preferences.save(scope, checked.overrides, by=user)
        return SettingsChange(before, checked.overrides)

    async def _check_thread_member(
        self, user: str, scope: ScopeRef, thread_starter: str | None
    ) -> None:
        parts = self._parts
        if not await may_tune_thread(parts.threads, parts.access, user, scope, thread_starter):
            raise SettingsRefused(THREAD_SETTINGS_REFUSED)

    async def effective_settings(self, user: str) -> Settings:
        await self._parts.preferences.refresh()
        return self._parts.preferences.effective(user)

    async def usage(self, user: str) -> UsageReport:
        usage, feedback = self._parts.usage, self._parts.feedback
        now = time.time()
        month = _month_start(now)
        recent = now - 30 * DAY_SECONDS
        admin = self.is_admin(user)
        return UsageReport(
            this_month=_lines(await usage.usage_by_model(user, month)),
            last_30_days=_lines(await usage.usage_by_model(user, recent)),
            everyone_30_days=_lines(await usage.usage_by_model(None, recent)) if admin else None,
            feedback_30_days=await feedback.feedback_counts(recent) if admin else None,
        )

    async def reset_conversation(self, user: str, channel: str) -> None:
        await self._parts.threads.reset_conversation(channel, user, f"{time.time():.6f}")

    async def status(self) -> StatusReport:
        monitor, pool = self._parts.loop_monitor, self._parts.readers
        return StatusReport(
            uptime_seconds=time.monotonic() - self._started,
            answering=self._parts.processor.answering,
            queued=self._parts.slots.waiting,
            model_api_problem=await self._parts.model.check(),
            tool_sources=tuple(await self._parts.tools.status_lines()),
            event_loop=LoopLag(monitor.worst_lag_last_hour(), monitor.threshold),
            file_readers=ReaderLoad(pool.size, pool.busy, pool.waiting, pool.kills),
            jobs=tuple(
                JobState(
                    job.name,
                    job.every,
                    None if run is None else time.time() - run.started_at,
                    None if run is None else run.outcome,
                )
                for job, run in self._parts.jobs.declared()
            ),
        )

    async def record_feedback(self, user: str, channel: str, message_ts: str, value: str) -> None:
        if value in (POSITIVE, NEGATIVE):
            await self._parts.feedback.record_feedback(channel, message_ts, user, value)

    async def is_new_thread(self, channel: str, thread_ts: str) -> bool:
        return not await self._parts.threads.has_joined_thread(channel, thread_ts)

    async def first_visit(self, user: str) -> bool:
        return await self._parts.people.first_contact(user)

    async def stop_answer(self, user: str, channel: str, thread_ts: str) -> None:
        await self._parts.processor.stop(user, channel, thread_ts)

    async def summarize(
        self, user: str, channel: str, thread_ts: str | None, since: float | None
    ) -> str:
        ref = ConversationRef(channel, thread_ts, since)
        refusal = await self._parts.processor.summarize(user, ref)
        return refusal or SUMMARY_ON_ITS_WAY

    async def add_assistant_thread(self, channel: str, thread_ts: str) -> None:
        await self._parts.threads.add_assistant_thread(channel, thread_ts)

    async def is_assistant_thread(self, channel: str, thread_ts: str) -> bool:
        return await self._parts.threads.is_assistant_thread(channel, thread_ts)

    async def browser(
        self,
        user: str,
        channel: str,
        text: str,
        notify: Callable[[str], Awaitable[None]],
        external: bool,
    ) -> str:
        return await self._parts.tools.command(user, channel, text, notify, external)

    async def tools(self, user: str, channel: str, external: bool) -> str:
        return await self._parts.tools.listing(user, channel, external)

    async def decide_tool_call(self, user: str, approval_id: str, approve: bool) -> str | None:
        return await self._parts.tools.decide(user, approval_id, approve)


async def may_tune_thread(
    threads: ThreadStore, access: AccessPolicy, user: str, thread: ScopeRef, starter: str | None
) -> bool:
    """Whether `user` may see and change a thread's settings. They steer every answer in
    it, and its instructions may be private to the people in it: they are for those
    people and admins. "In it" means having started it (`starter`, as Slack said) or
    having been answered there by the bot; being in the channel is not enough."""
    if access.is_admin(user) or user == starter:
        return True
    if thread.channel_id is None or thread.thread_ts is None:
        return False
    return await threads.answered_in_thread(thread.channel_id, thread.thread_ts, user)


# What a usage row's count counts, as `/ai usage` says it.
_COUNTS = {
    UsageKind.ANSWER: "answers",
    UsageKind.IMAGE_GENERATION: "images drawn",
    UsageKind.IMAGE_EDIT: "images edited",
}


def _lines(rows: list[ModelUsage]) -> list[UsageLine]:
    return [
        UsageLine(r.model, r.answers, _COUNTS[r.kind], r.input_tokens, r.output_tokens, r.cost)
        for r in rows
    ]


def _month_start(now: float) -> float:
    """Midnight UTC on the first of the current month."""
    moment = time.gmtime(now)
    return float(calendar.timegm((moment.tm_year, moment.tm_mon, 1, 0, 0, 0)))
