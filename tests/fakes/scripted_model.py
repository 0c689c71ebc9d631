"""The tests' model: a marker language in prompts scripts what the fake OpenAI server answers.

`scripted_model()` is a `FakeOpenAI` that obeys the markers; `ScriptedAnswers` is its answer
strategy, for a test that builds the server itself or combines it with another strategy.

What the tests' model does is decided by markers in the last user message (several may
combine):

    (none)              answer f"Answer to: {last user text}" in 5 deltas
    [reply:TEXT]        answer exactly TEXT (TEXT ends at the first "]")
    [long:N]            N characters of prose and ```python blocks of 30 lines (the blocks
                        start at N of about 1,900), streamed in deltas of about 2,000
                        characters
    [chunks:N]          stream the answer in N deltas
    [delay:S]           wait S seconds before answering
    [chunk_delay:S]     wait S seconds between deltas
    [stall_after:K]     stream K deltas, then hold the stream open (streaming only)
    [hang]              accept the request and send nothing until the client disconnects
    [status:N]          answer HTTP N with OpenAI's error JSON (429 carries retry-after: 0,
                        which the SDK treats as "no advice": it still backs off ~0.4-0.5 s)
    [status_once:N]     like [status:N] for the first request with this exact user text only,
                        so the SDK's own retry gets a normal answer (`forget()` forgets)
    [web:N]             with the web_search tool offered (Responses API): search the web
                        first (a web_search_call item with its in_progress, searching and
                        completed events), then answer citing N pages as url_citation
                        annotations (https://example.com/source-{i}, "Source {i}")
    [tool:NAME:{json}]  call function NAME with those arguments instead of answering text;
                        once the request carries the call's output (Responses
                        `function_call_output` item, Chat `tool` message) the answer is
                        f"Tool result: {output}"
    [tool_rounds:N]     with [tool:...]: call the function again until the request carries
                        N outputs of it (N rounds of tool calls), then answer as above

The default answer also says what the model saw ({W}x{H} {FORMAT} per image, "0x0 URL" for
URLs):

    Answer to: {last user text} [saw {n} image(s): 2048x683 PNG, 640x480 JPEG]
                        when the last user message carries images
    Answer to: {last user text} [thread images: {n}]
                        when only earlier messages (or tool outputs) carry them

An image generation's or edit's prompt takes [hang], [delay:S], [status:N] and
[status_once:N] as above, and [refuse] is answered with 400 `moderation_blocked` like the real
safety system. A marker with a bad value (e.g. "[delay:soon]") is answered with 400 so a typo
in a test fails loudly.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from sandbox.model import (
    Answer,
    Failure,
    FakeOpenAI,
    FunctionCall,
    Hang,
    ImageReply,
    ModelReply,
    ModelRequest,
    Prompt,
    SeenImage,
    split_even,
)
from tests.botproc import OPENAI_KEY

JsonDict = dict[str, Any]

DEFAULT_PIECES = 5
LONG_DELTA_CHARS = 2_000
CODE_BLOCK_LINES = 30
REFUSE_MARKER = "[refuse]"
# The error message of a [status:N] answer; other statuses get FALLBACK_STATUS_MESSAGE.
STATUS_MESSAGES = {
    400: "Fake bad request ([status:400]).",
    401: "Incorrect API key provided.",
    429: "Rate limit reached (fake [status:429]).",
    500: "The server had an error while processing your request.",
    503: "The server is overloaded or not ready yet.",
}
FALLBACK_STATUS_MESSAGE = "Fake error."


def scripted_model(*, api_key: str | None = OPENAI_KEY) -> FakeOpenAI:
    """A fake OpenAI server that answers as the markers in its prompts say."""
    return FakeOpenAI(ScriptedAnswers(), api_key=api_key)


class ScriptedAnswers:
    """The answer strategy of the marker language."""

    def __init__(self) -> None:
        self._failed_once: set[str] = set()

    def forget(self) -> None:
        """Forget which texts [status_once:N] has failed, so they fail once more."""
        self._failed_once.clear()

    async def model_reply(self, request: ModelRequest) -> ModelReply:
        markers = await self._obey(request.prompt.last_user_text)
        if not isinstance(markers, Markers):
            return markers
        return with_web_search(plan_answer(markers, request.prompt), markers, request.tools)

    async def image_reply(self, prompt: str) -> ImageReply:
        markers = await self._obey(prompt)
        if not isinstance(markers, Markers):
            return markers
        return "refuse" if REFUSE_MARKER in prompt else "draw"

    async def _obey(self, text: str) -> Markers | Failure | Hang:
        """The markers in `text` after [delay:S] has been waited out, or the reply that
        [hang], a bad marker, [status:N] or [status_once:N] calls for."""
        try:
            markers = parse_markers(text)
        except MarkerError as error:
            return Failure(400, str(error))
        if markers.hang:
            return Hang()
        if markers.delay:
            await asyncio.sleep(markers.delay)
        status = self._failure_status(markers, text)
        if status is not None:
            return Failure(status, STATUS_MESSAGES.get(status, FALLBACK_STATUS_MESSAGE))
        return markers

    def _failure_status(self, markers: Markers, text: str) -> int | None:
        if markers.status is not None:
            return markers.status
        # Keyed by the whole user text, so each test message fails once, retries included.
        if markers.status_once is not None and text not in self._failed_once:
            self._failed_once.add(text)
            return markers.status_once
        return None


# --------------------------------------------------------------------------- markers


class MarkerError(ValueError):
    """A marker with an unusable value. Answered with 400 so a typo in a test fails loudly."""


@dataclass(frozen=True)
class Markers:
    """The markers of one text; a [tool:] call's arguments are the JSON exactly as written."""

    hang: bool = False
    delay: float = 0.0
    stall_after: int | None = None
    chunk_delay: float = 0.0
    status: int | None = None
    status_once: int | None = None
    long: int | None = None
    reply: str | None = None
    chunks: int | None = None
    web: int | None = None
    tool_rounds: int = 1
    tool: FunctionCall | None = None


