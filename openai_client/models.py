"""What the rest of the bot sends to and gets from the model, independent of wire style."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["user", "assistant"]

# OpenAI prices an image by the 512-pixel tiles it covers, plus a base cost.
IMAGE_BASE_TOKENS = 85
IMAGE_TILE_TOKENS = 170
IMAGE_TILE_PIXELS = 512


@dataclass(frozen=True)
class ModelImage:
    """An image ready for the model: already within its size limits."""

    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int
    # The data URL, when made beforehand (off the event loop: it is megabytes of base64).
    encoded: str = field(default="", repr=False, compare=False)

    @classmethod
    def encode(cls, data: bytes, mime: str, width: int, height: int) -> ModelImage:
        """An image with its data URL made now: call it from a worker thread."""
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        return cls(data=data, mime=mime, width=width, height=height, encoded=url)

    @property
    def data_url(self) -> str:
        return self.encoded or (
            f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"
        )

    @property
    def tokens(self) -> int:
        tiles = math.ceil(self.width / IMAGE_TILE_PIXELS) * math.ceil(
            self.height / IMAGE_TILE_PIXELS
        )
        return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * tiles


@dataclass(frozen=True)
class ChatTurn:
    role: Role
    text: str
    images: tuple[ModelImage, ...] = ()


@dataclass(frozen=True)
class GenerationSettings:
    """Per-answer knobs; a field left None is not sent at all."""

    model: str
    temperature: float | None = None
    top_p: float | None = None
    reasoning_effort: str | None = None
    verbosity: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call; `parameters` is its JSON schema."""

    name: str
    description: str
    parameters: dict[str, object]


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class ToolResult:
    call: ToolCall
    output: str


@dataclass(frozen=True)
class ModelRequest:
    instructions: str
    turns: list[ChatTurn]
    settings: GenerationSettings
    tools: tuple[ToolSpec, ...] = ()
    # Calls the model made earlier in this answer, with what they produced.
    tool_results: tuple[ToolResult, ...] = ()
    # False for the last round of an answer: the model must answer in words.
    may_call_tools: bool = True
    # The provider's own web search tool (Responses API only).
    web_search: bool = False
    # How closely the model looks at images: "auto", "low" or "high".
    image_detail: str = "auto"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class ModelReply:
    text: str
    usage: Usage = field(default_factory=Usage)
    tool_calls: list[ToolCall] = field(default_factory=list)
    # Pages the answer cites after the provider's web search, in order, once each.
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Source:
    url: str
    title: str


# Called with each piece of text as it arrives; must not block (it only buffers).
DeltaSink = Callable[[str], None]
# Called when the provider starts searching the web for the answer; must not block.
SearchSink = Callable[[], None]


def is_reasoning_model(model: str) -> bool:
    """Reasoning models reject sampling parameters (temperature, top_p)."""
    name = model.lower().rsplit("/", 1)[-1]
    # GPT-5 and every later generation reason, except their "chat" variants.
    generation = re.match(r"gpt-(\d+)", name)
    if generation and int(generation.group(1)) >= 5 and "chat" not in name:
        return True
    return len(name) > 1 and name[0] == "o" and name[1].isdigit()


def accepts_verbosity(model: str) -> bool:
    """Only the GPT-5 generations take `verbosity`; the o-series reject it."""
    generation = re.match(r"gpt-(\d+)", model.lower().rsplit("/", 1)[-1])
    return is_reasoning_model(model) and generation is not None
