"""Posting and streaming replies into a thread.

Every write goes through the channel's pacing queue. While a reply has no text yet,
Slack's loading state shows under the thread (assistant.threads.setStatus: "is
thinking…" and the current step); where Slack refuses it, a short status message stands
in and is replaced. The reply then grows: through Slack's native streaming
(chat.startStream/appendStream/stopStream) where the workspace has it, otherwise by
posting its first part and editing it with chat.update at most once a second, deltas
coalesced. When Slack closes a native stream, or an answer grows past what one streamed
message should hold, the reply continues with chat.update on the stream's message and
further messages for the rest, split so that no code block breaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.messages.chunk import TaskUpdateChunk
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.errors import loggable, slack_error
from slack_client.markdown import MARKDOWN_PART_LIMIT, has_table, markdown_parts
from slack_client.mrkdwn import markdown_to_mrkdwn, split_message
from slack_client.pacing import ChannelPacer
from slack_client.views import SECTION_CHARS, Block, feedback_block, section

logger = logging.getLogger(__name__)

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

# Messages one reply may take; an answer longer than that ends with TOO_LONG.
MAX_REPLY_PARTS = 20
TOO_LONG = (
    "_:scissors: The rest of this answer is too long to post here. "
    "Ask me to continue, or for a shorter version._"
)
# Markdown parsed at most for one reply: what its messages can hold.
CONVERTED_CHARS = MAX_REPLY_PARTS * MARKDOWN_PART_LIMIT
# Past this much text, a reply's messages are worked out in a thread: text made of tens
# of thousands of tiny blocks takes a parser a few hundred milliseconds to walk, and the
# event loop must keep running meanwhile.
RENDER_OFF_LOOP_CHARS = 20_000
EMPTY_ANSWER = "_(The model returned an empty answer.)_"

# The loading state while a reply's first message waits for the channel's posting budget.
WAITING_FOR_SLACK = "_Ready: waiting for Slack to take more messages in this channel…_"
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


class SlackReplies:
    """Writes into threads; the one owner of the Web API client for messages."""

    def __init__(self, client: AsyncWebClient, pacer: ChannelPacer, *, native_streaming: bool):
        self.client = client
        self.pacer = pacer
        self.native_streaming = native_streaming
        # Slack's loading state under a thread, until Slack says it has none.
        self.loading_states = True

    async def post(
        self, channel: str, thread_ts: str | None, text: str, blocks: list[Block] | None = None
    ) -> str:
        """A new message: in the thread of `thread_ts`, or in the channel itself."""
        response = await self.pacer.run(
            channel,
            lambda: self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            ),
            new_message=True,
        )
        return str(response["ts"])

    async def post_to_person(self, user: str, text: str) -> tuple[str, str]:
        """A new top-level message in the bot's DM with `user`: (channel, ts)."""
        response = await self.pacer.run(
            user,
            lambda: self.client.chat_postMessage(
                channel=user, text=text, unfurl_links=False, unfurl_media=False
            ),
            new_message=True,
        )
        return str(response["channel"]), str(response["ts"])

    async def end_session(self, channel: str, thread_ts: str) -> None:
        """Take the thread's agent session out of "processing" (after a stop, Slack leaves
        that to the app). Only informative: a refusal changes nothing."""
        try:
            await self.client.agents_sessions_setStatus(
                channel_id=channel, thread_ts=thread_ts, status="active"
            )
        except SlackApiError as error:
            logger.info("session not ended in %s: %s", channel, slack_error(error))

    async def update(
        self, channel: str, ts: str, text: str, blocks: list[Block] | None = None
    ) -> None:
        # chat.update does not document the unfurl arguments; they go along all the
        # same (Slack ignores what a method does not take), so no edit of ours is the
        # one write that lets Slack fetch a link for a preview.
        await self.pacer.run(
            channel,
            lambda: self.client.chat_update(
                channel=channel,
                ts=ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )

    async def add_note(self, channel: str, thread_ts: str, ts: str, note: str) -> None:
        """End the message `ts`, which a crash left unfinished, with `note`, keeping what
        it shows: a stream still open is closed with the note; otherwise the message is
        read back and updated. Where neither works, the note follows as a new message."""
        try:
            await self.pacer.run(
                channel,
                lambda: self.client.chat_stopStream(
                    channel=channel, ts=ts, markdown_text=f"\n\n{note}"
                ),
            )
            return
        except SlackApiError as error:
            logger.info("no open stream to note in %s: %s", channel, slack_error(error))
        try:
            # Asked for by its own ts, Slack may still return the whole thread.
            response = await self.client.conversations_replies(
                channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=1
            )
            shown = next((m for m in response.get("messages") or [] if m.get("ts") == ts), None)
            if shown is not None:
                blocks = shown.get("blocks")
                await self.update(
                    channel,
                    ts,
                    f"{shown.get('text') or ''}\n\n{note}",
                    [*blocks, section(note)] if blocks else None,
                )
                return
        except SlackApiError as error:
            logger.info("could not add a note to %s in %s: %s", ts, channel, slack_error(error))
        await self.post(channel, thread_ts, note)

    async def post_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[Block] | None = None,
    ) -> None:
        """A message only `user` sees (and only until they reload).

        Not paced with the channel: Slack's one-a-second limit is on messages everyone
        sees, and a notice to one person must not hold up the channel's answers.
        chat.postEphemeral documents no unfurl arguments, so none are sent.
        """
        await self.client.chat_postEphemeral(
            channel=channel, user=user, text=text, thread_ts=thread_ts, blocks=blocks
        )

    async def react(self, channel: str, ts: str, name: str) -> None:
        """The bot's emoji reaction on a message (`name` without colons).

        Not paced with the channel either: reactions are not messages, and Slack limits
        them per method (about 50 a minute, with bursts; a 429 is retried).
        """
        await self.client.reactions_add(channel=channel, timestamp=ts, name=name)

    async def delete(self, channel: str, ts: str) -> None:
        await self.pacer.run(channel, lambda: self.client.chat_delete(channel=channel, ts=ts))

    def open_stream(
        self,
        channel: str,
        thread_ts: str,
        *,
        user_id: str,
        team_id: str | None,
        on_message: MessageCreated,
        live: bool = True,
    ) -> ReplyStream:
        return ReplyStream(
            self,
            channel=channel,
            thread_ts=thread_ts,
            user_id=user_id,
            team_id=team_id,
            on_message=on_message,
            live=live,
        )


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
        self.finished = False

    @property
    def text(self) -> str:
        return self._text

    @property
    def started(self) -> bool:
        return self._loop_task is not None

    def begin(self, status: str) -> None:
        """Post the status message in the background: the caller reads the thread meanwhile.

        That saves the user one Slack round trip before the model is asked. Deltas
        appended before the status is shown wait for it; `shown()` reports its failure.
        """
        self._showing = asyncio.create_task(self._start(status))

    async def shown(self) -> None:
        """Wait until the status message is posted; raises if Slack refused it."""
        if self._showing is not None:
            await asyncio.shield(self._showing)

    async def _start(self, status: str) -> None:
        if self._panel and await self._show_panel_status(status):
            self._loop_task = asyncio.create_task(self._flush_loop())
            return
        self._placeholder = await self._replies.post(self._channel, self._thread_ts, status)
        self._messages = [self._placeholder]
        self._shown = [Rendered(status)]
        await self._on_message(self._placeholder, "status")
        self._loop_task = asyncio.create_task(self._flush_loop())

    async def _before_first_write(self) -> None:
        """The answer is ready but the channel's posting budget is spent: the loading
        state says so, instead of "thinking", while the first message waits its turn."""
        if self._panel and self._replies.pacer.must_wait(self._channel):
            await self._show_panel_status(WAITING_FOR_SLACK)

    async def _show_panel_status(self, status: str) -> bool:
        """Slack's loading state shows under the thread ("<app> is thinking…", with the
        step) until the reply's first message, in channels and DMs alike (with chat:write
        since March 2026). False where Slack refuses it: the status is then a message."""
        self._panel_step = status
        try:
            await self._replies.client.assistant_threads_setStatus(
                channel_id=self._channel,
                thread_ts=self._thread_ts,
                status=PANEL_STATUS,
                loading_messages=[status.strip("_")],
            )
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

        Only informative: if Slack refuses, the answer still goes ahead.
        """
        if self._panel and not self._messages and self._native is None:
            await self._show_panel_status(status)
            return
        if self._placeholder and not self._text and self._shown[:1] != [Rendered(status)]:
            try:
                await self._safe_update(0, Rendered(status), "status")
            except SlackApiError as error:
                logger.info("status update failed: %s", slack_error(error))

    @contextlib.asynccontextmanager
    async def step(self, status: str) -> AsyncIterator[Step]:
        """A visible step of the answer's work (reading files, waiting for a model slot,
        drawing, asking a service): in Slack's native stream a task shown in progress,
        then done or failed; elsewhere the status line. Only informative: Slack refusing
        it changes nothing."""
        step = Step(self, f"step-{next(self._steps)}", status)
        await step.show("in_progress")
        try:
            yield step
        except BaseException:
            await step.end("error")
            raise
        await step.end("complete")

    async def _show_step(self, task_id: str, status: str, state: str) -> bool:
        """A step as a task of the native stream; else as the status line (False)."""
        title = status.strip("_").rstrip("…").strip()
        if self._live and await self._task_update(task_id, title, state):
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
        self, task_id: str, title: str, status: str, sources: Sequence[tuple[str, str]] = ()
    ) -> bool:
        """Send a task chunk to the native stream (opening it if need be); False where
        the reply does not stream natively."""
        async with self._native_lock:
            if not self._use_native:
                return False
            native = self._native or await self._open_native()
            starting = native.ts is None
            if starting:
                await self._before_first_write()
            chunk = TaskUpdateChunk(
                id=task_id,
                title=title,
                status=status,
                sources=[{"type": "url", "url": url, "text": text} for url, text in sources]
                or None,
            )
            try:
                await self._replies.pacer.run(
                    self._channel, lambda: native.append(chunks=[chunk]), new_message=starting
                )
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

    async def finish(self, footer: str | None = None, *, feedback: bool = False) -> None:
        """Show the final text (plus footer); always leaves the reply in a final state.

        With `feedback`, the reply ends with Slack's feedback buttons.
        """
        await self.shown()
        self._closing.set()
        self._changed.set()
        if self._search_shown is not None:
            with contextlib.suppress(Exception):  # only informative
                await self.searched(())
        if self._loop_task:
            # The loop ends after its current write. Shielded: cancelling a post midway
            # could make Slack post it while we believe it failed.
            await asyncio.shield(self._loop_task)
        text = self._text if self._text.strip() else EMPTY_ANSWER
        final = text + (f"\n\n{footer}" if footer else "")
        async with self._native_lock:
            closed = self._native is not None and await self._stop_native(final, feedback=feedback)
        if not closed:
            await self._render(text, feedback=feedback, footer=footer)
        self.finished = True

    async def _flush_loop(self) -> None:
        # finish() sets _changed too, so this wait also ends on closing.
        await self._keep_panel_status_until(self._changed if self._live else self._closing)
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
        await self._render(self._text)

    async def _append_native(self) -> bool:
        """Send new text to the native stream; False when the reply must use chat.update."""
        async with self._native_lock:
            return await self._append_native_text()

    async def _append_native_text(self) -> bool:
        pending = self._text[self._native_sent :]
        if not pending:
            return True
        native = self._native or await self._open_native()
        starting = native.ts is None
        if starting:
            await self._before_first_write()
        # The SDK keeps text it could not send in its own buffer and sends it with the
        # next call, so count it as handed over now or it would go out twice.
        self._native_sent += len(pending)
        try:
            await self._replies.pacer.run(
                self._channel, lambda: native.append(markdown_text=pending), new_message=starting
            )
        except SlackApiError as error:
            return await self._leave_native(error, starting)
        if starting and native.ts:
            await self._on_message(native.ts, "writing")
            await self._drop_placeholder()
        return True

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
        try:
            await self._replies.pacer.run(
                self._channel,
                lambda: native.stop(markdown_text=rest if fits else None, blocks=blocks),
            )
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
        self, markdown: str, *, feedback: bool = False, footer: str | None = None
    ) -> None:
        """Show `markdown` (and `footer`, mrkdwn already) in the reply's messages."""
        if len(markdown) > RENDER_OFF_LOOP_CHARS:
            parts = await asyncio.to_thread(reply_parts, markdown, footer, feedback=feedback)
        else:
            parts = reply_parts(markdown, footer, feedback=feedback)
        for index, part in enumerate(parts):
            if index < len(self._messages):
                if self._shown[index] != part:
                    await self._safe_update(index, part, "writing")
                if self._messages[index] == self._placeholder:
                    # The status message now holds the answer's first part.
                    self._placeholder = None
                    await self._on_message(self._messages[index], "writing")
            else:
                if self._messages:
                    # Told before the next part is posted: a crash from here on keeps
                    # this one as it is.
                    await self._on_message(self._messages[-1], "full")
                else:
                    await self._before_first_write()
                ts = await self._replies.post(
                    self._channel, self._thread_ts, part.text, part.blocks
                )
                self._messages.append(ts)
                self._shown.append(part)
                await self._on_message(ts, "writing")

    async def _safe_update(self, index: int, part: Rendered, shows: MessageShows) -> None:
        try:
            await self._replies.update(self._channel, self._messages[index], part.text, part.blocks)
        except SlackApiError as error:
            if slack_error(error) != "message_not_found":
                raise
            # Someone deleted the message: carry on in a new one.
            self._messages[index] = await self._replies.post(
                self._channel, self._thread_ts, part.text, part.blocks
            )
            await self._on_message(self._messages[index], shows)
        self._shown[index] = part


