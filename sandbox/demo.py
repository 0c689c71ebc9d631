"""The offline demo model: what answers in the sandbox when no model API key is set.

`demo_model()` is the fake OpenAI server (sandbox/model/: the same wire formats and image
endpoints, generations and edits answering with solid-colour images) with `DemoAnswers` as
its answer strategy: answers meant for a person trying the bot rather than for a test. Every
text answer starts with `DEMO_LABEL` and says which model the request asked for, then
summarises what arrived: the last message (quoted, shortened), how many turns came before
it, the images in it ({W}x{H} {FORMAT}), the thread's numbered image list, the documents the
bot inlined ("[File: NAME]" … "[End of file: NAME]" blocks), the attachments it could not
read, the custom parts of the instructions ("Instructions for this channel:", "The person's
own instructions:" and "Instructions for this thread:") and the tools offered.

It calls a tool when told in plain words, if the request offers that tool and does not
forbid calls (`tool_choice` "none"). The words are the person's, at the start of the last
message, after the "name: " prefix the bot adds and any leading @mention; case does not
matter:

    draw PROMPT                   generate_image {"prompt": PROMPT}
    edit image N: INSTRUCTION     edit_image {"prompt": INSTRUCTION, "image": N}; "edit images
                                  1 and 3: …" adds "other_images": [3]; without a number
                                  ("edit image: …") the last image of the thread's list
    make it …                     edit_image {"prompt": "make it …", "image": the last
                                  listed}, when the request lists the thread's images
    summarise this … /            read_open_conversation {}: what the person has open
    what did we decide …          beside the app's Messages tab
    browser ACTION key=value …    browser_ACTION with those arguments; a value is read as
                                  JSON when it parses (limit=2 → 2, flag=true → true,
                                  id='"7"' → "7"), else kept as text; quote values with
                                  spaces (note="two words")
    call TOOL key=value …         TOOL (any offered tool by its full name, such as an MCP
                                  server's `docs_search`) with those arguments, read as
                                  for `browser`

Once the call's output comes back, the answer (labelled too) says what each call returned.
Answers stream in several deltas `chunk_delay` seconds apart, so streaming can be seen. The
tests' marker language is no part of the demo: a test that scripts the demo puts its own
strategy in front of `DemoAnswers` (tests/test_demo_model.py).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, replace
from typing import Any

from sandbox.model import (
    Answer,
    FakeOpenAI,
    FunctionCall,
    ImageReply,
    ModelReply,
    ModelRequest,
    Prompt,
    SeenImage,
    split_even,
)

JsonDict = dict[str, Any]

DEMO_LABEL = "_Offline demo model: no model API key is set, so this is not a real model answering._"
CHUNK_DELAY_SECONDS = 0.04
# Text answers stream in at least this many deltas, more for long ones (one per
# DELTA_CHARS), at most MAX_PIECES so a long answer does not crawl.
MIN_PIECES = 6
DELTA_CHARS = 150
MAX_PIECES = 30
CALL_PIECES = 3
QUOTE_CHARS = 300
QUOTE_LINES = 6
OUTPUT_CHARS = 600
INSTRUCTION_CHARS = 200
PREVIEW_CHARS = 80
ARGUMENT_CHARS = 200

GENERATE_TOOL = "generate_image"
EDIT_TOOL = "edit_image"
READ_VIEWED_TOOL = "read_open_conversation"
# The bot's own tools, which the demo's other commands already name.
DEMO_TOOLS = frozenset({GENERATE_TOOL, EDIT_TOOL, READ_VIEWED_TOOL})
BROWSER_PREFIX = "browser_"
CHANNEL_HEADER = "Instructions for this channel:\n"
PERSON_HEADER = "The person's own instructions:\n"
THREAD_HEADER = "Instructions for this thread:\n"


# --------------------------------------------------------------------------- the request


@dataclass(frozen=True)
class ToolOutcome:
    """A call the model made and the output the bot sent back for it."""

    name: str
    arguments: str
    output: str


@dataclass(frozen=True)
class Received:
    """What the demo reads from a model request, in either API's shape."""

    api: str  # "Responses" or "Chat Completions"
    model: str
    options: tuple[str, ...]  # settings worth showing, e.g. "reasoning effort low"
    instructions: str
    turns: tuple[tuple[str, str], ...]  # (role, text) of user and assistant messages
    tools: tuple[str, ...]  # function names; built-in tools by their type
    may_call_tools: bool
    outcomes: tuple[ToolOutcome, ...]  # calls answered after the last user message


