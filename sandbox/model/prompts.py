"""Reading a model request's conversation into a `Prompt`: the last user message, tool
results after it, the images of every message (decoded, see sandbox/model/images.py) and the
input's size, for both the Responses API's `input` and Chat Completions' `messages`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sandbox.model.images import ImageError, SeenImage, decode_image_url

JsonDict = dict[str, Any]


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


def dicts(value: object) -> list[JsonDict]:
    """The objects of a JSON array; [] for anything else."""
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
        for call in dicts(message.get("tool_calls")):
            function = call.get("function")
            if isinstance(function, dict):
                builder.text(str(function.get("arguments", "")))
    return builder.build()


def _content_images(content: object, message_index: int) -> list[SeenImage]:
    """The images among a message's content parts (Responses and Chat part shapes)."""
    images: list[SeenImage] = []
    for part in dicts(content):
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
