"""A fake OpenAI HTTP API on 127.0.0.1, for tests and benchmarks.

`FakeOpenAI` serves `POST /v1/responses`, `POST /v1/chat/completions` (both streaming and not)
and `GET /v1/models` in the wire formats the real `openai` SDK parses; tests/test_fake_openai.py
checks every format with the SDK's strict response validation, so a missing field fails there
rather than as an AttributeError deep inside the bot.

What the "model" does is decided by markers in the last user message (several may combine):

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
                        so the SDK's own retry gets a normal answer (reset() forgets)
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

Requests for reasoning models (o1, o3, o4-mini, gpt-5*) that carry `temperature` or `top_p`
are rejected with 400 `unsupported_parameter`, as the real API does. A marker with a bad value
(e.g. "[delay:soon]") is answered with 400 so a typo in a test fails loudly.

Images in user messages (Responses `input_image` parts, Chat `image_url` parts) are base64 data
URLs of image/png, image/jpeg, image/gif or image/webp (at most 20 MB decoded), or http(s) URLs,
which are recorded but not fetched. Each one is opened with Pillow and recorded as a `SeenImage`
in `RecordedRequest.images`; a data URL that is not base64, not an image or of another MIME type
is answered with 400 `invalid_image_format`, one over 20 MB with 400 `image_too_large`. The
default answer then says what the model saw ({W}x{H} {FORMAT} per image, "0x0 URL" for URLs):

    Answer to: {last user text} [saw {n} image(s): 2048x683 PNG, 640x480 JPEG]
                        when the last user message carries images
    Answer to: {last user text} [thread images: {n}]
                        when only earlier messages (or tool outputs) carry them

`POST /v1/images/generations` (JSON) and `POST /v1/images/edits` (multipart: `prompt`, `model`
and the other fields as text, the images as `image` parts, or `image[]` parts when the SDK is
given a list, and an optional `mask`) answer with solid-colour images (the colour follows the
prompt) of the requested `size`: 1024x1024 by default for generations, the first input's size
for edits. `n`, `output_format` (png, jpeg, webp), `quality` and `background` are honoured and
echoed. The prompt takes [hang], [delay:S], [status:N] and [status_once:N] as above, and
[refuse] is answered with 400 `moderation_blocked` like the real safety system. Edit uploads
must be labelled image/png, image/jpeg or image/webp: like the real API the fake rejects
application/octet-stream (what the SDK sends for bare bytes) with 400
`unsupported_file_mimetype`. An edit's inputs are recorded in `RecordedRequest.images` (as
`in_last_user_message=True`, `message_index=0`), its mask in `RecordedRequest.mask`, and its
text fields, strings as sent, in `RecordedRequest.body`.

`hung_requests` / `stalled_requests` count requests held by [hang] / [stall_after:K], and
`wait_for()` lets a test wait for such states without polling.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import io
import itertools
import json
import math
import re
import struct
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, Protocol

from aiohttp import BodyPartReader, web
from PIL import Image, UnidentifiedImageError

JsonDict = dict[str, Any]

DEFAULT_PIECES = 5
LONG_DELTA_CHARS = 2_000
CODE_BLOCK_LINES = 30
# Images arrive as base64 data URLs; aiohttp's 1 MiB default body limit would answer 413.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
# Long enough for the graceful phase of aiohttp's shutdown, short enough not to stall a test
# run; stop() cancels our own handlers first, so this is only a backstop.
SHUTDOWN_TIMEOUT_SECONDS = 1.0
MODELS = (
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5.4-mini",
    "o3",
    "o4-mini",
)

# Vision inputs: what the real API accepts in a data URL, and its size limit.
VISION_MIME_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_VISION_IMAGE_BYTES = 20 * 1024 * 1024
# Image edits: the upload types the real API accepts, and its per-file limit.
EDIT_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_EDIT_IMAGE_BYTES = 50 * 1024 * 1024
DEFAULT_IMAGE_SIZE = (1024, 1024)
MAX_IMAGE_EDGE = 4096
MAX_IMAGES_PER_REQUEST = 10  # `n` of a generation or an edit

_REASONING_MODEL = re.compile(r"o\d|gpt-([5-9]|\d\d)(?!.*chat)")
_SAMPLING_PARAMETERS = ("temperature", "top_p")
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


# --------------------------------------------------------------------------- recorded traffic


@dataclass(frozen=True)
class SeenImage:
    """An image a request carried, as the fake decoded it.

    `format` is Pillow's ("PNG", "JPEG", "GIF", "WEBP", "MPO" for multi-picture JPEGs), "URL"
    for an http(s) URL (0x0: never fetched) or "FILE" for a Responses `file_id`; `mime` is the
    data URL's or the upload's MIME type ("" for URLs and files). `message_index` is the
    position in `input` / `messages` of the item that carried the image; it is left out of
    comparisons so tests can compare against the six other fields.
    """

    width: int
    height: int
    format: str
    mime: str
    detail: str | None
    in_last_user_message: bool
    message_index: int = field(default=0, compare=False)

    def describe(self) -> str:
        return f"{self.width}x{self.height} {self.format}"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. Header names are lower-cased; `at` is monotonic.

    `images` are the request's images in order: the image parts of its messages, or an edit's
    input files; `mask` is an edit's mask. A request rejected for a bad image records none.
    """

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    images: list[SeenImage] = field(default_factory=list)
    mask: SeenImage | None = None


# --------------------------------------------------------------------------- markers