_MARKER = re.compile(
    r"\[(hang|delay|stall_after|chunk_delay|status_once|status|long|reply|chunks|web|tool_rounds)"
    r"(?::([^\]]*))?\]"
)
# Function names follow OpenAI's rule ^[a-zA-Z0-9_-]{1,64}$; arguments are parsed as JSON
# separately because they may contain "]".
_TOOL_MARKER = re.compile(r"\[tool:([A-Za-z0-9_-]{1,64})(?::\s*|\])")
_TOOL_MARKER_END = re.compile(r"\s*\]")
_FLOAT_MARKERS = frozenset({"delay", "chunk_delay"})
_MARKER_MINIMUM = {"chunks": 1, "status": 400, "status_once": 400, "tool_rounds": 1}
_MAX_STATUS = 599


def parse_markers(text: str) -> Markers:
    """The behaviour markers in `text`; the first occurrence of each marker wins."""
    tool, rest = _take_tool_marker(text)
    values: dict[str, Any] = {}
    for match in _MARKER.finditer(rest):
        name = match.group(1)
        if name not in values:
            values[name] = _marker_value(name, match.group(2), match.group(0))
    return Markers(tool=tool, **values)


def _take_tool_marker(text: str) -> tuple[FunctionCall | None, str]:
    """The [tool:...] marker, and the text without it (so JSON strings cannot look like markers)."""
    match = _TOOL_MARKER.search(text)
    if match is None:
        return None, text
    name = match.group(1)
    if match.group(0).endswith("]"):
        return FunctionCall(name, "{}"), text[: match.start()] + text[match.end() :]
    try:
        arguments, end = json.JSONDecoder().raw_decode(text, match.end())
    except json.JSONDecodeError:
        raise MarkerError(f"[tool:{name}:...] needs a JSON object after the name") from None
    closing = _TOOL_MARKER_END.match(text, end)
    if not isinstance(arguments, dict) or closing is None:
        raise MarkerError(f"[tool:{name}:...] needs a JSON object followed by ']'")
    call = FunctionCall(name, text[match.end() : end])
    return call, text[: match.start()] + text[closing.end() :]


