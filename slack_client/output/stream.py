"""A reply as it is written: loading states, then text streamed into the thread.

Every write takes its turn from the scheduler (slack_client.transport.scheduler), with
the priority of what it is for: the write that finishes an answer first, then first
messages, then loading states, then intermediate edits, which are dropped when a newer
one or the answer itself overtakes them. While a reply has no text yet, Slack's loading
state shows under the thread (assistant.threads.setStatus: "is thinking…" and the
current step); where Slack refuses it, a short status message stands in and is
replaced. The reply then grows: through Slack's native streaming
(chat.startStream/appendStream/stopStream) where the workspace has it, otherwise by
posting its first part and editing it with chat.update at most once a second, deltas
coalesced. A reply opens a stream only when Slack's budget has room for the write that
will finish it; otherwise it appears whole when complete, in one message. Edits share
the budget, so each of many streaming answers gets fewer, larger ones. When Slack closes
a native stream, or an answer grows past what one streamed message should hold, the
reply continues with chat.update on the stream's message and further messages for the
rest, split so that no code block breaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.messages.chunk import TaskUpdateChunk
from slack_sdk.web.async_chat_stream import AsyncChatStream

from slack_client.output.parts import EMPTY_ANSWER, Rendered, reply_parts
from slack_client.render.markdown import has_table
from slack_client.render.sources import shown_sources, sources_markdown, sources_mrkdwn
from slack_client.render.views import feedback_block
from slack_client.transport.errors import loggable, slack_error
from slack_client.transport.scheduler import NotSent, Priority

if TYPE_CHECKING:
    from slack_client.output.replies import SlackReplies

logger = logging.getLogger(__name__)

T = TypeVar("T")

UPDATE_INTERVAL_SECONDS = 1.0
# How long the first text waits for more before it is shown.
FIRST_FLUSH_DELAY_SECONDS = 0.5
# A streamed message holds markdown; past this the answer continues as split messages.
NATIVE_STREAM_LIMIT = 10_000
# Errors meaning "this workspace cannot stream natively": use chat.update from now on.
STREAMING_UNAVAILABLE = frozenset(
    {"unknown_method", "not_allowed_token_type", "feature_not_enabled", "not_supported"}
)
# Errors meaning "not in this conversation": this reply uses chat.update.
STREAMING_UNAVAILABLE_HERE = frozenset(
    {"method_not_supported_for_channel_type", "invalid_arguments"}
)
STREAM_CLOSED = "message_not_in_streaming_state"
# Errors meaning "no loading states anywhere here": status messages from now on.
LOADING_STATES_UNAVAILABLE = frozenset(
    {"unknown_method", "not_allowed_token_type", "missing_scope"}
)
# What Slack shows under a thread while an answer is on its way ("<app> is thinking…").
PANEL_STATUS = "is thinking…"
PANEL_STATUS_REFRESH_SECONDS = 60.0

# What opening a native stream commits to, across the workspace: the call that opens
# it and the one that will close it (both Tier 2).
NATIVE_STREAM_CALLS = ("chat.startStream", "chat.stopStream")

# Past this much text, a reply's messages are worked out in a thread: text made of tens
# of thousands of tiny blocks takes a parser a few hundred milliseconds to walk, and the
# event loop must keep running meanwhile.
RENDER_OFF_LOOP_CHARS = 20_000

# The loading state while a reply's first message waits for Slack's budget, shown once
# the wait passes VISIBLE_WAIT_SECONDS.
WAITING_FOR_SLACK = "_Ready: waiting for Slack to take more messages in this channel…_"
VISIBLE_WAIT_SECONDS = 3.0
# The step shown while the model searches the web.
SEARCH_TASK = "web-search"
SEARCHING = "Searching the web"

# What a message of a reply shows, for a restart after a crash: a status line (replaced
# by the notice), text still being written (the notice is added to it), or a part that
# is full (kept as it is, the notice coming after it).
MessageShows = Literal["status", "writing", "full"]
# Told about every message a reply creates, and what it shows as that changes, so that
# it can be found after a crash.
MessageCreated = Callable[[str, MessageShows], Awaitable[None]]


class ReplyStream:
    def __init__(
        self,
        replies: SlackReplies,
        *,
        channel: str,
        thread_ts: str,
        user_id: str,
        team_id: str | None,
        on_message: MessageCreated,
        live: bool = True,
    ) -> None:
        self._replies = replies
        # False: the answer appears when complete (the person turned streaming off).
        self._live = live
        # Slack's own loading state under the thread, as long as Slack takes it; else
        # the status is a message of the reply's.
        self._panel = replies.loading_states
        self._panel_step = ""
        self._channel = channel
        self._thread_ts = thread_ts
        self._user_id = user_id
        self._team_id = team_id
        self._on_message = on_message
        self._text = ""
        self._native: AsyncChatStream | None = None
        # Text and task updates may open the native stream at once: one at a time.
        self._native_lock = asyncio.Lock()
        self._steps = itertools.count(1)
        # The web search's step, shown from the model's stream (see searching()).
        self._search_shown: asyncio.Task[bool] | None = None
        self._native_sent = 0
        self._use_native = replies.native_streaming
        # update mode: the messages holding the reply and what each currently shows
        self._messages: list[str] = []
        self._shown: list[Rendered] = []
        self._placeholder: str | None = None
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._showing: asyncio.Task[None] | None = None
        # Set when the first status cannot go at once: the answer does not wait for it.
        self._status_waits = asyncio.Event()
        # The loading state saying that Slack's budget holds the first message.
        self._waiting_shown: asyncio.Task[None] | None = None
        # The latest status change, sent in the background (set_status).
        self._status_update: asyncio.Task[None] | None = None
        self.finished = False
        # When Slack first showed words of the answer (time.monotonic()), for metrics.
        self.first_text_at: float | None = None

    @property
    def text(self) -> str:
        return self._text

    @property
    def started(self) -> bool:
        """Begun, and Slack did not refuse its status: there is a reply to finish."""
        showing = self._showing
        refused = showing is not None and showing.done() and not showing.cancelled()
        return showing is not None and not (refused and showing.exception() is not None)

    def begin(self, status: str) -> None:
        """Show the status in the background: the caller reads the thread meanwhile.

        That saves the user one Slack round trip before the model is asked. The status
        is optional: if Slack's budget holds it, the answer goes ahead without it and,
        once its first words are ready, it is not sent at all. `shown()` reports a
        refusal.
        """
        self._showing = asyncio.create_task(self._start(status))
        self._loop_task = asyncio.create_task(self._flush_loop())

    async def shown(self) -> None:
        """Wait until the status is shown, or waits for Slack's budget; raises if Slack
        refused it."""
        showing = self._showing
        if showing is None or (not showing.done() and self._status_waits.is_set()):
            return
        if showing.done():
            await showing
            return
        waits = asyncio.ensure_future(self._status_waits.wait())
        try:
            await asyncio.wait({showing, waits}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waits.cancel()
        if showing.done():
            await showing

    async def _start(self, status: str) -> None:
        try:
            if self._panel and await self._show_panel_status(status, self._status_waits.set):
                return
            self._placeholder = await self._replies.post(
                self._channel,
                self._thread_ts,
                status,
                priority=Priority.STATUS,
                owner=self,
                on_wait=self._status_waits.set,
            )
        except NotSent:
            return  # the answer overtook its status message: it comes without one
        except BaseException:
            # No reply: the update loop has nothing to wait for.
            self._closing.set()
            self._changed.set()
            raise
        self._messages = [self._placeholder]
        self._shown = [Rendered(status)]
        await self._on_message(self._placeholder, "status")

    async def _status_settled(self) -> None:
        """The first text is ready: a status still waiting for its turn is dropped, one
        on its way lands first."""
        self._replies.scheduler.withdraw(self)
        for status in (self._showing, self._status_update):
            if status is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(status)

    async def _first_write(self, write: Awaitable[T]) -> T:
        """The reply's first message. Should Slack's budget hold it past
        VISIBLE_WAIT_SECONDS, the loading state says so (once, in the background);
        when it is sent, no status still waiting is."""
        timer = asyncio.get_running_loop().call_later(VISIBLE_WAIT_SECONDS, self._slack_holds_it)
        try:
            return await write
        finally:
            timer.cancel()
            self._replies.scheduler.withdraw(self)

    def _slack_holds_it(self) -> None:
        if self._panel and self._waiting_shown is None:
            self._waiting_shown = asyncio.create_task(self._say_slack_holds_it())

    async def _say_slack_holds_it(self) -> None:
        try:
            await self._show_panel_status(WAITING_FOR_SLACK)
        except Exception as error:  # noqa: BLE001 - only informative
            logger.info("waiting status not shown in %s: %s", self._channel, loggable(error))

    async def _show_panel_status(
        self, status: str, on_wait: Callable[[], None] | None = None
    ) -> bool:
        """Slack's loading state shows under the thread ("<app> is thinking…", with the
        step) until the reply's first message, in channels and DMs alike (with chat:write
        since March 2026). False where Slack refuses it: the status is then a message.
        It is optional: a newer status, or the answer, drops it while it waits."""
        self._panel_step = status
        try:
            async with self._replies.scheduler.turn(
                "assistant.threads.setStatus",
                self._channel,
                priority=Priority.STATUS,
                key=("assistant.threads.setStatus", self._channel, self._thread_ts),
                owner=self,
                on_wait=on_wait,
            ):
                await self._replies.client.assistant_threads_setStatus(
                    channel_id=self._channel,
                    thread_ts=self._thread_ts,
                    status=PANEL_STATUS,
                    loading_messages=[status.strip("_")],
                )
        except NotSent:
            return True
        except SlackApiError as error:
            code = slack_error(error)
            if code in LOADING_STATES_UNAVAILABLE:
                self._replies.loading_states = False
                logger.info("no loading states in this workspace (%s); status messages", code)
            else:
                logger.info("no loading state in %s (%s)", self._channel, code)
            self._panel = False
            return False
        return True

    async def set_status(self, status: str) -> None:
        """Change the status line, as long as no answer text is showing yet.

        Only informative, and it never holds the answer up: it goes in the background
        when Slack's budget allows, unless a newer status or the answer overtakes it;
        if Slack refuses it, the answer still goes ahead.
        """
        self._status_update = asyncio.create_task(self._show_status(status))

    async def _show_status(self, status: str) -> None:
        try:
            if self._panel and not self._messages and self._native is None:
                await self._show_panel_status(status)
            elif self._placeholder and not self._text and self._shown[:1] != [Rendered(status)]:
                await self._safe_update(0, Rendered(status), "status", Priority.STATUS)
        except NotSent:
            pass  # overtaken by a newer status or the answer
        except Exception as error:  # noqa: BLE001 - only informative
            logger.info("status update failed in %s: %s", self._channel, loggable(error))

    @contextlib.asynccontextmanager
    async def step(self, status: str, details: str | None = None) -> AsyncIterator[Step]:
        """A visible step of the answer's work (reading files, waiting for a model slot,
        drawing, asking a service): in Slack's native stream a task shown in progress,
        then done or failed, with `details` (which tool) under its title; elsewhere the
        status line. Only informative: Slack refusing it changes nothing."""
        step = Step(self, f"step-{next(self._steps)}", status, details)
        await step.show("in_progress")
        try:
            yield step
        except BaseException:
            await step.end("error")
            raise
        await step.end("complete")

    async def _show_step(
        self,
        task_id: str,
        status: str,
        state: str,
        sources: Sequence[tuple[str, str]] = (),
        details: str | None = None,
    ) -> bool:
        """A step as a task of the native stream; else as the status line (False)."""
        title = status.strip("_").rstrip("…").strip()
        if self._live and await self._task_update(task_id, title, state, sources, details):
            return True
        if state == "in_progress":
            await self.set_status(status)
        return False

    def searching(self) -> None:
        """The model started searching the web: a step, until `searched()`. Called from
        the model's stream, so the step is shown in the background."""
        if self._search_shown is None:
            self._search_shown = asyncio.create_task(self._show_search())

    async def _show_search(self) -> bool:
        try:
            if self._live and await self._task_update(SEARCH_TASK, SEARCHING, "in_progress"):
                return True
            await self.set_status(f"_{SEARCHING}…_")
        except Exception as error:  # noqa: BLE001 - only informative
            logger.info("search step not shown in %s: %s", self._channel, loggable(error))
        return False

    async def searched(self, sources: Sequence[tuple[str, str]]) -> None:
        """The web search is over: its step is done, with the pages the answer cites
        ((url, title) pairs) as its sources."""
        task, self._search_shown = self._search_shown, None
        if task is None:
            return
        # Shielded: a stop meanwhile must not cancel the step's own update midway.
        if await asyncio.shield(task):
            await self._task_update(SEARCH_TASK, SEARCHING, "complete", sources)

    async def _task_update(
        self,
        task_id: str,
        title: str,
        status: str,
        sources: Sequence[tuple[str, str]] = (),
        details: str | None = None,
    ) -> bool:
        """Send a task chunk to the native stream (opening it if need be); False where
        the reply does not stream natively."""
        async with self._native_lock:
            if not self._use_native:
                return False
            if not self._may_open_native():
                return False
            native = self._native or await self._open_native()
            starting = native.ts is None
            chunk = TaskUpdateChunk(
                id=task_id,
                title=title,
                status=status,
                details=details,
                sources=[
                    {"type": "url", "url": url, "text": text}
                    for url, text in shown_sources(sources)
                ]
                or None,
            )
            # A step starting is optional and never waits (the status line shows it
            # instead); one ending must reach the stream, or it spins on.
            starts_step = status == "in_progress"
            method = "chat.startStream" if starting else "chat.appendStream"
            try:
                async with self._replies.scheduler.turn(
                    method,
                    self._channel,
                    priority=Priority.STATUS if starts_step and not starting else Priority.FIRST,
                    owner=self,
                    gives_up=starting,
                    waits=not (starting or starts_step),
                ):
                    await native.append(chunks=[chunk])
            except NotSent:
                if starting:
                    self._native = None  # Slack refused to open it now
                return False
            except SlackApiError as error:
                try:
                    await self._leave_native(error, starting)
                except SlackApiError:
                    logger.info("task not shown in %s: %s", self._channel, slack_error(error))
                return False
            except SlackClientError as error:  # the stream was closed meanwhile
                logger.info("task not shown in %s: %s", self._channel, loggable(error))
                return False
            if starting and native.ts:
                await self._on_message(native.ts, "writing")
                await self._drop_placeholder()
            return True

    async def _open_native(self) -> AsyncChatStream:
        # chat.startStream, appendStream and stopStream take no unfurl arguments (their
        # documented arguments have none), so none are sent.
        self._native = await self._replies.client.chat_stream(
            channel=self._channel,
            thread_ts=self._thread_ts,
            recipient_user_id=self._user_id,
            recipient_team_id=self._team_id,
            task_display_mode="timeline",
            buffer_size=1,
        )
        return self._native

    def append(self, delta: str) -> None:
        self._text += delta
        self._changed.set()

    async def finish(
        self,
        footer: str | None = None,
        *,
        feedback: bool = False,
        sources: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Show the final text (plus footer); always leaves the reply in a final state.

        With `feedback`, the reply ends with Slack's feedback buttons; `sources` ((url,
        title) pairs) end the text as links, written for where the reply ends. Nothing
        waits for an intermediate edit: those still waiting for their turn are dropped.
        """
        self._closing.set()
        self._changed.set()
        self._replies.scheduler.withdraw(self)
        await self.shown()
        if self._search_shown is not None:
            with contextlib.suppress(Exception):  # only informative
                await self.searched(())
        if self._loop_task:
            # The loop ends after its current write. Shielded: cancelling a post midway
            # could make Slack post it while we believe it failed.
            await asyncio.shield(self._loop_task)
        text = self._text if self._text.strip() else EMPTY_ANSWER
        # The native stream takes Markdown; section blocks, mrkdwn.
        native_end = [part for part in (sources_markdown(sources), footer) if part]
        final = "\n\n".join([text, *native_end])
        async with self._native_lock:
            closed = self._native is not None and await self._stop_native(final, feedback=feedback)
        if not closed:
            blocks_end = [part for part in (sources_mrkdwn(sources), footer) if part]
            footer = "\n\n".join(blocks_end) or None
            await self._render(text, Priority.FINISH, feedback=feedback, footer=footer)
        self.finished = True
        self._shows_text()

    def _shows_text(self) -> None:
        """Slack has taken a write that shows words of the answer."""
        if self.first_text_at is None and self._text.strip():
            self.first_text_at = time.monotonic()

    async def _flush_loop(self) -> None:
        # finish() sets _changed too, so this wait also ends on closing.
        await self._keep_panel_status_until(self._changed if self._live else self._closing)
        await self._status_settled()
        if not self._live:
            return
        # A short answer that is complete by then goes out in one write from finish(),
        # not as a stream opened for a moment (and it spares Slack's rate limits).
        await self._closing_within(FIRST_FLUSH_DELAY_SECONDS)
        while not self._closing.is_set():
            await self._changed.wait()
            if self._closing.is_set():
                return
            self._changed.clear()
            try:
                await self._flush()
            except NotSent:
                pass  # overtaken by the answer's end
            except Exception as error:  # noqa: BLE001 - the final render tries again
                logger.warning(
                    "stream update failed: channel=%s thread=%s error=%s",
                    self._channel,
                    self._thread_ts,
                    loggable(error),
                )
            await self._closing_within(UPDATE_INTERVAL_SECONDS)

    async def _keep_panel_status_until(self, event: asyncio.Event) -> None:
        """Wait for `event`; meanwhile keep the panel's status up, which Slack clears by
        itself after two minutes without a message."""
        while not event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), PANEL_STATUS_REFRESH_SECONDS)
            if not event.is_set() and self._panel and not self._messages and self._native is None:
                await self._show_panel_status(self._panel_step)

    async def _closing_within(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _flush(self) -> None:
        if self._use_native and len(self._text) <= NATIVE_STREAM_LIMIT:
            if await self._append_native():
                return
        elif self._native is not None:
            # Grown past one streamed message: close the stream, continue by editing.
            async with self._native_lock:
                await self._stop_native(None)
        scheduler = self._replies.scheduler
        if not self._messages:
            # Opening a stream commits the bot to the edit that will finish it, and
            # must not queue for the channel: only when Slack's budget has room for both
            # now. Else the answer appears whole when it is done.
            if scheduler.reserve("chat.update"):
                try:
                    await self._render(self._text, Priority.FIRST, opens=True)
                except NotSent:
                    scheduler.refund("chat.update")
                    return
                self._use_native = False
            return
        # An intermediate edit shows the text as it is when Slack's budget allows.
        async with scheduler.turn("chat.update", self._channel, priority=Priority.EDIT, owner=self):
            await self._render(self._text, Priority.EDIT)

    async def _append_native(self) -> bool:
        """Send new text to the native stream; False when the reply must use chat.update."""
        async with self._native_lock:
            return await self._append_native_text()

    async def _append_native_text(self) -> bool:
        if not self._text[self._native_sent :]:
            return True
        if not self._may_open_native():
            return False
        native = self._native or await self._open_native()
        starting = native.ts is None
        try:
            await self._append_latest(native, Priority.FIRST if starting else Priority.EDIT)
        except NotSent:
            if not starting:
                return True  # overtaken: the final write sends the rest
            # Slack cannot take the opening now, or refused it: nothing of the stream
            # shows (the SDK's buffer goes with it), and the reply goes on another way.
            self._native, self._native_sent = None, 0
            return False
        except SlackApiError as error:
            return await self._leave_native(error, starting)
        if native.ts:
            # slack-sdk buffers appended text: only a stream it has opened shows any.
            self._shows_text()
        if starting and native.ts:
            await self._on_message(native.ts, "writing")
            await self._drop_placeholder()
        return True

    def _may_open_native(self) -> bool:
        """A native stream costs two Tier 2 calls, to open and to close it. It opens
        while Slack takes them (an opening Slack refuses gives up at once, and the reply
        goes on another way); once Slack has refused one, only while the documented
        budget has room for both."""
        if self._native is not None:
            return True
        return self._replies.scheduler.reserve(*NATIVE_STREAM_CALLS, optimistic=True)

    async def _append_latest(self, native: AsyncChatStream, priority: Priority) -> None:
        """Append what the stream has not shown yet, as of when Slack's budget allows.
        Opening the stream never waits: NotSent when Slack's budget has no room for it
        now, Refused when Slack refuses it."""
        starting = native.ts is None
        method = "chat.startStream" if starting else "chat.appendStream"
        async with self._replies.scheduler.turn(
            method,
            self._channel,
            priority=priority,
            owner=self,
            gives_up=starting,
            waits=not starting,
        ):
            pending = self._text[self._native_sent :]
            if not pending:
                return
            # The SDK keeps text it could not send in its own buffer and sends it with
            # the next call, so count it as handed over now or it would go out twice.
            self._native_sent += len(pending)
            await native.append(markdown_text=pending)

    async def _leave_native(self, error: SlackApiError, starting: bool) -> bool:
        code = slack_error(error)
        self._use_native = False
        if starting:
            self._native = None
            if code in STREAMING_UNAVAILABLE_HERE:
                logger.info("no native streaming in %s (%s)", self._channel, code)
            elif code in STREAMING_UNAVAILABLE:
                self._replies.native_streaming = False
                logger.info("native streaming unavailable (%s); using chat.update", code)
            else:
                raise error
        elif code == STREAM_CLOSED:
            self._adopt_stream_message()
        else:
            raise error
        return False

    async def _stop_native(self, final: str | None, *, feedback: bool = False) -> bool:
        """Close the native stream; with `final`, finish the reply in it if it fits."""
        native = self._native
        assert native is not None
        rest = final[self._native_sent :] if final is not None else ""
        # Tables show only as table blocks: such an answer is finished by chat.update.
        fits = (
            final is not None
            and len(final) <= NATIVE_STREAM_LIMIT
            and self._use_native
            and not has_table(final)
        )
        opened = native.ts is not None
        blocks = [feedback_block()] if fits and feedback else None
        method = "chat.stopStream" if opened else "chat.startStream"
        priority = Priority.FINISH if final is not None else Priority.FIRST
        try:
            async with self._replies.scheduler.turn(method, self._channel, priority=priority):
                await native.stop(markdown_text=rest if fits else None, blocks=blocks)
        except SlackApiError as error:
            if slack_error(error) != STREAM_CLOSED:
                logger.warning("stopping stream failed: %s", slack_error(error))
            fits = False
        if not opened and native.ts:
            # An earlier start failed midway; stop() opened the stream itself.
            await self._on_message(native.ts, "writing")
            await self._drop_placeholder()
        self._use_native = False
        self._adopt_stream_message()
        return fits

    def _adopt_stream_message(self) -> None:
        """Continue in update mode on the streamed message (it shows markdown so far)."""
        native = self._native
        self._native = None
        if native and native.ts and native.ts not in self._messages:
            self._messages = [native.ts]
            self._shown = [Rendered("")]

    async def _drop_placeholder(self) -> None:
        placeholder, self._placeholder = self._placeholder, None
        self._messages, self._shown = [], []
        if placeholder:
            try:
                await self._replies.delete(self._channel, placeholder)
            except SlackApiError as error:
                logger.info("could not delete status message: %s", slack_error(error))

    async def _render(
        self,
        markdown: str,
        priority: Priority,
        *,
        feedback: bool = False,
        footer: str | None = None,
        opens: bool = False,
    ) -> None:
        """Show `markdown` (and `footer`, mrkdwn already) in the reply's messages."""
        if len(markdown) > RENDER_OFF_LOOP_CHARS:
            parts = await asyncio.to_thread(reply_parts, markdown, footer, feedback=feedback)
        else:
            parts = reply_parts(markdown, footer, feedback=feedback)
        for index, part in enumerate(parts):
            if index < len(self._messages):
                if self._shown[index] != part:
                    await self._safe_update(index, part, "writing", priority)
                if self._messages[index] == self._placeholder:
                    # The status message now holds the answer's first part.
                    self._placeholder = None
                    await self._on_message(self._messages[index], "writing")
            else:
                post = self._replies.post(
                    self._channel,
                    self._thread_ts,
                    part.text,
                    part.blocks,
                    priority=priority,
                    waits=not opens,
                )
                if self._messages:
                    # Told before the next part is posted: a crash from here on keeps
                    # this one as it is.
                    await self._on_message(self._messages[-1], "full")
                    ts = await post
                else:
                    ts = await self._first_write(post)
                self._messages.append(ts)
                self._shown.append(part)
                await self._on_message(ts, "writing")
        self._shows_text()

    async def _safe_update(
        self, index: int, part: Rendered, shows: MessageShows, priority: Priority
    ) -> None:
        channel = self._channel
        try:
            await self._replies.update(
                channel,
                self._messages[index],
                part.text,
                part.blocks,
                priority=priority,
                owner=self,
            )
        except SlackApiError as error:
            if slack_error(error) != "message_not_found":
                raise
            # Someone deleted the message: carry on in a new one.
            self._messages[index] = await self._replies.post(
                channel, self._thread_ts, part.text, part.blocks, priority=priority
            )
            await self._on_message(self._messages[index], shows)
        self._shown[index] = part


class Step:
    """One step of an answer's work, as ReplyStream.step() shows it."""

    def __init__(
        self, stream: ReplyStream, task_id: str, status: str, details: str | None = None
    ) -> None:
        self._stream = stream
        self._task_id = task_id
        self._status = status
        self._details = details
        self._as_task = False
        self._sources: list[tuple[str, str]] = []

    def cite(self, sources: Sequence[tuple[str, str]]) -> None:
        """The pages this step read ((url, title) pairs), shown with it once it is done."""
        self._sources = list(sources)

    async def show(self, state: str) -> None:
        self._as_task = await self._stream._show_step(
            self._task_id, self._status, state, details=self._details
        )

    async def retitle(self, status: str) -> None:
        """The step is now `status` (e.g. waiting for room to read, then reading)."""
        self._status = status
        await self.show("in_progress")

    async def end(self, outcome: str) -> None:
        if self._as_task:
            await self._stream._show_step(
                self._task_id, self._status, outcome, self._sources, self._details
            )