class MarkerError(ValueError):
    """A marker with an unusable value. Answered with 400 so a typo in a test fails loudly."""


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: str  # the JSON text exactly as written in the marker


@dataclass(frozen=True)
class Markers:
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


# --------------------------------------------------------------------------- images


class ImageError(ValueError):
    """An image the real API would refuse; answered with 400 and this code."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param

    def response(self, param: str | None = None) -> web.Response:
        message, code = str(self), self.code
        return api_error(
            400, message, kind="invalid_request_error", code=code, param=self.param or param
        )


_DATA_URL = re.compile(r"data:([^,;]*)((?:;[^,;]*)*),(.*)", re.DOTALL)
# What Pillow may call an image of the accepted types (MPO: a JPEG with several pictures).
_VISION_FORMATS = frozenset({"PNG", "JPEG", "MPO", "GIF", "WEBP"})
_EDIT_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP"})
# What Pillow raises on bytes it cannot read, besides UnidentifiedImageError (an OSError).
_UNREADABLE = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)


def open_image(data: bytes) -> tuple[int, int, str]:
    """(width, height, Pillow format) of an encoded image; ValueError if it is not one.

    Only the header is decoded and the file's structure checked (`verify`), so large images
    cost little; a truncated PNG fails, a JPEG with corrupt pixel data may pass.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height, image_format = image.width, image.height, image.format or ""
            image.verify()
    except UnidentifiedImageError:
        raise ValueError("not an image file Pillow can identify") from None
    except _UNREADABLE as error:
        raise ValueError(f"cannot read the image: {error}") from None
    return width, height, image_format


def _unsupported_image(reason: str) -> ImageError:
    formats = ", ".join(f"'{mime}'" for mime in VISION_MIME_TYPES)
    message = (
        f"The image data you provided does not represent a valid image ({reason}). Please "
        f"check your input and try again with one of the supported image formats: [{formats}]."
    )
    return ImageError(message, code="invalid_image_format")


def decode_image_url(url: str, *, detail: str | None, message_index: int) -> SeenImage:
    """A vision input's image: a base64 data URL decoded with Pillow, or an http(s) URL."""
    if url.startswith(("https://", "http://")):
        return SeenImage(0, 0, "URL", "", detail, False, message_index)
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise ImageError(
            f"Invalid image URL: expected a base64 data URL or an http(s) URL, got {url[:40]!r}.",
            code="invalid_image_url",
        )
    mime, parameters, data = match.group(1).lower(), match.group(2), match.group(3)
    if mime not in VISION_MIME_TYPES:
        raise _unsupported_image(f"unsupported MIME type {mime!r}")
    if ";base64" not in parameters.lower():
        raise _unsupported_image("the data URL is not base64-encoded")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _unsupported_image("the data is not valid base64") from None
    if len(raw) > MAX_VISION_IMAGE_BYTES:
        raise ImageError(
            f"Image too large: {len(raw)} bytes, the limit is 20 MB "
            f"({MAX_VISION_IMAGE_BYTES} bytes).",
            code="image_too_large",
        )
    try:
        width, height, image_format = open_image(raw)
    except ValueError as error:
        raise _unsupported_image(str(error)) from None
    if image_format not in _VISION_FORMATS:
        raise _unsupported_image(f"the data is a {image_format} image")
    return SeenImage(width, height, image_format, mime, detail, False, message_index)


def _content_images(content: object, message_index: int) -> list[SeenImage]:
    """The images among a message's content parts (Responses and Chat part shapes)."""
    images: list[SeenImage] = []
    for part in _dicts(content):
        kind = part.get("type")
        reference: object = part.get("image_url")
        detail: object = None
        if kind == "input_image":  # Responses: image_url is the URL itself
            detail = part.get("detail")
            if reference is None and isinstance(part.get("file_id"), str):
                images.append(SeenImage(0, 0, "FILE", "", _detail(detail), False, message_index))
                continue
        elif kind == "image_url":  # Chat: image_url is {"url": ..., "detail": ...}
            if isinstance(reference, dict):
                detail = reference.get("detail")
                reference = reference.get("url")
        else:
            continue
        if not isinstance(reference, str):
            raise ImageError(
                "Missing required parameter: the image part has no image URL.",
                code="missing_required_parameter",
            )
        images.append(
            decode_image_url(reference, detail=_detail(detail), message_index=message_index)
        )
    return images


def _detail(value: object) -> str | None:
    return value if isinstance(value, str) else None


def image_note(images: tuple[SeenImage, ...] | list[SeenImage]) -> str:
    """What the default answer adds about a request's images ("" when it has none)."""
    latest = [image for image in images if image.in_last_user_message]
    if latest:
        described = ", ".join(image.describe() for image in latest)
        return f" [saw {len(latest)} image(s): {described}]"
    return f" [thread images: {len(images)}]" if images else ""