def _marker_value(name: str, raw: str | None, marker: str) -> object:
    if name == "hang":
        return True
    if name == "reply":
        return raw or ""
    try:
        if raw is None:
            raise ValueError(marker)
        value = float(raw) if name in _FLOAT_MARKERS else int(raw)
    except ValueError:
        raise MarkerError(f"fake marker {marker} needs a number") from None
    too_big = name.startswith("status") and value > _MAX_STATUS
    if not math.isfinite(value) or value < _MARKER_MINIMUM.get(name, 0) or too_big:
        raise MarkerError(f"fake marker {marker} is out of range")
    return value


# --------------------------------------------------------------------------- planning


def plan_answer(markers: Markers, prompt: Prompt) -> Answer:
    """Decide the answer. Precedence: tool result, tool call, [reply:], [long:], default
    (which describes the request's images, if any)."""
    call: FunctionCall | None = None
    more_rounds = markers.tool is not None and prompt.tool_outputs < markers.tool_rounds
    if prompt.tool_output is not None and not more_rounds:
        text = f"Tool result: {prompt.tool_output}"
    elif markers.tool is not None:
        call, text = markers.tool, ""
    elif markers.reply is not None:
        text = markers.reply
    elif markers.long is not None:
        text = long_answer(markers.long)
    else:
        text = f"Answer to: {prompt.last_user_text}{image_note(prompt.images)}"
    streamed = call.arguments if call else text
    pieces = split_even(streamed, _piece_count(markers, streamed))
    return Answer(
        text, call, pieces, piece_delay=markers.chunk_delay, stall_after=markers.stall_after
    )


def with_web_search(answer: Answer, markers: Markers, tools: tuple[JsonDict, ...]) -> Answer:
    """[web:N] searches the web first and cites N pages, when the request offers the
    web_search tool (Responses API) and the answer is text."""
    offered = any(tool.get("type") == "web_search" for tool in tools)
    if not (markers.web and offered and answer.call is None):
        return answer
    sources = tuple(
        (f"https://example.com/source-{i}", f"Source {i}") for i in range(1, markers.web + 1)
    )
    return replace(answer, sources=sources)


def _piece_count(markers: Markers, streamed: str) -> int:
    if markers.chunks is not None:
        return markers.chunks
    if markers.long is not None:
        return math.ceil(len(streamed) / LONG_DELTA_CHARS)
    return DEFAULT_PIECES


_PROSE = (
    "The fake model writes this paragraph so that long answers look like real ones: "
    "sentences of ordinary words, a little punctuation, and enough length to force the bot "
    "to split its Slack messages at sensible places rather than in the middle of a word. "
)


def long_answer(size: int) -> str:
    """`size` characters of paragraphs, each followed by a 30-line ```python block.

    Where a paragraph and a block no longer fit, only prose is added (cut to fit), so a code
    fence is never left open; below about 1,900 characters the answer is prose only.
    """
    blocks: list[str] = []
    remaining = size
    index = 0
    while remaining > 0:
        paragraph, code = f"Part {index + 1}. {_PROSE * 2}".strip(), _code_block(index)
        if remaining >= len(paragraph) + len(code) + 4:  # +2 per blank line between blocks
            blocks += [paragraph, code]
        else:
            blocks.append(paragraph[:remaining])
        remaining = size - len("\n\n".join(blocks)) - 2
        index += 1
    return "\n\n".join(blocks)


def _code_block(index: int) -> str:
    steps = range(1, CODE_BLOCK_LINES - 1)  # between the def line and the return line
    body = [f"    value = value * {step} + {index}  # step {step}" for step in steps]
    lines = [f"def step_{index}(value: int) -> int:", *body, "    return value"]
    return "```python\n" + "\n".join(lines) + "\n```"


def image_note(images: tuple[SeenImage, ...]) -> str:
    """What the default answer adds about a request's images ("" when it has none)."""
    latest = [image for image in images if image.in_last_user_message]
    if latest:
        described = ", ".join(image.describe() for image in latest)
        return f" [saw {len(latest)} image(s): {described}]"
    return f" [thread images: {len(images)}]" if images else ""
