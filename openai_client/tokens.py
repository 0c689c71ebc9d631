"""Token counting and context trimming.

Counting uses tiktoken's o200k_base encoding, whose data ships with the bot
(openai_client/encoding.py), so counts are exact offline; only a damaged install falls
back to an estimate. Either way counting never raises.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from openai_client.encoding import EncodingDataError, load_o200k_base
from openai_client.models import ChatTurn, ModelImage

if TYPE_CHECKING:
    import tiktoken

logger = logging.getLogger(__name__)

# Overhead of one message in the chat format (role markers), per OpenAI's cookbook.
TOKENS_PER_TURN = 4
# English prose and code average a little under four characters per token.
CHARS_PER_TOKEN_ESTIMATE = 3.5


@dataclass(frozen=True)
class ModelLimits:
    """A model's context window and, of it, the most input tokens the API accepts."""

    context: int
    max_input: int


# By model-name pattern, matched at the start of the name (fnmatch: `*` is any run of
# characters); the most specific pattern, the one with the most literal characters, wins.
# Figures are from OpenAI's model pages, platform.openai.com/docs/models/<model>, unless a
# comment says otherwise.
MODEL_LIMITS: dict[str, ModelLimits] = {
    # gpt-5, -mini, -nano, gpt-5.1 to 5.3, gpt-5.4-mini and -nano, the -codex models: 400,000
    # context, 128,000 max output. The pages show only the window, but the API refuses more
    # than 272,000 input tokens: "all GPT-5 models can accept a maximum of 272,000 input
    # tokens" (openai.com/index/introducing-gpt-5-for-developers), and its 400 error says so.
    # gpt-5.4 and gpt-5.5 (and -pro) have a 1,050,000 window with 128,000 max output, so up
    # to 922,000 input, but bill a whole request above 272,000 input tokens at twice the
    # input rate (seen only in copies of their pages, not on OpenAI's own). They stay at
    # 272,000: cheaper, and no sibling without a row (a later -mini) inherits the larger one.
    "gpt-5": ModelLimits(context=400_000, max_input=400_000 - 128_000),
    # gpt-5-pro: 400,000 context, 272,000 max output. Unconfirmed whether the API takes more
    # input than the window leaves beside that output; assume not.
    "gpt-5-pro": ModelLimits(context=400_000, max_input=400_000 - 272_000),
    # gpt-5-chat-latest, gpt-5.x-chat-latest (and Azure's gpt-5-chat): 128,000 context,
    # 16,384 max output. The pattern outranks "gpt-5" and every "gpt-5.x" row.
    # Unconfirmed whether the API keeps the output's share free as it does for gpt-5;
    # assume it does.
    "gpt-5*-chat": ModelLimits(context=128_000, max_input=128_000 - 16_384),
    # gpt-4.1, -mini, -nano: 1,047,576 context, 32,768 max output. Before GPT-5, input and
    # output share the window: the input may fill it, less what the answer needs.
    "gpt-4.1": ModelLimits(context=1_047_576, max_input=1_047_576),
    # gpt-4o and gpt-4o-mini: 128,000 context, 16,384 max output.
    "gpt-4o": ModelLimits(context=128_000, max_input=128_000),
    # o1 and o1-pro, o3 with -mini and -pro, o4-mini: 200,000 context, 100,000 max output.
    "o1": ModelLimits(context=200_000, max_input=200_000),
    "o3": ModelLimits(context=200_000, max_input=200_000),
    "o4-mini": ModelLimits(context=200_000, max_input=200_000),
    # o1-mini: 128,000 context, 65,536 max output; o1-preview: 128,000 and 32,768.
    "o1-mini": ModelLimits(context=128_000, max_input=128_000),
    "o1-preview": ModelLimits(context=128_000, max_input=128_000),
}
# Unknown models, such as a local server's. Not a documented figure: a guess that fits the
# 32k windows local models commonly run with; a smaller server needs a row of its own.
DEFAULT_LIMITS = ModelLimits(context=32_000, max_input=32_000)
# Room kept free for the answer itself, where input and output share the window.
RESERVED_OUTPUT_TOKENS = 8_000
# The thread is "near its budget" once the context fills this share of it.
NEAR_BUDGET_SHARE = 0.8

# Starts a newest message cut to fit; counted like the rest of the text.
CUT_MARKER = "[…earlier part cut to fit…]\n"
# Of a newest message cut to fit, the end of its text keeps at least this much room before
# any image does: the question is usually last, and without it there is nothing to answer.
QUESTION_TOKENS = 256


def model_limits(model: str) -> ModelLimits:
    name = model.lower().rsplit("/", 1)[-1]
    matches = [pattern for pattern in MODEL_LIMITS if fnmatchcase(name, pattern + "*")]
    if not matches:
        return DEFAULT_LIMITS
    return MODEL_LIMITS[max(matches, key=lambda pattern: len(pattern.replace("*", "")))]


def context_window(model: str) -> int:
    return model_limits(model).context


def input_budget(model: str) -> int:
    """The input tokens a thread is trimmed to: what the API accepts, leaving the answer room."""
    limits = model_limits(model)
    return min(limits.max_input, limits.context - RESERVED_OUTPUT_TOKENS)