# --------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompt:
    """What the fake needs from a request's conversation."""

    last_user_text: str
    input_chars: int
    tool_output: str | None  # output of a function call that follows the last user message
    images: tuple[SeenImage, ...] = ()
    tool_outputs: int = 0  # how many function outputs follow the last user message

    @property
    def input_tokens(self) -> int:
        return max(1, self.input_chars // 4)


class _PromptBuilder:
    def __init__(self) -> None:
        self.chars = 0
        self.last_user_text = ""
        self.last_user_index: int | None = None
        self.tool_output: str | None = None
        self.tool_outputs = 0
        self.images: list[SeenImage] = []

    def text(self, text: str) -> None:
        self.chars += len(text)

    def message(self, role: object, content: object, index: int) -> None:
        text = _text_of(content)
        self.text(text)
        self.images += _content_images(content, index)
        if role == "user":
            self.last_user_text = text
            self.last_user_index = index
            # A new user turn starts a new exchange: earlier tool results are history.
            self.tool_output = None
            self.tool_outputs = 0

    def tool_result(self, output: object, index: int) -> None:
        text = _text_of(output)
        self.text(text)
        self.images += _content_images(output, index)
        self.tool_output = text
        self.tool_outputs += 1

    def build(self) -> Prompt:
        images = tuple(
            replace(image, in_last_user_message=image.message_index == self.last_user_index)
            for image in self.images
        )
        return Prompt(self.last_user_text, self.chars, self.tool_output, images, self.tool_outputs)


def _text_of(content: object) -> str:
    """A message's text: a plain string, or the text parts of a part list (images skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        return "\n".join(text for text in texts if isinstance(text, str))
    return ""


def _dicts(value: object) -> list[JsonDict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _indexed_dicts(value: object) -> list[tuple[int, JsonDict]]:
    """The objects of a JSON array with their positions in it."""
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, dict)]


def responses_prompt(body: JsonDict) -> Prompt:
    """Responses API `input`: a string, or items (messages, function calls and their outputs).

    Raises ImageError for an image the real API would refuse."""
    builder = _PromptBuilder()
    builder.text(_text_of(body.get("instructions")))
    raw_input = body.get("input")
    items = [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
    for index, item in _indexed_dicts(items):
        kind = item.get("type", "message")
        if kind == "message":
            builder.message(item.get("role"), item.get("content"), index)
        elif kind == "function_call_output":
            builder.tool_result(item.get("output"), index)
        elif kind == "function_call":
            builder.text(str(item.get("arguments", "")))
    return builder.build()


def chat_prompt(body: JsonDict) -> Prompt:
    """Chat Completions `messages`, including assistant tool calls and `tool` results.

    Raises ImageError for an image the real API would refuse."""
    builder = _PromptBuilder()
    for index, message in _indexed_dicts(body.get("messages")):
        content = message.get("content")
        if message.get("role") == "tool":
            builder.tool_result(content, index)
        else:
            builder.message(message.get("role"), content, index)
        for call in _dicts(message.get("tool_calls")):
            function = call.get("function")
            if isinstance(function, dict):
                builder.text(str(function.get("arguments", "")))
    return builder.build()


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    text: str  # empty when the model calls a function
    call: FunctionCall | None
    pieces: tuple[str, ...]  # the streamed deltas: of the text, or of the call's arguments
    # Pages the answer cites after searching the web: (url, title).
    sources: tuple[tuple[str, str], ...] = ()

    @property
    def output_tokens(self) -> int:
        return len(self.call.arguments if self.call else self.text) // 4 + 1


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
    return Answer(text, call, split_even(streamed, _piece_count(markers, streamed)))


def with_web_search(answer: Answer, markers: Markers, body: JsonDict) -> Answer:
    """[web:N] searches the web first and cites N pages, when the request offers the
    web_search tool (Responses API) and the answer is text."""
    offered = any(tool.get("type") == "web_search" for tool in _dicts(body.get("tools")))
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


def split_even(text: str, count: int) -> tuple[str, ...]:
    """`text` in `count` nearly equal, non-empty pieces (fewer if the text is shorter)."""
    if not text:
        return ()
    count = max(1, min(count, len(text)))
    size, extra = divmod(len(text), count)
    pieces: list[str] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return tuple(pieces)


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


# --------------------------------------------------------------------------- wire formats


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _sse_data(payload: JsonDict) -> bytes:
    return f"data: {_dumps(payload)}\n\n".encode()


class _Wire(Protocol):
    """One answer in one API's format: streamed as opening + deltas + closing, or whole."""

    def opening(self) -> bytes: ...
    def delta(self, piece: str) -> bytes: ...
    def closing(self) -> bytes: ...
    def final(self) -> JsonDict: ...


_WireFactory = Callable[[JsonDict, Prompt, Answer], _Wire]


def _text_part(text: str) -> JsonDict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _echo_tool(tool: JsonDict) -> JsonDict:
    """A request's tool as the API echoes it back: function tools get their defaults filled."""
    if tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }


