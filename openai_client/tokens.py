"""Token counting and context trimming.

Counting uses tiktoken when its encoding can be loaded (it downloads the BPE file
once, then caches it); when it cannot (no network, odd model), it falls back to an
estimate. Either way counting never raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from openai_client.models import ChatTurn

logger = logging.getLogger(__name__)

# Overhead of one message in the chat format (role markers), per OpenAI's cookbook.
TOKENS_PER_TURN = 4
# English prose and code average a little under four characters per token.
CHARS_PER_TOKEN_ESTIMATE = 3.5
ENCODING_LOAD_TIMEOUT_SECONDS = 60.0

# Context windows in tokens by model-name prefix; the longest matching prefix wins.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_000_000,
    "gpt-4o": 128_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4": 200_000,
}
DEFAULT_CONTEXT_WINDOW = 32_000
# Room kept free for the answer itself.
RESERVED_OUTPUT_TOKENS = 8_000
# The thread is "near its budget" once the context fills this share of it.
NEAR_BUDGET_SHARE = 0.8


def context_window(model: str) -> int:
    name = model.lower().rsplit("/", 1)[-1]
    matches = [prefix for prefix in CONTEXT_WINDOWS if name.startswith(prefix)]
    return CONTEXT_WINDOWS[max(matches, key=len)] if matches else DEFAULT_CONTEXT_WINDOW


def input_budget(model: str) -> int:
    return max(1_000, context_window(model) - RESERVED_OUTPUT_TOKENS)


class TokenCounter:
    """Estimates until `load_encoding` has loaded tiktoken's encoding, then counts exactly."""

    def __init__(self, encode: Callable[[str], Sequence[int]] | None = None) -> None:
        self._encode = encode

    async def load_encoding(self, encoding_name: str = "o200k_base") -> None:
        """Load the encoding off the loop (the first time, tiktoken downloads it).

        Run as a background task: the bot answers meanwhile, with estimates, and keeps
        estimating if the encoding cannot be had (no network, say).
        """
        try:
            import tiktoken

            encoding = await asyncio.wait_for(
                asyncio.to_thread(tiktoken.get_encoding, encoding_name),
                ENCODING_LOAD_TIMEOUT_SECONDS,
            )
        except Exception as error:  # noqa: BLE001 - any failure means "estimate instead"
            logger.warning(
                "tiktoken encoding %s unavailable (%s); token counts are estimates",
                encoding_name,
                type(error).__name__,
            )
            return
        self._encode = lambda text: encoding.encode(text, disallowed_special=())
        logger.info("token counts use tiktoken's %s encoding", encoding_name)

    def count(self, text: str) -> int:
        if self._encode is not None:
            return len(self._encode(text))
        return int(len(text) / CHARS_PER_TOKEN_ESTIMATE) + 1

    def count_turn(self, turn: ChatTurn) -> int:
        return self.count(turn.text) + TOKENS_PER_TURN + sum(i.tokens for i in turn.images)


@dataclass(frozen=True)
class TrimmedContext:
    turns: list[ChatTurn]
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
    so the question itself (usually last) survives.
    """
    if not turns:
        return TrimmedContext([], counter.count(instructions), 0, budget)
    fixed = counter.count(instructions) + TOKENS_PER_TURN
    newest = turns[-1]
    newest_cost = counter.count_turn(newest)
    room = budget - fixed
    if newest_cost > room:
        newest = _cut_from_start(counter, newest, max(room - TOKENS_PER_TURN, 1))
        return TrimmedContext([newest], budget, len(turns) - 1, budget)
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


def _cut_from_start(counter: TokenCounter, turn: ChatTurn, tokens: int) -> ChatTurn:
    text = turn.text
    low, high = 0, len(text)
    # Binary search on the cut position: counting is monotonic in the kept suffix.
    while low < high:
        middle = (low + high) // 2
        if counter.count(text[middle:]) > tokens:
            low = middle + 1
        else:
            high = middle
    return replace(turn, text="[…earlier part cut to fit…]\n" + text[low:])
