"""Text answers: the thread as context, trimmed to budget, streamed from the model."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace

from message_processor.admission.slots import READING_FILES, THINKING, WAITING_TO_READ, ModelSlots
from message_processor.conversation.context import ThreadContext, instructions
from message_processor.conversation.provenance import Outside, Provenance
from message_processor.conversation.summaries import GUIDANCE as VIEWED_GUIDANCE
from message_processor.conversation.summaries import ConversationDesk, ConversationRef
from message_processor.files.attachment_reader import AttachmentReader
from message_processor.files.attachments import Attachments
from message_processor.files.links import may_hold_links
from message_processor.memory import ThreadMemory
from message_processor.tools.desk import ToolDesk
from message_processor.tools.drawing import ImageTools, attached_images, image_list
from openai_client import (
    ChatTurn,
    GenerationSettings,
    ModelClient,
    ModelReply,
    ModelRequest,
    TokenCounter,
    ToolCall,
    ToolResult,
    Usage,
    input_budget,
    trim_to_budget,
)
from settings import Settings
from slack_client import IncomingMessage, ReplyStream
from tool_sources import ToolSource

# Rounds of tool calls in one answer (the model draws or edits, then says so), and
# calls run per round: each image costs money and up to a model call's time.
MAX_TOOL_ROUNDS = 2
MAX_CALLS = 4
NOT_MADE = f"Not made: at most {MAX_CALLS} images are drawn or edited per round."
# Below this much text, counting tokens takes less time than handing it to a thread.
COUNT_OFF_LOOP_CHARS = 20_000


@dataclass
class Spent:
    """Tokens an answer has cost so far. A call that is stopped midway reports no usage,
    so its share is estimated from what was sent and what had arrived."""

    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, usage: Usage) -> None:
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens

    def usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens)


@dataclass(frozen=True)
class _Turn:
    """One answer's working state, handed to the tools the model calls."""

    message: IncomingMessage
    stream: ReplyStream
    settings: Settings
    provenance: Provenance
    # The sources whose tools were offered to the model in this turn, and those tools'
    # names (at most the desk's cap of them).
    tool_sources: tuple[ToolSource, ...]
    outside_tools: frozenset[str]
    memory: ThreadMemory
    # Lines the person must see whatever the model writes (a daily limit reached).
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TextAnswer:
    reply: ModelReply
    near_budget: bool
    # Attached files that could not be used, or were only partly read, one line each,
    # for the reply's footer.
    unread_files: list[str]
    partly_read_files: list[str]
    # Lines the person must see whatever the model wrote (a daily limit reached).
    notices: list[str]
    # Whether it was written from content the asker did not write: a later turn that
    # holds this answer holds that content too.
    outside: bool
    # What it was written from, as (url, title): pages read, then pages the web search
    # cited; shown at its end.
    sources: list[tuple[str, str]]


