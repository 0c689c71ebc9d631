"""What the fake model answers, as decided by an answer strategy.

The server (sandbox/model/server.py) speaks the APIs' wire formats but has no opinion of its
own: for every model call and image request it asks its `AnswerStrategy` what to answer and
carries the reply out. The sandbox's strategy is the demo (sandbox/demo.py); the tests script
the model with theirs (tests/fakes/scripted_model.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sandbox.model.prompts import Prompt

JsonDict = dict[str, Any]
Api = Literal["responses", "chat"]


@dataclass(frozen=True)
class ModelRequest:
    """A model call as the strategy sees it; its images are `prompt.images`."""

    api: Api  # "responses" (POST /v1/responses) or "chat" (POST /v1/chat/completions)
    body: JsonDict  # the request as sent
    prompt: Prompt
    tools: tuple[JsonDict, ...]  # the tools offered, as sent


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: str  # JSON text, streamed as it is


@dataclass(frozen=True)
class Answer:
    """A model's answer: text, or a function call; streamed in `pieces`."""

    text: str  # empty when the model calls a function
    call: FunctionCall | None
    pieces: tuple[str, ...]  # the streamed deltas: of the text, or of the call's arguments
    # Pages the answer cites after searching the web: (url, title). Only the Responses API
    # shows the search; it comes before the message.
    sources: tuple[tuple[str, str], ...] = ()
    piece_delay: float = 0.0  # seconds between streamed deltas
    # Streaming only: after this many deltas the stream is held open (a model that stalls).
    stall_after: int | None = None

    @property
    def output_tokens(self) -> int:
        return len(self.call.arguments if self.call else self.text) // 4 + 1


@dataclass(frozen=True)
class Failure:
    """Answer with an error in OpenAI's shape: `status`, with its usual type and code."""

    status: int
    message: str


@dataclass(frozen=True)
class Hang:
    """Accept the request and send nothing until the client disconnects."""


# What an image request gets: drawn, or blocked as the real safety system blocks prompts.
ImageVerdict = Literal["draw", "refuse"]
ModelReply = Answer | Failure | Hang
ImageReply = ImageVerdict | Failure | Hang


class AnswerStrategy(Protocol):
    """Decides the answers; may take its time (the server waits, as for a thinking model)."""

    async def model_reply(self, request: ModelRequest) -> ModelReply:
        """The answer to a Responses or Chat Completions call."""
        ...

    async def image_reply(self, prompt: str) -> ImageReply:
        """What an image generation or edit with this prompt gets. A "refuse" is answered
        only once the request's other parameters are found valid, as the real API does."""
        ...


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