def read_request(body: JsonDict) -> Received:
    chat = "messages" in body
    instructions = [] if chat else [_text(body.get("instructions"))]
    turns: list[tuple[str, str]] = []
    calls: dict[str, tuple[str, str]] = {}
    outputs: list[tuple[str, str]] = []  # (call id, output) since the last user message
    for item in _items(body):
        kind, role = item.get("type", "message"), item.get("role")
        text = _text(item.get("content"))
        for call in _dicts(item.get("tool_calls")):  # Chat: an assistant's calls
            function = call.get("function")
            if isinstance(function, dict):
                calls[str(call.get("id"))] = _call_of(function)
        if kind == "function_call":  # Responses
            calls[str(item.get("call_id"))] = _call_of(item)
        elif kind == "function_call_output":
            outputs.append((str(item.get("call_id")), _text(item.get("output"))))
        elif role == "tool":
            outputs.append((str(item.get("tool_call_id")), text))
        elif role in ("system", "developer"):
            instructions.append(text)
        elif role in ("user", "assistant") and (text or role == "user"):
            if role == "user":
                outputs.clear()  # a new question: earlier results are history
            turns.append((str(role), text))
    outcomes = tuple(
        ToolOutcome(*calls.get(call_id, ("an unknown tool", "")), output)
        for call_id, output in outputs
    )
    return Received(
        api="Chat Completions" if chat else "Responses",
        model=str(body.get("model") or "no model"),
        options=_options(body, chat),
        instructions="\n\n".join(part for part in instructions if part),
        turns=tuple(turns),
        tools=_tool_names(body.get("tools")),
        may_call_tools=body.get("tool_choice") != "none",
        outcomes=outcomes,
    )


def _items(body: JsonDict) -> list[JsonDict]:
    if "messages" in body:
        return _dicts(body.get("messages"))
    raw = body.get("input")
    return [{"role": "user", "content": raw}] if isinstance(raw, str) else _dicts(raw)


def _call_of(call: JsonDict) -> tuple[str, str]:
    return str(call.get("name") or "an unnamed tool"), str(call.get("arguments") or "")


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    texts = [part.get("text") for part in _dicts(content)]
    return "\n".join(text for text in texts if isinstance(text, str))


