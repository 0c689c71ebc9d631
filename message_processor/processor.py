"""From an incoming message to a reply in its thread.

`submit` returns at once: the work runs in a tracked task, so the Slack ack path is
never held up. Each task: dedupe → is it for us → thread lock (or a busy reply) →
status message → handler → final text, persisted. Failures become one user-facing
line here, in `_answer`, and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Protocol

from message_processor.admission.access import (
    TURNED_AWAY_REACTION,
    AccessPolicy,
    RateLimiter,
    rate_limited,
)
from message_processor.admission.inflight import AnswersInFlight
from message_processor.admission.slots import THINKING
from message_processor.answer import Spent, TextHandler
from message_processor.conversation.summaries import CannotRead, ConversationDesk, ConversationRef
from message_processor.failures import (
    BUSY,
    INTERRUPTED_BY_CRASH,
    INTERRUPTED_BY_SHUTDOWN,
    NEAR_BUDGET,
    NOT_RECORDED,
    SHUTTING_DOWN,
    STOPPED,
    attachment_notice,
    deadline_passed,
    describe_failure,
)
from message_processor.memory import ThreadMemory
from message_processor.preferences import Preferences
from openai_client import ModelConnectionError, ModelError, ModelTimeoutError, PriceTable
from operations.logs import set_log_context
from operations.metrics import Metrics, Outcome
from settings import Settings
from slack_client import (
    IncomingMessage,
    ReplyStream,
    SlackRefused,
    SlackReplies,
    SlackUnreachable,
    is_dm_channel,
    loggable,
)
from slack_client.output.notices import SlackNotices
from slack_client.output.stream import MessageShows
from slack_client.render.views import NOT_ALLOWED
from storage import (
    Claim,
    EventStore,
    InflightReply,
    InflightStore,
    PeopleStore,
    ThreadStore,
    UsageStore,
)
from thread_manager import ThreadKey, ThreadLocks

logger = logging.getLogger(__name__)

# Slack redelivers an unacked event for a few minutes; a day of ids is ample.
EVENT_ID_RETENTION_SECONDS = 24 * 3600
RECENT_KEYS_IN_MEMORY = 10_000
CUT_OFF_GRACE_SECONDS = 5.0
# A follow-up that arrives as the previous answer is being wrapped up waits this long
# for the thread instead of being told it is busy.
BUSY_GRACE_SECONDS = 1.5


@dataclass(frozen=True)
class ProcessorSettings:
    model_timeout: float
    messages_per_minute: int
    # The most one answer may take once it has started (ANSWER_DEADLINE_SECONDS).
    answer_deadline: float


@dataclass
class _Answering:
    """An answer being written in a thread, which the person can stop."""

    task: asyncio.Task[None]
    user: str
    stopped: bool = False
    # Ended by ANSWER_DEADLINE_SECONDS, the same way a stop ends it.
    out_of_time: bool = False
    # Being wrapped up (accounted, finished, stored): too late to stop.
    closing: bool = False


class PipelineStores(Protocol):
    """The records an answer keeps: claims, threads, people, usage, replies in flight."""

    @property
    def events(self) -> EventStore: ...

    @property
    def threads(self) -> ThreadStore: ...

    @property
    def people(self) -> PeopleStore: ...

    @property
    def usage(self) -> UsageStore: ...

    @property
    def inflight(self) -> InflightStore: ...


@dataclass(frozen=True)
class Gatekeeping:
    """Who is answered, how often, how many at once, and what an answer costs."""

    access: AccessPolicy
    limiter: RateLimiter
    prices: PriceTable
    answers: AnswersInFlight


class MessageProcessor:
    def __init__(
        self,
        *,
        stores: PipelineStores,
        replies: SlackReplies,
        notices: SlackNotices,
        locks: ThreadLocks,
        text: TextHandler,
        conversations: ConversationDesk,
        preferences: Preferences,
        gate: Gatekeeping,
        settings: ProcessorSettings,
        metrics: Metrics,
    ) -> None:
        self._stores = stores
        self._conversations = conversations
        self._replies = replies
        self._notices = notices
        self._locks = locks
        self._text = text
        self._preferences = preferences
        self._gate = gate
        self._settings = settings
        self._metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()
        self._recent: OrderedDict[str, None] = OrderedDict()
        # People known to have been welcomed, and where someone was refused already.
        self._welcomed: set[str] = set()
        self._refused: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._answering: dict[ThreadKey, _Answering] = {}
        self._accepting = True

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def accepting(self) -> bool:
        """False once a drain has begun."""
        return self._accepting

    @property
    def answering(self) -> int:
        """Threads being answered right now."""
        return len(self._locks)

    async def submit(self, message: IncomingMessage) -> None:
        if not self._accepting:
            # Slack has its ack (it came in as this instance stopped listening): the
            # person is told to ask again, rather than left without an answer.
            logger.warning("shutting down, not taking event_id=%s", message.event_id)
            if message.is_dm or message.is_mention:
                await self._last_word(message, SHUTTING_DOWN)
            return
        self._track(self._process(message))

    async def stop(self, user: str, channel: str, thread_ts: str) -> None:
        """Slack's stop button: the answer in that thread ends now, keeping what was
        written. The asker may stop it, and anyone in a DM (it is theirs); the agent
        session then leaves its "processing" state. Someone else's stop changes nothing."""
        running = self._answering.get(ThreadKey(channel, thread_ts))
        if running is None:
            await self._replies.end_session(channel, thread_ts)
            return
        if running.closing or running.out_of_time:
            return  # too late: it is being finished already
        if not (running.user == user or is_dm_channel(channel)):
            return
        logger.info("stopped by user=%s channel=%s thread=%s", user, channel, thread_ts)
        running.stopped = True
        running.task.cancel()

    async def summarize(self, user: str, ref: ConversationRef) -> str | None:
        """A summary of `ref` for `user`, written in their DM with the bot (where follow-up
        questions can go). None once it is on its way, else why it cannot be done."""
        if not self._accepting:
            return SHUTTING_DOWN
        if not self._gate.access.allows(user, ref.channel):
            return NOT_ALLOWED
        try:
            await self._conversations.check(user, ref)
        except CannotRead as refusal:
            return str(refusal)
        self._track(self._summary(user, ref))
        return None

    async def _summary(self, user: str, ref: ConversationRef) -> None:
        try:
            channel, ts = await self._replies.post_to_person(user, ref.title())
        except Exception as error:  # noqa: BLE001 - the person was told it is on its way
            logger.error("summary not started user=%s: %s", user, loggable(error))
            return
        request = IncomingMessage(
            channel=channel,
            user=user,
            text=ref.title(),
            ts=ts,
            thread_ts=ts,
            is_dm=True,
            is_mention=False,
            team_id=None,
            event_id=None,
            client_msg_id=None,
        )
        await self._process(request, about=ref)

    def _track(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace_seconds: float) -> None:
        """Stop taking work, let answers finish for `grace_seconds`, then cut the rest off."""
        self._accepting = False
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("cut off %d answers at shutdown", len(pending))
            # Each cut-off answer makes one last Slack write to say so; bound that too.
            await asyncio.wait(pending, timeout=CUT_OFF_GRACE_SECONDS)

    async def recover_interrupted(self) -> None:
        """Whatever a crash left unfinished is told in its thread: no one waits on a
        frozen reply, or on a message the bot took on and never answered.

        A thread has one answer at a time, so its records are the parts of one reply,
        and the newest one is where the answer stopped: a status line becomes the notice,
        text being written gets the notice at its end, and after a full part (or with
        no message at all, only the claim) the notice comes as a message of its own.
        """
        orphans = await self._stores.inflight.adopt_orphans()
        if not (orphans.claims or orphans.replies):
            return
        newest: dict[tuple[str, str], InflightReply | None] = {}
        for claim in orphans.claims:
            newest.setdefault((claim.channel, claim.thread_ts), None)
        for reply in orphans.replies:
            key = (reply.channel, reply.thread_ts)
            known = newest.get(key)
            if known is None or float(reply.message_ts) > float(known.message_ts):
                newest[key] = reply
        for (channel, thread_ts), last in newest.items():
            try:
                await self._mark_interrupted(channel, thread_ts, last)
            except Exception as error:  # noqa: BLE001 - marking is best effort
                logger.warning(
                    "could not mark interrupted reply channel=%s thread=%s: %s",
                    channel,
                    thread_ts,
                    loggable(error),
                )
        await self._stores.inflight.release(orphans)
        logger.info("interrupted replies reported: %d threads", len(newest))

    async def _mark_interrupted(
        self, channel: str, thread_ts: str, reply: InflightReply | None
    ) -> None:
        if reply is None or reply.shows == "full":
            await self._replies.post(channel, thread_ts, INTERRUPTED_BY_CRASH)
        elif reply.shows == "status":
            await self._replies.update(channel, reply.message_ts, INTERRUPTED_BY_CRASH)
        else:
            await self._replies.add_note(channel, thread_ts, reply.message_ts, INTERRUPTED_BY_CRASH)

    async def purge_expired(self) -> int:
        self._gate.limiter.forget_idle()
        return await self._stores.events.purge_processed_events(
            time.time() - EVENT_ID_RETENTION_SECONDS
        )

    async def _process(
        self, message: IncomingMessage, about: ConversationRef | None = None
    ) -> None:
        context = (
            f"channel={message.channel} thread={message.thread_ts} "
            f"user={message.user} event_id={message.event_id}"
        )
        # Named in JSON lines for as long as this message's own task (`_track`) runs.
        set_log_context(
            channel=message.channel,
            thread=message.thread_ts,
            user=message.user,
            event_id=message.event_id,
        )
        try:
            if not await self._is_for_us(message):
                return
        except Exception:
            # A follow-up in a thread the bot may never have joined: not worth a word there.
            logger.exception("cannot tell whether a message is for the bot: %s", context)
            return
        try:
            claimed = await self._claim(message)
        except Exception as error:  # noqa: BLE001 - told below
            # Slack has its ack: unless the person sends it again, this message is lost.
            logger.error("message not recorded: %s error=%s", context, loggable(error))
            self._metrics.answered(Outcome.FAILED)
            if self._gate.access.allows(message.user, message.channel):
                await self._last_word(message, NOT_RECORDED)
            return
        if not claimed:
            return
        answering = False
        try:
            if not await self._let_through(message):
                return
            key = ThreadKey(message.channel, message.thread_ts)
            async with self._locks.try_hold(
                key, f"answer to {message.ts}", grace=BUSY_GRACE_SECONDS
            ) as held:
                if not held:
                    logger.info("thread busy: %s", context)
                    self._metrics.answered(Outcome.BUSY)
                    await self._replies.post(message.channel, message.thread_ts, BUSY)
                    return
                answering = True
                await self._answer(message, context, about)
        except Exception:
            # Last line of defence: _answer reports its own failures to the user.
            logger.exception("message handling failed: %s", context)
        finally:
            # An answer settles its claim itself, once it is complete or its failure told.
            if not answering:
                await self._settle(message)

    async def _settle(self, message: IncomingMessage) -> None:
        try:
            await self._stores.events.settle_claim(message.channel, message.ts)
        except Exception as error:  # noqa: BLE001 - at worst the next start says "ask again"
            logger.warning(
                "claim not settled channel=%s ts=%s: %s",
                message.channel,
                message.ts,
                loggable(error),
            )

    async def _let_through(self, message: IncomingMessage) -> bool:
        """Access and rate limit; whoever is turned away is told so, privately."""
        gate = self._gate
        # A notice in the thread of a message that has none would go unseen.
        where_seen = message.thread_ts if message.is_thread_reply else None
        if not gate.access.allows(message.user, message.channel):
            where = (message.user, message.channel, message.thread_ts)
            logger.info("refused user=%s channel=%s", message.user, message.channel)
            self._metrics.answered(Outcome.REFUSED)
            # Once per thread: a person talking to colleagues in a thread the bot is in
            # is not told again at every message.
            if where not in self._refused:
                self._refused[where] = None
                while len(self._refused) > RECENT_KEYS_IN_MEMORY:
                    self._refused.popitem(last=False)
                await self._notices.not_allowed(message.channel, message.user, where_seen)
            return False
        wait = await gate.limiter.spend(message.user)
        if wait > 0:
            logger.info("rate limited user=%s ts=%s for %.0fs", message.user, message.ts, wait)
            self._metrics.answered(Outcome.RATE_LIMITED)
            # Every message turned away is marked, so nobody wonders which ones were
            # skipped; the notice that explains the mark comes once per stretch.
            await self._mark_turned_away(message)
            if gate.limiter.first_notice(message.user, wait):
                await self._replies.post_ephemeral(
                    message.channel,
                    message.user,
                    rate_limited(self._settings.messages_per_minute, wait),
                    thread_ts=where_seen,
                )
            return False
        if message.user not in self._welcomed:
            self._welcomed.add(message.user)
            # Beside the answer, not before it: the first question is not held back.
            self._track(self._welcome(message))
        return True

    async def _mark_turned_away(self, message: IncomingMessage) -> None:
        try:
            await self._replies.react(message.channel, message.ts, TURNED_AWAY_REACTION)
        except Exception as error:  # noqa: BLE001 - the private notice still tells them
            logger.warning(
                "could not mark a turned-away message channel=%s ts=%s: %s",
                message.channel,
                message.ts,
                loggable(error),
            )

    async def _welcome(self, message: IncomingMessage) -> None:
        try:
            if await self._stores.people.first_contact(message.user):
                await self._notices.welcome(message.channel, message.user, message.thread_ts)
        except Exception as error:  # noqa: BLE001 - a welcome is a courtesy
            logger.warning("welcome failed user=%s: %s", message.user, loggable(error))

    async def _is_for_us(self, message: IncomingMessage) -> bool:
        if message.is_dm or message.is_mention:
            return True
        # A thread the bot is answering in right now may not be recorded as joined yet.
        if self._locks.is_busy(ThreadKey(message.channel, message.thread_ts)):
            return True
        return await self._stores.threads.has_joined_thread(message.channel, message.thread_ts)

    async def _claim(self, message: IncomingMessage) -> bool:
        """True once per message, however many times Slack delivers it."""
        keys = message.dedupe_keys()
        if any(key in self._recent for key in keys):
            return False
        for key in keys:
            self._recent[key] = None
        while len(self._recent) > RECENT_KEYS_IN_MEMORY:
            self._recent.popitem(last=False)
        claim = Claim(message.channel, message.ts, message.thread_ts, message.user)
        return await self._stores.events.claim_event(keys, claim)

    async def _answer(
        self, message: IncomingMessage, context: str, about: ConversationRef | None
    ) -> None:
        await self._preferences.refresh()
        settings = self._preferences.effective(message.user, message.channel, message.thread_ts)

        async def remember(ts: str, shows: MessageShows) -> None:
            await self._stores.inflight.add_inflight(
                message.channel, ts, message.thread_ts, message.user, shows
            )

        stream = self._replies.open_stream(
            message.channel,
            message.thread_ts,
            user_id=message.user,
            team_id=message.team_id,
            on_message=remember,
            live=settings.streaming,
        )
        started = time.monotonic()
        spent = Spent()
        key = ThreadKey(message.channel, message.thread_ts)
        task = asyncio.current_task()
        assert task is not None
        answering = self._answering[key] = _Answering(task, message.user)
        memory: ThreadMemory | None = None
        outcome = Outcome.FAILED
        try:
            # Until the reply has a message of its own, its claim stands for it: a crash
            # meanwhile is still reported in the thread at the next start.
            loaded, *_ = await asyncio.gather(
                ThreadMemory.load(self._stores.threads, message),
                self._stores.threads.join_thread(message.channel, message.thread_ts),
                self._stores.threads.add_message(
                    message.channel,
                    message.thread_ts,
                    message.ts,
                    "user",
                    message.user,
                    message.text,
                    outside=False,
                ),
            )
            memory = loaded
            stream.begin(THINKING)
            async with self._gate.answers.hold(message.user, stream):
                # The deadline counts from here: waiting for the person's other answers
                # costs nothing.
                deadline = asyncio.get_running_loop().call_later(
                    self._settings.answer_deadline, self._out_of_time, answering, context
                )
                try:
                    outcome = await self._run_handler(
                        message, settings, stream, context, spent, about, loaded
                    )
                finally:
                    deadline.cancel()
        except asyncio.CancelledError:
            # A shutdown's cancel (alone, or beside a stop) ends the answer as cut off.
            ended = answering.stopped or answering.out_of_time
            if not ended or task.cancelling() > 1:
                outcome = Outcome.CUT_OFF
                await self._close_cut_off(stream)
                raise
            task.uncancel()
            outcome = Outcome.STOPPED if answering.stopped else Outcome.TIMED_OUT
            footer = (
                STOPPED if answering.stopped else deadline_passed(self._settings.answer_deadline)
            )
            await self._close_stopped(message, settings, stream, spent, context, footer, memory)
        except Exception as error:  # noqa: BLE001 - reported to the user below
            # Slack refused or dropped a write (the handler's own failures were already
            # reported in the reply): say so in a fresh message if the reply can't.
            # A database that fails right after the claim lands here too.
            logger.error("reply failed: %s error=%s", context, loggable(error))
            outcome = _failure_outcome(error)
            if await self._last_word(message, describe_failure(error, timeout=0)):
                await self._settle(message)
        finally:
            # A reply that never reached a final state stays recorded as in flight,
            # and the next start marks it as interrupted.
            self._answering.pop(key, None)
            # Counted first: a second cancel (a shutdown's drain, then its close) may
            # interrupt the wait for the shielded bookkeeping below.
            first_text = stream.first_text_at
            self._metrics.answered(
                outcome,
                seconds=time.monotonic() - started,
                first_text=None if first_text is None else first_text - started,
            )
            # Shielded: a shutdown's cancel must not leave a finished answer recorded as in
            # flight (the next start would call it interrupted), nor its turn half-kept.
            await asyncio.shield(self._close_records(message, stream, memory, context))
        elapsed = time.monotonic() - started
        logger.info(
            "answered %s in %.2fs",
            context,
            elapsed,
            extra={"outcome": outcome.value, "duration_seconds": round(elapsed, 3)},
        )

    def _out_of_time(self, answering: _Answering, context: str) -> None:
        """ANSWER_DEADLINE_SECONDS passed: the answer ends as a stop ends it, unless it
        is already being wrapped up or stopped."""
        if answering.closing or answering.stopped:
            return
        logger.warning("answer deadline of %gs passed: %s", self._settings.answer_deadline, context)
        answering.out_of_time = True
        answering.task.cancel()

    async def _close_cut_off(self, stream: ReplyStream) -> None:
        """A shutdown cut this answer off: say so in the reply, if it has started."""
        if stream.started and not stream.finished:
            try:
                await stream.finish(footer=INTERRUPTED_BY_SHUTDOWN)
            except Exception as error:  # noqa: BLE001 - the next start marks the reply
                logger.warning("could not mark a cut-off reply: %s", loggable(error))

    async def _close_stopped(
        self,
        message: IncomingMessage,
        settings: Settings,
        stream: ReplyStream,
        spent: Spent,
        context: str,
        footer: str,
        memory: ThreadMemory | None,
    ) -> None:
        """The person stopped the answer, or its deadline passed: what was written stays,
        marked with `footer`, and what the model calls had cost is counted."""
        await self._record_usage(message, settings, spent, context)
        try:
            await stream.finish(footer=footer)
            if memory is not None:
                _keep_answer(memory, message, stream)
        except Exception as error:  # noqa: BLE001 - the next start marks the reply
            logger.warning("could not close a stopped reply: %s", loggable(error))
        await self._replies.end_session(message.channel, message.thread_ts)

    async def _record_usage(
        self, message: IncomingMessage, settings: Settings, spent: Spent, context: str
    ) -> None:
        usage = spent.usage()
        try:
            await self._stores.usage.record_usage(
                message.user,
                settings.model,
                usage.input_tokens,
                usage.output_tokens,
                cost=self._gate.prices.cost(settings.model, usage),
                channel=message.channel,
                question_ts=message.ts,
            )
        except Exception as error:  # noqa: BLE001 - the answer is shown all the same
            logger.error("usage not recorded: %s error=%s", context, loggable(error))

    async def _run_handler(
        self,
        message: IncomingMessage,
        settings: Settings,
        stream: ReplyStream,
        context: str,
        spent: Spent,
        about: ConversationRef | None,
        memory: ThreadMemory,
    ) -> Outcome:
        """How the answer ended; raises when there is no reply to finish."""
        timeout = self._settings.model_timeout
        try:
            answer = await self._text.answer(message, settings, stream, spent, memory, about)
        except ModelError as error:
            self._wrapping_up(message)
            # Where the bot looked for the model, when it could not connect: for the admin.
            host = f" host={error.host}" if isinstance(error, ModelConnectionError) else ""
            logger.warning("model call failed: %s error=%s%s", context, type(error).__name__, host)
            await stream.finish(footer=describe_failure(error, timeout=timeout))
            _keep_answer(memory, message, stream)
            return _failure_outcome(error)
        except Exception as error:
            self._wrapping_up(message)
            with contextlib.suppress(Exception):
                await stream.shown()  # a status message still on its way lands first
            if not stream.started:
                # Slack refused the status message: there is no reply to finish, and
                # _answer says so in a fresh message.
                raise
            # Other Slack errors land here too: the reply is finished (which also stops
            # its update loop) and, if Slack refuses that as well, _answer says so anew.
            if isinstance(error, SlackRefused | SlackUnreachable):
                # Slack's own word, or its absence: no bug of ours to trace.
                logger.error("answer failed: %s error=%s", context, loggable(error))
            else:
                logger.exception("answer failed: %s", context)
            await stream.finish(footer=describe_failure(error, timeout=timeout))
            return _failure_outcome(error)
        self._wrapping_up(message)
        notices = list(answer.notices)
        if answer.unread_files or answer.partly_read_files:
            notices.append(attachment_notice(answer.unread_files, answer.partly_read_files))
        if answer.near_budget and await self._first_near_budget(message, context):
            notices.append(NEAR_BUDGET)
        # Accounted before it is shown: what the person sees next (`/ai usage`) has it.
        await self._record_usage(message, settings, spent, context)
        await stream.finish(
            footer="\n\n".join(notices) or None, feedback=True, sources=answer.sources
        )
        _keep_answer(memory, message, stream, outside=answer.outside)
        return Outcome.ANSWERED

    async def _first_near_budget(self, message: IncomingMessage, context: str) -> bool:
        try:
            return await self._stores.threads.claim_context_notice(
                message.channel, message.thread_ts
            )
        except Exception as error:  # noqa: BLE001 - a notice is not worth the answer
            logger.error("context notice not recorded: %s error=%s", context, loggable(error))
            return False

    def _wrapping_up(self, message: IncomingMessage) -> None:
        """From here the answer is being finished: a stop comes too late to change it."""
        running = self._answering.get(ThreadKey(message.channel, message.thread_ts))
        if running is not None:
            running.closing = True

    async def _close_records(
        self,
        message: IncomingMessage,
        stream: ReplyStream,
        memory: ThreadMemory | None,
        context: str,
    ) -> None:
        """What the answer added to its thread, then, if it reached its final state, the
        end of its claim and of its messages in flight."""
        if memory is not None:
            try:
                await memory.record(self._stores.threads)
            except Exception as error:  # noqa: BLE001 - the answer is shown all the same
                logger.error("answer not stored: %s error=%s", context, loggable(error))
        if stream.finished:
            try:
                await self._stores.inflight.reply_finished(
                    message.channel, message.thread_ts, message.ts
                )
            except Exception as error:  # noqa: BLE001 - the answer is shown all the same
                logger.error("finished reply not recorded: %s error=%s", context, loggable(error))

    async def _last_word(self, message: IncomingMessage, text: str) -> bool:
        """After a reply failed, try once to say so in a fresh message; True if it was."""
        try:
            await self._replies.post(message.channel, message.thread_ts, text)
        except Exception as error:  # noqa: BLE001 - nothing is left to tell the user with
            logger.error(
                "could not report failure in channel=%s: %s", message.channel, loggable(error)
            )
            return False
        return True


def _failure_outcome(error: Exception) -> Outcome:
    if isinstance(error, ModelTimeoutError):
        return Outcome.TIMED_OUT
    if isinstance(error, ModelError):
        return Outcome.MODEL_ERROR
    if isinstance(error, SlackRefused | SlackUnreachable):
        return Outcome.SLACK_ERROR
    return Outcome.FAILED


def _keep_answer(
    memory: ThreadMemory, message: IncomingMessage, stream: ReplyStream, *, outside: bool = True
) -> None:
    """The answer as shown, for the thread's follow-ups. `outside`: whether it was written
    from content its asker did not write; an answer cut short does not say, and counts as
    such."""
    if stream.text.strip():
        memory.answered(message.ts, stream.text, outside=outside)