class TokenCounter:
    """Exact counts with an encoding; estimates without one."""

    def __init__(self, encoding: tiktoken.Encoding | None = None) -> None:
        self._encoding = encoding

    @classmethod
    async def load(cls) -> TokenCounter:
        """A counter with the packaged o200k_base, read off the loop (it takes a moment).

        Its data is part of the install; if it is damaged the bot still answers, with
        estimated counts, and the log says what to do.
        """
        try:
            return cls(await asyncio.to_thread(load_o200k_base))
        except EncodingDataError as error:
            logger.error("%s; token counts are estimates until the bot is reinstalled", error)
            return cls()

    def count(self, text: str) -> int:
        if self._encoding is not None:
            # Ordinary encoding: text that looks like a special token is just text here.
            return len(self._encoding.encode_ordinary(text))
        return int(len(text) / CHARS_PER_TOKEN_ESTIMATE) + 1

    def count_turn(self, turn: ChatTurn) -> int:
        return self.count(turn.text) + TOKENS_PER_TURN + _image_tokens(turn.images)

    def tail(self, text: str, tokens: int) -> str:
        """The end of `text` within `tokens`: all of it if it fits, empty if nothing does.

        Linear in the text: one encoding (or none, when estimating), where a search on the
        cut position would count a text of millions of characters over and over.
        """
        if self._encoding is None:
            # The estimate counts n characters as int(n / 3.5) + 1 tokens.
            keep = max(math.ceil(tokens * CHARS_PER_TOKEN_ESTIMATE) - 1, 0)
            return text[len(text) - keep :] if keep < len(text) else text
        return _token_tail(self._encoding, text, tokens)


def _token_tail(encoding: tiktoken.Encoding, text: str, tokens: int) -> str:
    ids = encoding.encode_ordinary(text)
    if len(ids) <= tokens:
        return text
    keep = tokens
    while keep > 0:
        # A token may hold part of a character: drop the broken bytes at the start.
        tail = encoding.decode_bytes(ids[-keep:]).decode("utf-8", errors="ignore")
        # Encoded on its own, the tail may split differently than inside the text.
        excess = len(encoding.encode_ordinary(tail)) - tokens
        if excess <= 0:
            return tail
        keep -= excess
    return ""


def _image_tokens(images: Sequence[ModelImage]) -> int:
    return sum(image.tokens for image in images)


@dataclass(frozen=True)
class TrimmedContext:
    turns: list[ChatTurn]
    # What is sent: the instructions, the turns and every message's overhead.
    tokens: int
    dropped: int
    budget: int

    @property
    def near_budget(self) -> bool:
        return self.dropped > 0 or self.tokens >= self.budget * NEAR_BUDGET_SHARE


def trim_to_budget(
    counter: TokenCounter, instructions: str, turns: Sequence[ChatTurn], budget: int
) -> TrimmedContext:
    """Drop the oldest turns until the rest fits; the instructions and newest turn stay.

    A newest turn that alone exceeds the budget is cut from its start, keeping its end,
    so the question itself (usually last) survives. The result stays within the budget
    whenever the budget holds the instructions and a cut marker; nothing less can be sent.
    """
    # The instructions travel as a message of their own, overhead included.
    fixed = counter.count(instructions) + TOKENS_PER_TURN
    if not turns:
        return TrimmedContext([], fixed, 0, budget)
    newest = turns[-1]
    text_tokens = counter.count(newest.text)
    newest_cost = text_tokens + TOKENS_PER_TURN + _image_tokens(newest.images)
    room = budget - fixed
    if newest_cost > room:
        cut, cost = _cut_to_fit(counter, newest, room, text_tokens)
        return TrimmedContext([cut], fixed + cost, len(turns) - 1, budget)
    kept: list[ChatTurn] = [newest]
    used = fixed + newest_cost
    for turn in reversed(turns[:-1]):
        cost = counter.count_turn(turn)
        if used + cost > budget:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    return TrimmedContext(kept, used, len(turns) - len(kept), budget)


def _cut_to_fit(
    counter: TokenCounter, turn: ChatTurn, room: int, text_tokens: int
) -> tuple[ChatTurn, int]:
    """The turn cut to `room` tokens, overhead included, with what it now counts.

    It keeps its newest images that fit beside the marker and the question's share, then
    as much of the end of its text as the rest allows.
    """
    marker = counter.count(CUT_MARKER)
    question = min(text_tokens, QUESTION_TOKENS)
    images = _newest_within(turn.images, room - TOKENS_PER_TURN - marker - question)
    tail = counter.tail(turn.text, room - TOKENS_PER_TURN - marker - _image_tokens(images))
    while True:
        cut = replace(turn, text=CUT_MARKER + tail, images=images)
        cost = counter.count_turn(cut)
        # Joined to the marker, the tail may count a little more than alone: cut again.
        over = cost - room
        if over <= 0 or not tail:
            return cut, cost
        tail = counter.tail(tail, counter.count(tail) - over)


def _newest_within(images: Sequence[ModelImage], tokens: int) -> tuple[ModelImage, ...]:
    """The newest images whose tokens add up to at most `tokens`; older ones are dropped."""
    kept: list[ModelImage] = []
    for image in reversed(images):
        if image.tokens > tokens:
            break
        kept.append(image)
        tokens -= image.tokens
    return tuple(reversed(kept))