class Step:
    """One step of an answer's work, as ReplyStream.step() shows it."""

    def __init__(self, stream: ReplyStream, task_id: str, status: str) -> None:
        self._stream = stream
        self._task_id = task_id
        self._status = status
        self._as_task = False

    async def show(self, state: str) -> None:
        self._as_task = await self._stream._show_step(self._task_id, self._status, state)

    async def retitle(self, status: str) -> None:
        """The step is now `status` (e.g. waiting for room to read, then reading)."""
        self._status = status
        await self.show("in_progress")

    async def end(self, outcome: str) -> None:
        if self._as_task:
            await self._stream._show_step(self._task_id, self._status, outcome)


@dataclass(frozen=True)
class Rendered:
    """One message of a reply as sent: its fallback text and its blocks."""

    text: str
    blocks: list[Block] | None = None


def reply_parts(
    markdown: str, footer: str | None = None, *, feedback: bool = False
) -> list[Rendered]:
    """The messages that show an answer, each within Slack's limits: its Markdown in
    `markdown` blocks and its tables in `table` blocks (slack_client.markdown).

    The footer (mrkdwn) closes the last message in section blocks: an answer cut off
    inside a code block must not swallow it. Past `MAX_REPLY_PARTS` a reply would flood
    the thread and the channel's posting budget, so it ends with `TOO_LONG` instead; the
    whole answer is still stored, so follow-ups can refer to all of it. Only as much of
    the answer as could be shown is parsed: this runs at every streamed update.
    """
    shown = _shown_of(markdown)
    parts = markdown_parts(shown) or markdown_parts(EMPTY_ANSWER)
    closing = [footer] if footer else []
    if len(parts) > MAX_REPLY_PARTS or len(shown) < len(markdown):
        parts = parts[:MAX_REPLY_PARTS]
        closing.insert(0, TOO_LONG)
    # The blocks show the answer; `text` is what notifications and search show, in the
    # mrkdwn Slack reads there.
    rendered = [Rendered(markdown_to_mrkdwn(part.text), part.blocks()) for part in parts]
    last = rendered[-1]
    sections = [section(piece) for note in closing for piece in split_message(note, SECTION_CHARS)]
    tail = sections + ([feedback_block()] if feedback else [])
    if tail:
        text = "\n\n".join([last.text, *closing])
        rendered[-1] = Rendered(text, [*(last.blocks or []), *tail])
    return rendered


def _shown_of(markdown: str) -> str:
    """As much of the answer as its messages can show, ending at a space or line end
    when there is one near the cut."""
    if len(markdown) <= CONVERTED_CHARS:
        return markdown
    cut = max(markdown.rfind(" ", 0, CONVERTED_CHARS), markdown.rfind("\n", 0, CONVERTED_CHARS))
    return markdown[: cut if cut > CONVERTED_CHARS - 1_000 else CONVERTED_CHARS]