class ResponsesWire:
    """The Responses API: `event:`/`data:` SSE with sequence numbers, or a Response object."""

    def __init__(self, body: JsonDict, prompt: Prompt, answer: Answer) -> None:
        self._body = body
        self._prompt = prompt
        self._answer = answer
        self._sequence = itertools.count()
        self._response_id = _new_id("resp_")
        self._item_id = _new_id("fc_" if answer.call else "msg_")
        self._call_id = _new_id("call_")
        self._search_id = _new_id("ws_")
        # A web search comes first in the output; the message follows it.
        self._index = 1 if answer.sources else 0
        self._created_at = int(time.time())

    def opening(self) -> bytes:
        events = [
            self._event("response.created", response=self._response("in_progress")),
            self._event("response.in_progress", response=self._response("in_progress")),
        ]
        if self._answer.sources:
            events += self._web_search()
        events.append(
            self._event(
                "response.output_item.added", output_index=self._index, item=self._item(False)
            )
        )
        if self._answer.call is None:
            events.append(
                self._event("response.content_part.added", part=_text_part(""), **self._at)
            )
        return b"".join(events)

    def delta(self, piece: str) -> bytes:
        if self._answer.call is not None:
            return self._event(
                "response.function_call_arguments.delta",
                item_id=self._item_id,
                output_index=0,
                delta=piece,
            )
        return self._event("response.output_text.delta", delta=piece, logprobs=[], **self._at)

    def closing(self) -> bytes:
        call, text = self._answer.call, self._answer.text
        if call is not None:
            done = [
                self._event(
                    "response.function_call_arguments.done",
                    item_id=self._item_id,
                    output_index=0,
                    arguments=call.arguments,
                )
            ]
        else:
            done = [
                self._event(
                    "response.output_text.annotation.added",
                    annotation_index=index,
                    annotation=annotation,
                    **self._at,
                )
                for index, annotation in enumerate(self._annotations())
            ]
            done += [
                self._event("response.output_text.done", text=text, logprobs=[], **self._at),
                self._event("response.content_part.done", part=self._part(), **self._at),
            ]
        done.append(
            self._event(
                "response.output_item.done", output_index=self._index, item=self._item(True)
            )
        )
        done.append(self._event("response.completed", response=self.final()))
        return b"".join(done)

    def final(self) -> JsonDict:
        return self._response("completed")

    @property
    def _at(self) -> JsonDict:
        """Where text events point: the message item's only content part."""
        return {"item_id": self._item_id, "output_index": self._index, "content_index": 0}

    def _web_search(self) -> list[bytes]:
        at = {"item_id": self._search_id, "output_index": 0}
        return [
            self._event("response.output_item.added", output_index=0, item=self._search(False)),
            self._event("response.web_search_call.in_progress", **at),
            self._event("response.web_search_call.searching", **at),
            self._event("response.web_search_call.completed", **at),
            self._event("response.output_item.done", output_index=0, item=self._search(True)),
        ]

    def _search(self, completed: bool) -> JsonDict:
        return {
            "id": self._search_id,
            "type": "web_search_call",
            "status": "completed" if completed else "in_progress",
            "action": {"type": "search", "query": self._prompt.last_user_text[:100]},
        }

    def _annotations(self) -> list[JsonDict]:
        end = len(self._answer.text)
        return [
            {"type": "url_citation", "url": url, "title": title, "start_index": 0, "end_index": end}
            for url, title in self._answer.sources
        ]

    def _part(self) -> JsonDict:
        return {**_text_part(self._answer.text), "annotations": self._annotations()}

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": next(self._sequence), **fields}
        return f"event: {kind}\ndata: {_dumps(payload)}\n\n".encode()

    def _item(self, completed: bool) -> JsonDict:
        status = "completed" if completed else "in_progress"
        call = self._answer.call
        if call is not None:
            return {
                "id": self._item_id,
                "type": "function_call",
                "status": status,
                "call_id": self._call_id,
                "name": call.name,
                "arguments": call.arguments if completed else "",
            }
        content = [self._part()] if completed else []
        return {
            "id": self._item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def _response(self, status: str) -> JsonDict:
        body, completed = self._body, status == "completed"
        return {
            "id": self._response_id,
            "object": "response",
            "created_at": self._created_at,
            "completed_at": int(time.time()) if completed else None,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": body.get("model", MODELS[0]),
            "output": self._output() if completed else [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None, **(body.get("reasoning") or {})},
            "service_tier": "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, **(body.get("text") or {})},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": [_echo_tool(tool) for tool in _dicts(body.get("tools"))],
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": self._usage() if completed else None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }

    def _output(self) -> list[JsonDict]:
        searched = [self._search(True)] if self._answer.sources else []
        return [*searched, self._item(True)]

    def _usage(self) -> JsonDict:
        input_tokens, output_tokens = self._prompt.input_tokens, self._answer.output_tokens
        return {
            "input_tokens": input_tokens,
            # openai 3.51's InputTokensDetails requires cache_write_tokens as well.
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }


class ChatWire:
    """Chat Completions: `data:` chunks ending in `[DONE]`, or a chat.completion object."""

    def __init__(self, body: JsonDict, prompt: Prompt, answer: Answer) -> None:
        self._body = body
        self._prompt = prompt
        self._answer = answer
        self._id = _new_id("chatcmpl-")
        self._call_id = _new_id("call_")
        self._created = int(time.time())
        options = body.get("stream_options")
        self._include_usage = isinstance(options, dict) and options.get("include_usage") is True

    def opening(self) -> bytes:
        call = self._answer.call
        if call is None:
            return self._chunk({"role": "assistant", "content": "", "refusal": None})
        tool_call = {
            "index": 0,
            "id": self._call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        return self._chunk({"role": "assistant", "content": None, "tool_calls": [tool_call]})

    def delta(self, piece: str) -> bytes:
        if self._answer.call is not None:
            return self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        return self._chunk({"content": piece})

    def closing(self) -> bytes:
        chunks = [self._chunk({}, finish_reason=self._finish_reason)]
        if self._include_usage:
            usage_only = {**self._envelope("chat.completion.chunk"), "choices": []}
            chunks.append(_sse_data({**usage_only, "usage": self._usage()}))
        chunks.append(b"data: [DONE]\n\n")
        return b"".join(chunks)

    def final(self) -> JsonDict:
        call = self._answer.call
        message: JsonDict = {
            "role": "assistant",
            "content": None if call else self._answer.text,
            "refusal": None,
            "annotations": [],
        }
        if call is not None:
            function = {"name": call.name, "arguments": call.arguments}
            message["tool_calls"] = [
                {"id": self._call_id, "type": "function", "function": function}
            ]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": self._finish_reason,
        }
        return {**self._envelope("chat.completion"), "choices": [choice], "usage": self._usage()}

    @property
    def _finish_reason(self) -> str:
        return "tool_calls" if self._answer.call else "stop"

    def _envelope(self, kind: str) -> JsonDict:
        return {
            "id": self._id,
            "object": kind,
            "created": self._created,
            "model": self._body.get("model", MODELS[0]),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, delta: JsonDict, *, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk = {**self._envelope("chat.completion.chunk"), "choices": [choice]}
        if self._include_usage:
            chunk["usage"] = None  # the real API sends an explicit null until the last chunk
        return _sse_data(chunk)

    def _usage(self) -> JsonDict:
        prompt_tokens, completion_tokens = self._prompt.input_tokens, self._answer.output_tokens
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


# --------------------------------------------------------------------------- image endpoints


REFUSE_MARKER = "[refuse]"
_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")
_OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_BACKGROUNDS = ("auto", "opaque", "transparent")
# The qualities ImagesResponse may echo; "auto" (and anything else) is answered as "medium".
_QUALITIES = ("low", "medium", "high", "xhigh", "max")
# Output tokens of one 1024x1024 image (gpt-image-1's published figures for low to high).
_QUALITY_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320}
_IMAGE_FIELD = re.compile(r"image(?:\[\d*\])?")


@dataclass(frozen=True)
class ImageOrder:
    """What an image generation or edit asked for, validated."""

    prompt: str
    width: int
    height: int
    count: int
    output_format: str  # "png", "jpeg" or "webp"
    quality: str  # as echoed: one of _QUALITIES
    transparent: bool


def image_order(body: JsonDict, prompt: str, default_size: tuple[int, int]) -> ImageOrder:
    """The request's image parameters; ImageError (`invalid_value`) for one the API refuses.

    Multipart fields arrive as strings, so `n` may be "2"."""
    size = body.get("size")
    if size is None or size == "auto":
        width, height = default_size
    else:
        match = _SIZE.fullmatch(str(size))
        edges = [int(edge) for edge in match.groups()] if match else []
        if not edges or not all(1 <= edge <= MAX_IMAGE_EDGE for edge in edges):
            raise _invalid_value("size", size, f"'WIDTHxHEIGHT' (edges up to {MAX_IMAGE_EDGE})")
        width, height = edges
    count = _integer(body.get("n", 1))
    if count is None or not 1 <= count <= MAX_IMAGES_PER_REQUEST:
        raise _invalid_value("n", body.get("n"), f"integers from 1 to {MAX_IMAGES_PER_REQUEST}")
    output_format = body.get("output_format") or "png"
    if output_format not in _OUTPUT_FORMATS:
        raise _invalid_value("output_format", output_format, "'png', 'jpeg' and 'webp'")
    background = body.get("background") or "auto"
    if background not in _BACKGROUNDS:
        raise _invalid_value("background", background, "'auto', 'opaque' and 'transparent'")
    transparent = background == "transparent"
    if transparent and output_format == "jpeg":
        raise ImageError(
            "A transparent background needs output_format 'png' or 'webp'.",
            code="invalid_value",
            param="background",
        )
    quality = body.get("quality")
    quality = quality if quality in _QUALITIES else "medium"
    return ImageOrder(prompt, width, height, count, output_format, quality, transparent)


def _invalid_value(param: str, value: object, supported: str) -> ImageError:
    message = f"Invalid value for '{param}': {value!r}. Supported values are: {supported}."
    return ImageError(message, code="invalid_value", param=param)


def _integer(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def images_response(order: ImageOrder, inputs: tuple[SeenImage, ...] = ()) -> JsonDict:
    """An ImagesResponse: `order.count` solid-colour images (the colour follows the prompt).

    GPT image models return base64 only: no `url` and no `revised_prompt`."""
    encoded = _render_image(
        order.width, order.height, _colour(order.prompt), order.output_format, order.transparent
    )
    text_tokens = max(1, len(order.prompt) // 4)
    image_tokens = sum(_input_image_tokens(image) for image in inputs)
    scale = order.width * order.height / (1024 * 1024)
    output_tokens = max(1, round(_QUALITY_TOKENS[order.quality] * scale)) * order.count
    return {
        "created": int(time.time()),
        "background": "transparent" if order.transparent else "opaque",
        "data": [{"b64_json": encoded} for _ in range(order.count)],
        "output_format": order.output_format,
        "quality": order.quality,
        "size": f"{order.width}x{order.height}",
        "usage": {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": output_tokens,
            "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
            "total_tokens": text_tokens + image_tokens + output_tokens,
        },
    }


def _colour(prompt: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(prompt.encode()).digest()
    return digest[0], digest[1], digest[2]


def _input_image_tokens(image: SeenImage) -> int:
    """Rough vision pricing: 85 tokens, plus 170 per 512-pixel tile."""
    tiles = math.ceil(image.width / 512) * math.ceil(image.height / 512)
    return 85 + 170 * tiles


@functools.lru_cache(maxsize=32)
def _render_image(
    width: int, height: int, colour: tuple[int, int, int], output_format: str, transparent: bool
) -> str:
    """A solid-colour image, base64-encoded. Cached: tests ask for the same few again and again."""
    image = (
        Image.new("RGBA", (width, height), (*colour, 0))
        if transparent
        else Image.new("RGB", (width, height), colour)
    )
    buffer = io.BytesIO()
    image.save(buffer, format=_OUTPUT_FORMATS[output_format])
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    field: str
    mime: str  # the part's Content-Type, without parameters
    data: bytes


def edit_images(uploads: list[Upload]) -> tuple[list[SeenImage], SeenImage | None]:
    """An edit's input images (`image`, `image[]` parts, in order) and its mask."""
    images: list[SeenImage] = []
    mask: SeenImage | None = None
    for upload in uploads:
        if upload.field == "mask":
            mask = _decode_upload(upload, frozenset({"PNG"}))
        elif _IMAGE_FIELD.fullmatch(upload.field):
            images.append(_decode_upload(upload, _EDIT_FORMATS))
    return images, mask


def _decode_upload(upload: Upload, formats: frozenset[str]) -> SeenImage:
    name = upload.field
    if upload.mime not in EDIT_MIME_TYPES:
        raise ImageError(
            f"Invalid file '{name}': unsupported mimetype ('{upload.mime}'). Supported file "
            "formats are 'image/jpeg', 'image/png', and 'image/webp'.",
            code="unsupported_file_mimetype",
            param=name,
        )
    if len(upload.data) > MAX_EDIT_IMAGE_BYTES:
        raise ImageError(
            f"Invalid file '{name}': {len(upload.data)} bytes, the limit is 50 MB.",
            code="image_too_large",
            param=name,
        )
    try:
        width, height, image_format = open_image(upload.data)
    except ValueError as error:
        raise ImageError(
            f"Invalid image file '{name}': {error}.", code="invalid_image_format", param=name
        ) from None
    if image_format not in formats:
        expected = ", ".join(sorted(formats))
        raise ImageError(
            f"Invalid image file '{name}': a {image_format} image, expected {expected}.",
            code="invalid_image_format",
            param=name,
        )
    return SeenImage(width, height, image_format, upload.mime, None, True, 0)


def _missing_parameter(name: str) -> web.Response:
    message = f"Missing required parameter: '{name}'."
    return api_error(
        400, message, kind="invalid_request_error", code="missing_required_parameter", param=name
    )


def moderation_blocked() -> web.Response:
    message = (
        "Your request was rejected as a result of our safety system. Your request may contain "
        "content that is not allowed by our safety system."
    )
    return api_error(400, message, kind="image_generation_user_error", code="moderation_blocked")


# --------------------------------------------------------------------------- errors


def api_error(
    status: int,
    message: str,
    *,
    kind: str,
    code: str | None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in OpenAI's shape; the SDK turns `error` into the exception's body."""
    error = {"message": message, "type": kind, "param": param, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers, dumps=_dumps)


# status -> (type, code, message) for [status:N]; other statuses get a generic error.
_STATUS_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Fake bad request ([status:400])."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (fake [status:429])."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}


def status_error(status: int) -> web.Response:
    generic = ("server_error" if status >= 500 else "invalid_request_error", None, "Fake error.")
    kind, code, message = _STATUS_ERRORS.get(status, generic)
    # The SDK reads retry-after for its backoff; "0" means "no server-directed delay" to it.
    headers = {"retry-after": "0"} if status == 429 else None
    return api_error(status, message, kind=kind, code=code, headers=headers)


def _invalid_url(request: web.Request) -> web.Response:
    message = f"Invalid URL ({request.method} {request.path})"
    return api_error(404, message, kind="invalid_request_error", code=None)


def _unsupported_parameter(body: JsonDict) -> web.Response | None:
    """Reasoning models reject sampling parameters; the bot must not send them."""
    model = body.get("model")
    if not isinstance(model, str) or not _REASONING_MODEL.match(model):
        return None
    for name in _SAMPLING_PARAMETERS:
        if body.get(name) is not None:
            message = f"Unsupported parameter: '{name}' is not supported with this model."
            return api_error(
                400, message, kind="invalid_request_error", code="unsupported_parameter", param=name
            )
    return None


async def _stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
    # The SDK copies x-request-id into APIStatusError.request_id.
    response.headers.setdefault("x-request-id", _new_id("req_"))


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class _Incoming:
    """A request's body, read and checked before it is recorded."""

    body: JsonDict | None  # None: not a JSON object (or not a readable multipart form)
    form: bool = False  # multipart/form-data (image edits); `body` then holds its text fields
    prompt: Prompt = Prompt("", 0, None)  # the conversation, for the model endpoints
    images: tuple[SeenImage, ...] = ()
    mask: SeenImage | None = None
    rejection: ImageError | None = None  # a bad image, answered after the auth check


_Route = Callable[[web.Request, _Incoming], Awaitable[web.StreamResponse]]
_PROMPTS: dict[str, Callable[[JsonDict], Prompt]] = {
    "/v1/responses": responses_prompt,
    "/v1/chat/completions": chat_prompt,
}
EDITS_PATH = "/v1/images/edits"


class FakeOpenAI:
    """The fake API server. `start()` it, point the SDK at `base_url`, `stop()` it."""

    def __init__(self, *, api_key: str = "sk-test-key") -> None:
        self.api_key = api_key
        self.latency = 0.0  # seconds before the first byte of every answer
        self.responses_enabled = True  # False: /v1/responses is 404, like servers without it
        self.requests: list[RecordedRequest] = []
        self._held: Counter[str] = Counter()
        self._failed_once: set[str] = set()
        self._changed = asyncio.Condition()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._notifiers: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes: dict[tuple[str, str], _Route] = {
            ("POST", "/v1/responses"): self._responses,
            ("POST", "/v1/chat/completions"): self._chat_completions,
            ("GET", "/v1/models"): self._models,
            ("POST", "/v1/images/generations"): self._image_generations,
            ("POST", EDITS_PATH): self._image_edits,
        }

    # ----- public API

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeOpenAI.start() has not been called")
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def hung_requests(self) -> int:
        """Requests currently held open by [hang]."""
        return self._held["hang"]

    @property
    def stalled_requests(self) -> int:
        """Streams currently held open by [stall_after:K]."""
        return self._held["stall"]

    async def start(self, port: int = 0) -> None:
        # Bound to the running loop here, not in __init__, so one instance survives asyncio.run().
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.on_response_prepare.append(_stamp_request_id)
        app.router.add_route("*", "/{path:.*}", self._handle)
        # Without handler_cancellation aiohttp lets a handler run on after its client has gone,
        # so a [hang] would never learn that the client disconnected.
        runner = web.AppRunner(
            app,
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every connection, including held ones; aiohttp would wait for them otherwise."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        handlers = list(self._in_flight)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await runner.cleanup()
        self._port = None

    def reset(self) -> None:
        """Forget recorded requests and [status_once] history; restore latency and
        responses_enabled. Requests still in flight are left alone."""
        self.requests.clear()
        self._failed_once.clear()
        self.latency = 0.0
        self.responses_enabled = True
        self._notify()

    # A timeout argument (rather than the caller's asyncio.timeout) lets the failure say what
    # was awaited and what the fake saw instead.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 30.0,
        what: str = "",
    ) -> None:
        """Wait until `predicate()` holds; it is re-checked whenever a request arrives or the
        fake's state changes. Raises AssertionError after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            state = (
                f"{len(self.requests)} requests recorded, {self.hung_requests} hung, "
                f"{self.stalled_requests} stalled"
            )
            wanted = what or getattr(predicate, "__name__", "the condition")
            raise AssertionError(
                f"FakeOpenAI: {wanted} not reached in {timeout:g}s; {state}"
            ) from None

    # ----- request handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # Tracked so stop() can cancel held requests instead of waiting on them.
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            return await self._serve(request)
        finally:
            self._in_flight.discard(task)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        # Images are decoded before the request is recorded, so whoever wait_for()s a request
        # sees its images too.
        incoming = await _read_incoming(request)
        self._record(request, incoming)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if not self._authorized(request):
            return self._auth_error(request)
        if incoming.body is None:
            what = "multipart form" if incoming.form else "JSON body"
            message = f"We could not parse the {what} of your request."
            return api_error(400, message, kind="invalid_request_error", code=None)
        route = self._routes.get((request.method, request.path))
        if route is None:
            return _invalid_url(request)
        return await route(request, incoming)

    def _record(self, request: web.Request, incoming: _Incoming) -> None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        recorded = RecordedRequest(
            request.path,
            incoming.body or {},
            headers,
            time.monotonic(),
            list(incoming.images),
            incoming.mask,
        )
        self.requests.append(recorded)
        self._notify()

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _auth_error(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and len(header) > len("Bearer "):
            key = header.removeprefix("Bearer ")
            message = f"Incorrect API key provided: {key[:3]}***{key[-4:]}."
        else:
            message = "You didn't provide an API key (Authorization: Bearer YOUR_KEY)."
        return api_error(401, message, kind="invalid_request_error", code="invalid_api_key")

    async def _responses(self, request: web.Request, incoming: _Incoming) -> web.StreamResponse:
        if not self.responses_enabled:
            return _invalid_url(request)
        return await self._model_call(request, incoming, ResponsesWire, image_param="input")

    async def _chat_completions(
        self, request: web.Request, incoming: _Incoming
    ) -> web.StreamResponse:
        return await self._model_call(request, incoming, ChatWire, image_param="messages")

    async def _models(self, request: web.Request, incoming: _Incoming) -> web.StreamResponse:
        created = int(time.time())
        data = [
            {"id": model, "object": "model", "created": created, "owned_by": "openai"}
            for model in MODELS
        ]
        return web.json_response({"object": "list", "data": data}, dumps=_dumps)

    async def _model_call(
        self,
        request: web.Request,
        incoming: _Incoming,
        wire_for: _WireFactory,
        *,
        image_param: str,
    ) -> web.StreamResponse:
        if incoming.rejection is not None:
            return incoming.rejection.response(image_param)
        body, prompt = incoming.body or {}, incoming.prompt
        rejection = _unsupported_parameter(body)
        if rejection is not None:
            return rejection
        markers = await self._obey_markers(prompt.last_user_text)
        if isinstance(markers, web.Response):
            return markers
        answer = self._plan_answer(markers, prompt, body)
        wire = wire_for(body, prompt, answer)
        if body.get("stream") is True:
            return await self._stream(request, wire, answer.pieces, markers)
        return web.json_response(wire.final(), dumps=_dumps)

    def _plan_answer(self, markers: Markers, prompt: Prompt, body: JsonDict) -> Answer:
        """The answer to a model request: a hook for servers that answer differently
        (sandbox/demo.py reads the whole request `body`)."""
        return with_web_search(plan_answer(markers, prompt), markers, body)

    async def _image_generations(
        self, request: web.Request, incoming: _Incoming
    ) -> web.StreamResponse:
        return await self._image_call(incoming, DEFAULT_IMAGE_SIZE)

    async def _image_edits(self, request: web.Request, incoming: _Incoming) -> web.StreamResponse:
        if not incoming.form:
            message = (
                f"Invalid Content-Type header ({request.content_type}), expected "
                "multipart/form-data."
            )
            return api_error(400, message, kind="invalid_request_error", code=None)
        if incoming.rejection is not None:
            return incoming.rejection.response("image")
        if not incoming.images:
            return _missing_parameter("image")
        first = incoming.images[0]
        return await self._image_call(incoming, (first.width, first.height))

    async def _image_call(
        self, incoming: _Incoming, default_size: tuple[int, int]
    ) -> web.StreamResponse:
        body = incoming.body or {}
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _missing_parameter("prompt")
        markers = await self._obey_markers(prompt)
        if isinstance(markers, web.Response):
            return markers
        try:
            order = image_order(body, prompt, default_size)
        except ImageError as error:
            return error.response()
        if REFUSE_MARKER in prompt:
            return moderation_blocked()
        return web.json_response(images_response(order, incoming.images), dumps=_dumps)

    async def _obey_markers(self, text: str) -> Markers | web.Response:
        """The markers in `text` after [hang] and [delay:S] have been obeyed, or the error
        answer that a bad marker, [status:N] or [status_once:N] calls for."""
        try:
            markers = parse_markers(text)
        except MarkerError as error:
            return api_error(400, str(error), kind="invalid_request_error", code=None)
        if markers.hang:
            await self._hold("hang")
        if markers.delay:
            await asyncio.sleep(markers.delay)
        failure = self._failure_status(markers, text)
        if failure is not None:
            return status_error(failure)
        return markers

    def _failure_status(self, markers: Markers, text: str) -> int | None:
        if markers.status is not None:
            return markers.status
        # Keyed by the whole user text, so each test message fails once, retries included.
        if markers.status_once is not None and text not in self._failed_once:
            self._failed_once.add(text)
            return markers.status_once
        return None

    async def _stream(
        self,
        request: web.Request,
        wire: _Wire,
        pieces: tuple[str, ...],
        markers: Markers,
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers=_SSE_HEADERS)
        stall_at = None if markers.stall_after is None else min(markers.stall_after, len(pieces))
        try:
            await response.prepare(request)
            await response.write(wire.opening())
            for index, piece in enumerate(pieces):
                if index == stall_at:
                    await self._hold("stall")
                if index and markers.chunk_delay:
                    await asyncio.sleep(markers.chunk_delay)
                await response.write(wire.delta(piece))
            if stall_at == len(pieces):
                await self._hold("stall")
            await response.write(wire.closing())
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away mid-stream; nothing left to tell it
        return response

    async def _hold(self, reason: str) -> NoReturn:
        """Send nothing more until the client disconnects (aiohttp then cancels the handler)
        or stop() cancels it."""
        self._held[reason] += 1
        self._notify()
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            self._held[reason] -= 1
            self._notify()
        raise AssertionError("unreachable: a held request ends only by cancellation")

    def _notify(self) -> None:
        """Wake wait_for() callers. notify_all() needs the condition's lock, which neither a
        synchronous caller (reset) nor a handler being cancelled can wait for, so a small task
        does it; it runs after the state change, which is all the waiters need."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no running loop, so nobody can be waiting
        task = loop.create_task(self._notify_all())
        self._notifiers.add(task)
        task.add_done_callback(self._notifiers.discard)

    async def _notify_all(self) -> None:
        async with self._changed:
            self._changed.notify_all()


async def _read_incoming(request: web.Request) -> _Incoming:
    """The body, with the images of a model request or of an image edit decoded."""
    if request.path == EDITS_PATH and request.content_type == "multipart/form-data":
        return await _read_edit_form(request)
    body = await _read_json_object(request)
    prompt_of = _PROMPTS.get(request.path)
    if body is None or prompt_of is None:
        return _Incoming(body)
    try:
        prompt = prompt_of(body)
    except ImageError as error:
        return _Incoming(body, rejection=error)
    return _Incoming(body, prompt=prompt, images=prompt.images)


async def _read_edit_form(request: web.Request) -> _Incoming:
    form = await _read_form(request)
    if form is None:
        return _Incoming(None, form=True)
    fields, uploads = form
    try:
        images, mask = edit_images(uploads)
    except ImageError as error:
        return _Incoming(fields, form=True, rejection=error)
    return _Incoming(fields, form=True, images=tuple(images), mask=mask)


async def _read_form(request: web.Request) -> tuple[JsonDict, list[Upload]] | None:
    """A multipart body's text fields (a list when a name repeats) and file parts; None
    when it is not a readable multipart body."""
    fields: JsonDict = {}
    uploads: list[Upload] = []
    try:
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue  # nested multipart or a nameless part: nothing the SDK sends
            if part.filename is None:
                text = await part.text()
                previous = fields.get(part.name)
                if previous is None:
                    fields[part.name] = text
                else:
                    earlier = previous if isinstance(previous, list) else [previous]
                    fields[part.name] = [*earlier, text]
                continue
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            mime = content_type.split(";")[0].strip().lower()
            uploads.append(Upload(part.name, mime, bytes(await part.read(decode=True))))
    except ValueError:
        return None
    return fields, uploads


async def _read_json_object(request: web.Request) -> JsonDict | None:
    """The body as a JSON object: {} when empty, None when it is not a JSON object."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


__all__ = [
    "FakeOpenAI",
    "FunctionCall",
    "ImageError",
    "ImageOrder",
    "Markers",
    "RecordedRequest",
    "SeenImage",
    "Upload",
    "decode_image_url",
    "edit_images",
    "image_note",
    "image_order",
    "images_response",
    "long_answer",
    "open_image",
    "parse_markers",
    "split_even",
]