class TextHandler:
    def __init__(
        self,
        context: ThreadContext,
        attachments: AttachmentReader,
        tools: ImageTools,
        desk: ToolDesk,
        conversations: ConversationDesk,
        model: ModelClient,
        counter: TokenCounter,
        slots: ModelSlots,
    ) -> None:
        self._context = context
        self._conversations = conversations
        self._attachments = attachments
        self._tools = tools
        self._desk = desk
        self._model = model
        self._counter = counter
        self._slots = slots

    async def answer(
        self,
        message: IncomingMessage,
        settings: Settings,
        stream: ReplyStream,
        spent: Spent,
        memory: ThreadMemory,
        about: ConversationRef | None = None,
    ) -> TextAnswer:
        """The answer to `message`, or, with `about`, a summary of that conversation.

        `spent` keeps what the model calls cost so far, for an answer that is stopped;
        `memory` is what storage keeps of the thread, and takes what the answer adds."""
        provenance = Provenance()
        if settings.thread_instructions and settings.thread_instructions_by != message.user:
            provenance.add(Outside.INSTRUCTIONS)
        if about is not None:
            provenance.add(Outside.CONVERSATION)
            turns, attached = (
                [ChatTurn("user", await self._conversations.task(message, about))],
                Attachments(),
            )
        else:
            turns, attached = await self._conversation(message, stream, provenance, memory)
        # A summary only reads a conversation: it has no use for outside tools, and
        # its asker may be of another organisation, which a shortcut does not tell.
        sources = self._desk.offered(message) if about is None else ()
        outside_tools = self._desk.tool_specs(sources)
        viewed_tools = self._conversations.tools_for(message)
        system = instructions() + self._tools.guidance()
        system += self._desk.guidance(outside_tools, sources)
        system += VIEWED_GUIDANCE if viewed_tools else ""
        system += _personal_instructions(settings)
        budget = input_budget(settings.model)
        if sum(len(turn.text) for turn in turns) > COUNT_OFF_LOOP_CHARS:
            # Counting tokens of a long thread is CPU work: keep it off the event loop.
            trimmed = await asyncio.to_thread(trim_to_budget, self._counter, system, turns, budget)
        else:
            trimmed = trim_to_budget(self._counter, system, turns, budget)
        request = ModelRequest(
            instructions=system,
            turns=trimmed.turns,
            settings=GenerationSettings(
                model=settings.model,
                temperature=settings.temperature,
                top_p=settings.top_p,
                reasoning_effort=settings.reasoning_effort,
                verbosity=settings.verbosity,
            ),
            tools=self._tools.tool_specs() + outside_tools + viewed_tools,
            web_search=settings.web_search,
            image_detail=settings.vision_detail,
        )
        # The status message was posted while the thread was read; no model call for a
        # reply that Slack refuses to show.
        await stream.shown()
        turn = _Turn(
            message,
            stream,
            settings,
            provenance,
            tool_sources=sources,
            outside_tools=frozenset(spec.name for spec in outside_tools),
            memory=memory,
        )
        reply = await self._ask(request, trimmed.tokens, turn, spent)
        return TextAnswer(
            reply=reply,
            near_budget=trimmed.near_budget,
            unread_files=attached.unread,
            partly_read_files=attached.partly_read,
            notices=list(dict.fromkeys(turn.notices)),
            outside=provenance.untrusted,
            sources=attached.sources + [(source.url, source.title) for source in reply.sources],
        )

    async def _conversation(
        self,
        message: IncomingMessage,
        stream: ReplyStream,
        provenance: Provenance,
        memory: ThreadMemory,
    ) -> tuple[list[ChatTurn], Attachments]:
        """The thread as turns, the newest carrying what was attached and, when the thread
        has images, their numbered list."""
        if not (message.files or message.is_thread_reply or may_hold_links(message.text)):
            # A plain question that starts a thread: no attachments, no images to list,
            # and no tasks or lookups spent finding that out (it matters under a burst).
            return await self._context.turns(message, provenance, memory), Attachments()
        has_files = bool(message.files) or may_hold_links(message.text)
        async with contextlib.AsyncExitStack() as steps:
            # Reading files is a step the person sees; waiting for room to read them too.
            reading = (
                await steps.enter_async_context(stream.step(READING_FILES)) if has_files else None
            )
            waited = False

            async def wait_shown() -> None:
                nonlocal waited
                if not waited and reading is not None:
                    waited = True
                    await stream.shown()
                    await reading.retitle(WAITING_TO_READ)

            memory.add_images(attached_images(message))
            turns, attached = await asyncio.gather(
                self._context.turns(message, provenance, memory),
                self._attachments.read(message, memory, wait_shown),
            )
            if reading is not None:
                if waited:
                    await reading.retitle(READING_FILES)
                reading.cite(attached.sources)
        if attached.sources:
            provenance.add(Outside.LINKS)
        if has_files:
            await stream.set_status(THINKING)
        # Listed once the thread read has numbered the images it found.
        listing = image_list(memory.images())
        # Documents come first and the person's words last, so trimming a turn that is
        # too long (which keeps its end) keeps the question. The model is told what could
        # not be read rather than left to guess.
        newest = turns[-1]
        notes = "".join(f"\n[Attachment not readable: {p}]" for p in attached.unread)
        text = "\n\n".join(
            [*([listing] if listing else []), *attached.documents, newest.text + notes]
        )
        turns[-1] = replace(newest, text=text, images=newest.images + tuple(attached.images))
        return turns, attached

    async def _run_tool(self, call: ToolCall, turn: _Turn) -> ToolResult:
        # A tool that was not offered is not run, whatever the model says.
        if call.name in turn.outside_tools:
            return await self._desk.run_tool(
                call, turn.message, turn.stream, turn.provenance, turn.tool_sources
            )
        if self._conversations.handles(call.name):
            turn.provenance.add(Outside.CONVERSATION)
            return await self._conversations.run_tool(call, turn.message, turn.stream)
        return await self._tools.run(
            call, turn.message, turn.stream, turn.settings, turn.notices, turn.memory
        )

    async def _ask(
        self, request: ModelRequest, request_tokens: int, turn: _Turn, spent: Spent
    ) -> ModelReply:
        """The model's answer, running the tools it calls (a few, for a round or two);
        its usage and the pages its searches cited are those of every round."""
        reply = await self._reply(request, request_tokens, turn, spent)
        usage = reply.usage
        cited = list(reply.sources)
        results: list[ToolResult] = []
        for round_number in range(1, MAX_TOOL_ROUNDS + 1):
            if not reply.tool_calls:
                break
            calls = reply.tool_calls
            results += [await self._run_tool(c, turn) for c in calls[:MAX_CALLS]]
            results += [ToolResult(c, NOT_MADE) for c in calls[MAX_CALLS:]]
            request = replace(
                request, tool_results=tuple(results), may_call_tools=round_number < MAX_TOOL_ROUNDS
            )
            reply = await self._reply(request, request_tokens, turn, spent)
            usage = Usage(
                input_tokens=usage.input_tokens + reply.usage.input_tokens,
                output_tokens=usage.output_tokens + reply.usage.output_tokens,
            )
            cited += reply.sources
        return replace(reply, usage=usage, sources=tuple(cited))

    async def _reply(
        self, request: ModelRequest, request_tokens: int, turn: _Turn, spent: Spent
    ) -> ModelReply:
        """One model call; if it is stopped midway, its cost so far is estimated into
        `spent` (the input as sent, the output that had arrived)."""
        stream = turn.stream

        def searching() -> None:
            # Pages found on the web are read before any tool this reply calls.
            turn.provenance.add(Outside.WEB)
            stream.searching()

        # A slot per model call, not per answer: a tool that runs between two calls (a
        # slow outside tool, a drawing) holds no slot someone else could use.
        async with self._slots.hold(stream):
            shown_before = len(stream.text)
            try:
                reply = await self._model.stream_reply(request, stream.append, searching)
            except asyncio.CancelledError:
                written = stream.text[shown_before:]
                spent.add(Usage(request_tokens, self._counter.count(written) if written else 0))
                raise
        spent.add(reply.usage)
        if reply.sources:
            turn.provenance.add(Outside.WEB)
        await stream.searched([(source.url, source.title) for source in reply.sources])
        return reply


def _personal_instructions(settings: Settings) -> str:
    """The channel's rules, the person's own wishes, then the thread's, after our own
    instructions: each labelled, so the model knows whose they are."""
    parts = []
    if settings.channel_instructions:
        parts.append(f"Instructions for this channel:\n{settings.channel_instructions}")
    if settings.instructions:
        parts.append(f"The person's own instructions:\n{settings.instructions}")
    if settings.thread_instructions:
        parts.append(f"Instructions for this thread:\n{settings.thread_instructions}")
    return "".join(f"\n\n{part}" for part in parts)