def _dicts(value: object) -> list[JsonDict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _tool_names(tools: object) -> tuple[str, ...]:
    names: list[str] = []
    for tool in _dicts(tools):
        if tool.get("type") != "function":
            names.append(str(tool.get("type")))
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else tool.get("name")
        if isinstance(name, str):
            names.append(name)
    return tuple(names)


def _options(body: JsonDict, chat: bool) -> tuple[str, ...]:
    if chat:
        effort, verbosity = body.get("reasoning_effort"), body.get("verbosity")
        limit = body.get("max_completion_tokens")
    else:
        reasoning, text = body.get("reasoning"), body.get("text")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
        verbosity = text.get("verbosity") if isinstance(text, dict) else None
        limit = body.get("max_output_tokens")
    shown = {
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "reasoning effort": effort,
        "verbosity": verbosity,
        "at most": None if limit is None else f"{limit} output tokens",
    }
    return tuple(f"{name} {value}" for name, value in shown.items() if value is not None)


# --------------------------------------------------------------------------- the last message


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    cuts: tuple[str, ...]  # what the bot left out, as it told the model


@dataclass(frozen=True)
class LastMessage:
    """The newest user turn taken apart: the bot puts the thread's image list first, then
    the documents, then the person's words (with their name) and notes on unread files."""

    words: str
    listed_images: tuple[str, ...]  # the thread's images, #1 first
    documents: tuple[Document, ...]
    unread: tuple[str, ...]


_LISTING = re.compile(
    r"\s*\[Images in this thread, for edit_image:\n(?P<lines>.*?)\](?=\n\n|\s*\Z)", re.DOTALL
)
_LISTED = re.compile(r"#(\d+): (.*)")
_DOCUMENT = re.compile(
    r"\[File: (?P<name>[^\n]+?)\]\n(?P<body>.*?)\n\[End of file: (?P=name)\]", re.DOTALL
)
_LEFT_OUT = re.compile(r"\[Left out: ([^\n]*)\]\n")
_UNREAD = re.compile(r"\n?\[Attachment not readable: ([^\n]*)\][ \t]*$", re.MULTILINE)


def read_last_message(text: str) -> LastMessage:
    listed: list[str] = []
    listing = _LISTING.match(text)
    if listing is not None:
        for line in listing.group("lines").split("\n"):
            entry = _LISTED.fullmatch(line)
            if entry is not None:
                listed.append(entry.group(2))
            elif listed:  # a description that runs over several lines
                listed[-1] += " " + line.strip()
        text = text[listing.end() :]
    documents = [_document(match) for match in _DOCUMENT.finditer(text)]
    text = _DOCUMENT.sub("", text)
    unread = _UNREAD.findall(text)
    words = _UNREAD.sub("", text).strip()
    return LastMessage(words, tuple(listed), tuple(documents), tuple(unread))


def _document(match: re.Match[str]) -> Document:
    body, cuts = match.group("body"), []
    while (cut := _LEFT_OUT.match(body)) is not None:
        cuts.append(cut.group(1))
        body = body[cut.end() :]
    return Document(match.group("name"), body, tuple(cuts))


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    """A tool call asked for in plain words; `problem` says why it cannot be made as asked."""

    tool: str
    arguments: JsonDict
    problem: str | None = None


_SPEAKER = re.compile(r"[^:\n]{1,80}:\s+")
_MENTIONS = re.compile(r"(?:(?:<@[A-Z0-9]+(?:\|[^>]*)?>|@[\w.-]+)[:,]?\s*)+")
_DRAW = re.compile(r"draw\b[:,]?\s*(?P<prompt>.*)", re.IGNORECASE | re.DOTALL)
_EDIT = re.compile(
    r"edit\s+(?:the\s+)?(?:image|images|picture|pictures)\b\s*"
    r"(?P<numbers>#?\d+(?:\s*(?:,|and|&)\s*#?\d+)*)?\s*[:,.\-\u2013\u2014]?\s*(?P<prompt>.*)",
    re.IGNORECASE | re.DOTALL,
)
_MAKE = re.compile(r"make\s+it\b.*", re.IGNORECASE | re.DOTALL)
_ABOUT_VIEWED = re.compile(
    r"(?:summari[sz]e\s+(?:this|what)|what\s+did\s+we\s+decide)\b.*", re.IGNORECASE | re.DOTALL
)
_BROWSER = re.compile(
    r"browser\b\s*(?P<action>[A-Za-z0-9_-]*)(?P<rest>.*)", re.IGNORECASE | re.DOTALL
)
_CALL = re.compile(r"call\s+(?P<tool>[A-Za-z0-9_-]{1,64})(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_CURLY_QUOTES = str.maketrans("\u201c\u201d\u2018\u2019", "\"\"''")


def plain_command(words: str, listed_images: int) -> Command | None:
    """The tool call the person's words ask for, if they ask for one."""
    for text in _addressed(words):
        command = _command(text, listed_images)
        if command is not None:
            return command
    return None


def _addressed(words: str) -> list[str]:
    """The words as they are, then without the speaker's "name: " prefix; leading
    mentions dropped from both. (Tried in that order: "edit image 1: …" is no name.)"""
    candidates = [words.strip()]
    speaker = _SPEAKER.match(words)
    if speaker is not None:
        candidates.append(words[speaker.end() :].strip())
    return [_strip_mentions(candidate) for candidate in candidates]


def _strip_mentions(text: str) -> str:
    mentions = _MENTIONS.match(text)
    return text[mentions.end() :] if mentions is not None else text


def _command(text: str, listed_images: int) -> Command | None:
    if draw := _DRAW.fullmatch(text):
        prompt = draw.group("prompt").strip()
        problem = None if prompt else "say what to draw, e.g. `draw a red fox`"
        return Command(GENERATE_TOOL, {"prompt": prompt}, problem)
    if edit := _EDIT.fullmatch(text):
        numbers = [int(n) for n in re.findall(r"\d+", edit.group("numbers") or "")]
        return _edit_command(edit.group("prompt").strip(), numbers, listed_images)
    if _MAKE.fullmatch(text):
        return _edit_command(text.strip(), [], listed_images)
    if browser := _BROWSER.fullmatch(text):
        return _browser_command(browser.group("action"), browser.group("rest"))
    if call := _CALL.fullmatch(text):
        return _call_command(call.group("tool"), call.group("rest"))
    if _ABOUT_VIEWED.fullmatch(text):
        return Command(READ_VIEWED_TOOL, {})
    return None


def _edit_command(prompt: str, numbers: list[int], listed_images: int) -> Command:
    image = numbers[0] if numbers else listed_images
    arguments: JsonDict = {"prompt": prompt, "image": image}
    if numbers[1:]:
        arguments["other_images"] = numbers[1:]
    problem = None
    if not numbers and not listed_images:
        problem = "this thread has no images to edit yet: attach or draw one first"
    elif not prompt:
        problem = "say what to change, e.g. `edit image 1: make it blue`"
    return Command(EDIT_TOOL, arguments, problem)


def _browser_command(action: str, rest: str) -> Command:
    tool = action if action.startswith(BROWSER_PREFIX) else BROWSER_PREFIX + action
    if not action:
        return Command(tool, {}, "name the action: `browser ACTION key=value …`")
    return _call_command(tool, rest)


def _call_command(tool: str, rest: str) -> Command:
    arguments, malformed = browser_arguments(rest)
    problem = None
    if malformed:
        shown = ", ".join(f"`{word}`" for word in malformed)
        problem = f"arguments are written key=value, and {shown} is not"
    return Command(tool, arguments, problem)


def browser_arguments(text: str) -> tuple[JsonDict, list[str]]:
    """`key=value` words as arguments (values typed as JSON when they parse), and the
    words that are not key=value."""
    for escaped, plain in (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        text = text.replace(escaped, plain)
    text = text.translate(_CURLY_QUOTES)
    try:
        words = shlex.split(text)
    except ValueError:  # an unpaired quote, as in don't: plain words then
        words = text.split()
    arguments: JsonDict = {}
    malformed: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key:
            arguments[key] = _typed(value)
        else:
            malformed.append(word)
    return arguments, malformed


def _typed(value: str) -> object:
    try:
        parsed: object = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, float) and not math.isfinite(parsed):
        return value  # NaN and Infinity are no JSON a tool should get
    return parsed


# --------------------------------------------------------------------------- answers


def demo_answer(prompt: Prompt, body: JsonDict) -> Answer:
    """Precedence: tool results, a plain-word command, the summary."""
    request = read_request(body)
    last = read_last_message(prompt.last_user_text)
    command = plain_command(last.words, len(last.listed_images))
    note = _command_note(command, request)
    if request.outcomes:
        return _text_answer(tool_report(request))
    if command is not None and note is None:
        arguments = json.dumps(command.arguments, ensure_ascii=False)
        return Answer("", FunctionCall(command.tool, arguments), split_even(arguments, CALL_PIECES))
    return _text_answer(summary(request, prompt, last, note))


def _command_note(command: Command | None, request: Received) -> str | None:
    """Why a command is not carried out; None when it is (or there is none)."""
    if command is None:
        return None
    if command.problem is not None:
        return f"To call `{command.tool}`, {command.problem}."
    if command.tool not in request.tools:
        hint = (
            " (is BROWSER_SERVICE_URL set?)"
            if command.tool.startswith(BROWSER_PREFIX)
            else " (`/ai tools` lists the tools you may use here)"
        )
        return f"You asked for `{command.tool}`, but this request does not offer it{hint}."
    if not request.may_call_tools:
        return f"You asked for `{command.tool}`, but this request allows no tool calls."
    return None


def _text_answer(text: str) -> Answer:
    count = min(MAX_PIECES, max(MIN_PIECES, len(text) // DELTA_CHARS))
    return Answer(text, None, split_words(text, count))


def split_words(text: str, count: int) -> tuple[str, ...]:
    """`text` in about `count` pieces, each ending after a space or line break where one is
    near, so a streamed answer grows word by word."""
    if not text:
        return ()
    count = max(1, min(count, len(text)))
    size = len(text) / count
    pieces: list[str] = []
    start = 0
    for index in range(1, count):
        goal = round(size * index)
        if goal <= start:
            continue
        space = max(text.rfind(" ", start, goal), text.rfind("\n", start, goal))
        cut = space + 1 if space >= start else goal
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return tuple(piece for piece in pieces if piece)


def heading(request: Received) -> str:
    """The first lines of every text answer: the label and what the request asked for."""
    asked = "; ".join([f"asked for {request.model}", *request.options, f"{request.api} API"])
    return f"{DEMO_LABEL}\n({asked})"


def summary(request: Received, prompt: Prompt, last: LastMessage, note: str | None) -> str:
    lines = [heading(request), "", f"**Your message** ({_before(request)}):"]
    lines += _quote(last.words or "(no text)", QUOTE_CHARS)
    images = [image for image in prompt.images if image.in_last_user_message]
    if images:
        shown = ", ".join(_image(image) for image in images)
        lines.append(f"**{_count(len(images), 'image')} in it:** {shown}")
    earlier = len(prompt.images) - len(images)
    if earlier:
        lines.append(f"**Images from earlier messages, still in view:** {earlier}")
    if last.listed_images:
        listed = "; ".join(
            f"#{number} {_shorten(text, PREVIEW_CHARS)}"
            for number, text in enumerate(last.listed_images, start=1)
        )
        lines.append(f"**The thread's images, for editing:** {listed}")
    if last.documents:
        lines.append(f"**{_count(len(last.documents), 'document')} attached:**")
        lines += [f"- {_describe_document(document)}" for document in last.documents]
    earlier_documents = sum(len(_DOCUMENT.findall(text)) for _, text in request.turns[:-1])
    if earlier_documents:
        lines.append(f"**Documents from earlier messages:** {earlier_documents}")
    if last.unread:
        lines.append("**Attachments not read:** " + "; ".join(last.unread))
    for label, text in custom_instructions(request.instructions):
        lines.append(f"**{label}:** “{_shorten(text, INSTRUCTION_CHARS)}”")
    lines.append(_tools_line(request))
    if note is not None:
        lines += ["", note]
    hint = _hint(request)
    if hint:
        lines += ["", hint]
    return "\n".join(lines)


def _before(request: Received) -> str:
    last_user = max((i for i, (role, _) in enumerate(request.turns) if role == "user"), default=0)
    earlier = request.turns[:last_user]
    if not earlier:
        return "the conversation's first turn"
    people = sum(role == "user" for role, _ in earlier)
    answers = _count(len(earlier) - people, "answer")
    return f"after {_count(len(earlier), 'earlier turn')}: {people} from people, {answers}"


def _count(number: int, noun: str, plural: str | None = None) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number:,} {plural if plural is not None else noun + 's'}"


def _image(image: SeenImage) -> str:
    detail = f" (detail {image.detail})" if image.detail else ""
    return image.describe() + detail


def _describe_document(document: Document) -> str:
    text = document.text
    lines = text.count("\n") + 1 if text else 0
    size = f"{_count(len(text), 'character')}, {_count(lines, 'line')}"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    start = f", starting “{_shorten(first, PREVIEW_CHARS)}”" if first else ""
    cuts = f" (left out: {'; '.join(document.cuts)})" if document.cuts else ""
    return f"`{_no_ticks(document.name)}`: {size}{start}{cuts}"


def custom_instructions(system: str) -> list[tuple[str, str]]:
    """The custom parts the bot appends to its instructions, labelled for the summary."""
    found: list[tuple[int, int, str]] = []  # (header start, text start, label)
    for header, label in (
        (CHANNEL_HEADER, "Instructions for this channel"),
        (PERSON_HEADER, "Your own instructions"),
        (THREAD_HEADER, "This thread's instructions"),
    ):
        at = 0 if system.startswith(header) else system.find("\n\n" + header)
        if at >= 0:
            found.append((at, system.index(header, at) + len(header), label))
    found.sort()
    sections: list[tuple[str, str]] = []
    for position, (_, start, label) in enumerate(found):
        end = found[position + 1][0] if position + 1 < len(found) else len(system)
        sections.append((label, system[start:end].strip()))
    return sections


def _tools_line(request: Received) -> str:
    if not request.tools:
        return "**Tools offered:** none"
    names = ", ".join(f"`{name}`" for name in request.tools)
    allowed = "" if request.may_call_tools else " (none may be called in this answer)"
    return f"**Tools offered:** {names}{allowed}"


def _hint(request: Received) -> str:
    if not request.may_call_tools:
        return ""
    examples = []
    if GENERATE_TOOL in request.tools:
        examples.append("`draw a red fox`")
    if EDIT_TOOL in request.tools:
        examples += ["`edit image 1: make it blue`", "`make it blue`"]
    browser = [name for name in request.tools if name.startswith(BROWSER_PREFIX)]
    if browser:
        action = browser[0].removeprefix(BROWSER_PREFIX)
        examples.append(f"`browser {action} key=value …`")
    other = [name for name in request.tools if name not in DEMO_TOOLS and name not in browser]
    if other:
        examples.append(f"`call {other[0]} key=value …`")
    if not examples:
        return ""
    return "_To see a tool at work, say_ " + ", ".join(examples) + "."


def tool_report(request: Received) -> str:
    """The answer once tool outputs have come back: what each call returned."""
    lines = [
        heading(request),
        "",
        "**Tool results** (a real model would now put them in its own words):",
    ]
    for outcome in request.outcomes:
        arguments = _shorten(_compact_json(outcome.arguments), ARGUMENT_CHARS)
        lines.append(f"- `{outcome.name}` with `{_no_ticks(arguments)}` returned:")
        lines += _quote(outcome.output or "(nothing)", OUTPUT_CHARS)
    return "\n".join(lines)


def _compact_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(", ", ": "))
    except ValueError:
        return text or "no arguments"


def _quote(text: str, limit: int) -> list[str]:
    lines = _shorten(text, limit, keep_lines=True).split("\n")
    if len(lines) > QUOTE_LINES:
        lines = [*lines[:QUOTE_LINES], "…"]
    return [f"> {line}" if line.strip() else ">" for line in lines]


def _shorten(text: str, limit: int, *, keep_lines: bool = False) -> str:
    text = text.strip() if keep_lines else " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "…"


def _no_ticks(text: str) -> str:
    return text.replace("`", "'")


# --------------------------------------------------------------------------- the server


def demo_model(
    *, api_key: str | None = None, chunk_delay: float = CHUNK_DELAY_SECONDS
) -> FakeOpenAI:
    """The demo model's server. `start()` it, point the bot at `base_url`, `stop()` it.

    With no `api_key` any key is accepted; with one, other keys get 401 as from the real API.
    """
    return FakeOpenAI(DemoAnswers(chunk_delay), api_key=api_key)


class DemoAnswers:
    """The demo's answer strategy; `chunk_delay` is the seconds between streamed deltas."""

    def __init__(self, chunk_delay: float = CHUNK_DELAY_SECONDS) -> None:
        self.chunk_delay = chunk_delay

    async def model_reply(self, request: ModelRequest) -> ModelReply:
        return replace(demo_answer(request.prompt, request.body), piece_delay=self.chunk_delay)

    async def image_reply(self, prompt: str) -> ImageReply:
        return "draw"


__all__ = [
    "CHUNK_DELAY_SECONDS",
    "DEMO_LABEL",
    "Command",
    "DemoAnswers",
    "Document",
    "LastMessage",
    "Received",
    "ToolOutcome",
    "browser_arguments",
    "custom_instructions",
    "demo_answer",
    "demo_model",
    "heading",
    "plain_command",
    "read_last_message",
    "read_request",
    "split_words",
    "summary",
    "tool_report",
]
