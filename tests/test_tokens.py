"""Token budgets per model, and trimming that never sends more than the budget."""

from __future__ import annotations

import functools
import gzip
import hashlib
from importlib import resources
from pathlib import Path
from typing import TypeVar

import pytest
import tiktoken
import tiktoken_ext.openai_public  # type: ignore[import-untyped]
from hypothesis import example, given, settings
from hypothesis import strategies as st

from openai_client.encoding import load_o200k_base
from openai_client.models import ChatTurn, ModelImage
from openai_client.tokens import (
    CUT_MARKER,
    TOKENS_PER_TURN,
    TokenCounter,
    TrimmedContext,
    input_budget,
    trim_to_budget,
)

E = TypeVar("E", bound=tiktoken.Encoding)

QUESTION = "So what is THE ACTUAL QUESTION?"


def image(width: int, height: int) -> ModelImage:
    return ModelImage(data=b"", mime="image/png", width=width, height=height)


def byte_encoding(kind: type[E]) -> E:
    """A small real BPE that needs no download, and that is hard to cut.

    One token per byte, plus a few merges: characters outside ASCII take several tokens
    and some merges span two characters, so a slice of tokens often starts inside one.
    Text splits into pieces of at most two characters, counted from where it starts, and
    a space joins the piece after it: the end of a text, alone or after the cut marker,
    may split into more tokens than it took inside the text.
    """
    ranks = {bytes([byte]): byte for byte in range(256)}
    for piece in (" t", "th", "he", "bc", "é", "e\u0301", "\u0301x"):
        ranks[piece.encode()] = len(ranks)
    return kind("test", pat_str=r" ?\S{1,2}|\s+", mergeable_ranks=ranks, special_tokens={})


@functools.cache
def o200k_encoding() -> tiktoken.Encoding:
    return load_o200k_base()


@pytest.fixture(scope="module", params=["estimate", "bytes", "o200k_base"])
def counter(request: pytest.FixtureRequest) -> TokenCounter:
    if request.param == "estimate":
        return TokenCounter()
    if request.param == "bytes":
        return TokenCounter(byte_encoding(tiktoken.Encoding))
    return TokenCounter(o200k_encoding())


def sent_tokens(counter: TokenCounter, instructions: str, result: TrimmedContext) -> int:
    """Counted afresh: the instructions and every turn, each message with its overhead."""
    return (
        counter.count(instructions)
        + TOKENS_PER_TURN
        + sum(counter.count_turn(turn) for turn in result.turns)
    )


def is_end_of(kept: ChatTurn, original: ChatTurn) -> bool:
    text = kept.text.removeprefix(CUT_MARKER)
    images = original.images[len(original.images) - len(kept.images) :]
    # A lone surrogate cannot be encoded: tiktoken reads it as U+FFFD, and a text it cut
    # comes back with that in its place (the estimate cuts the text as it is).
    readable = original.text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return (original.text.endswith(text) or readable.endswith(text)) and kept.images == images


# --- The packaged encoding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        # Token ids as OpenAI's tokenizer gives them for o200k_base (GPT-4o and later).
        ("hello world", [24912, 2375]),
        ("Hello, world!", [13225, 11, 2375, 0]),
        ("tiktoken is great!", [83, 8251, 2488, 382, 2212, 0]),
    ],
)
def test_the_packaged_encoding_gives_openais_tokens(text: str, ids: list[int]) -> None:
    assert o200k_encoding().encode_ordinary(text) == ids


def test_the_packaged_encoding_is_tiktokens_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tiktoken's own o200k_base, built from the packaged file (put where tiktoken caches
    its download, so nothing is fetched), equals the one the bot builds."""
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    packed = resources.files("openai_client").joinpath("encodings/o200k_base.tiktoken.gz")
    cached = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    cached.write_bytes(gzip.decompress(packed.read_bytes()))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    own = tiktoken.Encoding(**tiktoken_ext.openai_public.o200k_base())
    ours = o200k_encoding()
    assert ours._pat_str == own._pat_str
    assert ours._special_tokens == own._special_tokens
    assert ours._mergeable_ranks == own._mergeable_ranks


# --- The budget table -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "budget"),
    [
        # The API refuses more than 272,000 input tokens for the GPT-5 family.
        ("gpt-5", 272_000),
        ("gpt-5-mini", 272_000),
        ("gpt-5.4-mini", 272_000),
        ("gpt-5.4", 272_000),
        ("openai/GPT-5.2", 272_000),
        # 400,000 context, 272,000 of it kept for the output.
        ("gpt-5-pro", 128_000),
        # The chat variants have 128,000-token windows, 16,384 of them for the output.
        ("gpt-5-chat-latest", 128_000 - 16_384),
        ("gpt-5.3-chat-latest", 128_000 - 16_384),
        # Input and output share the window: the budget leaves the answer room.
        ("gpt-4.1", 1_047_576 - 8_000),
        ("gpt-4.1-nano", 1_047_576 - 8_000),
        ("gpt-4o-mini", 128_000 - 8_000),
        ("o1", 200_000 - 8_000),
        ("o1-mini", 128_000 - 8_000),
        ("o3-mini", 200_000 - 8_000),
        ("o4-mini", 200_000 - 8_000),
        ("my-local-llama", 32_000 - 8_000),
    ],
)
def test_budgets_come_from_the_model_table(model: str, budget: int) -> None:
    assert input_budget(model) == budget


# --- Cutting the end of a text --------------------------------------------------------


@pytest.mark.parametrize("tokens", [0, 1, 2, 7, 100, 10_000])
def test_an_estimated_tail_is_the_longest_end_that_fits(tokens: int) -> None:
    counter = TokenCounter()
    text = "0123456789" * 500
    tail = counter.tail(text, tokens)
    assert text.endswith(tail)
    assert tail == text or counter.count(text[-len(tail) - 1 :]) > tokens
    assert not tail or counter.count(tail) <= tokens


def test_a_token_tail_is_recounted_alone() -> None:
    counter = TokenCounter(byte_encoding(tiktoken.Encoding))
    # Inside the text "xabc" splits as "xa" and "bc" (3 tokens); alone, "abc" splits as
    # "ab" and "c" (3 tokens, not 2): the tail that fits 2 tokens is "bc".
    assert counter.count("xabc") == 3 and counter.count("abc") == 3
    assert counter.tail("xabc", 2) == "bc"


def test_a_token_tail_never_starts_with_a_broken_character() -> None:
    counter = TokenCounter(byte_encoding(tiktoken.Encoding))
    text = "é😀e\u0301x" * 200 + QUESTION
    for tokens in range(1, 120):
        tail = counter.tail(text, tokens)
        assert text.endswith(tail) and "\ufffd" not in tail
        assert counter.count(tail) <= tokens


def test_cutting_encodes_the_text_a_bounded_number_of_times() -> None:
    class CountingEncoding(tiktoken.Encoding):
        encoded = 0

        def encode_ordinary(self, text: str) -> list[int]:
            self.encoded += len(text)
            return super().encode_ordinary(text)

    encoding = byte_encoding(CountingEncoding)
    text = "context " * 40_000 + QUESTION
    result = trim_to_budget(TokenCounter(encoding), "system", [ChatTurn("user", text)], 2_000)
    assert result.turns[0].text.endswith(QUESTION)
    # A search on the cut position would encode it about log2(320,000) = 18 times.
    assert encoding.encoded < 3 * len(text)


# --- Trimming -------------------------------------------------------------------------


def test_the_issue_case_sends_no_more_than_the_budget(counter: TokenCounter) -> None:
    # Two 512x1024 images (425 tokens each) and a long text, under a 1,000-token budget.
    newest = ChatTurn(
        "user", "context " * 5_000 + QUESTION, images=(image(512, 1024), image(512, 1024))
    )
    turns = [ChatTurn("user", "older"), ChatTurn("assistant", "old"), newest]
    result = trim_to_budget(counter, "system", turns, budget=1_000)
    assert result.tokens == sent_tokens(counter, "system", result) <= 1_000
    assert result.dropped == 2 and result.near_budget
    [kept] = result.turns
    assert kept.text.startswith(CUT_MARKER) and kept.text.endswith(QUESTION)
    # One image fits beside the question's share; the older one is dropped.
    assert len(kept.images) == 1


def test_a_tail_that_counts_more_after_the_marker_is_cut_again() -> None:
    counter = TokenCounter(byte_encoding(tiktoken.Encoding))
    # After the marker's newline, the space of " t" joins the newline: one token more.
    assert counter.count(CUT_MARKER + " t") == counter.count(CUT_MARKER) + 1 + 1
    newest = ChatTurn("user", " t" * 2_000)
    result = trim_to_budget(counter, "system", [newest], budget=500)
    assert result.tokens == sent_tokens(counter, "system", result) <= 500
    assert result.tokens >= 498


def test_images_alone_over_the_budget_are_dropped(counter: TokenCounter) -> None:
    # 2048x2048: 16 tiles, 2,805 tokens, each more than the whole budget.
    newest = ChatTurn("user", QUESTION, images=(image(2048, 2048), image(2048, 2048)))
    result = trim_to_budget(counter, "system", [newest], budget=1_000)
    assert result.tokens == sent_tokens(counter, "system", result) <= 1_000
    [kept] = result.turns
    assert kept.images == ()
    assert kept.text == CUT_MARKER + QUESTION


def test_the_newest_images_are_kept_first(counter: TokenCounter) -> None:
    small, large = image(512, 512), image(1024, 1024)  # 255 and 765 tokens
    newest = ChatTurn("user", QUESTION, images=(large, small, small))
    result = trim_to_budget(counter, "system", [newest], budget=1_000)
    assert result.tokens <= 1_000
    assert result.turns[0].images == (small, small)


def test_the_kept_text_is_the_end_of_the_newest_message(counter: TokenCounter) -> None:
    question = "THE ACTUAL QUESTION: why does the build fail on Tuesdays?"
    newest = ChatTurn("user", "".join(f"log line {i}\n" for i in range(50_000)) + question)
    result = trim_to_budget(counter, "system", [ChatTurn("user", "hi"), newest], budget=3_000)
    assert result.tokens == sent_tokens(counter, "system", result) <= 3_000
    [kept] = result.turns
    assert kept.text.endswith("log line 49999\n" + question)
    assert newest.text.endswith(kept.text.removeprefix(CUT_MARKER))
    # The budget is used, not wasted: the cut keeps most of what fits.
    assert result.tokens > 2_500


# Any characters, with more of those that the test encoding splits awkwardly.
characters = st.sampled_from(" tbcx\u0301é\n") | st.characters()
texts = st.builds(
    lambda piece, times: piece * times, st.text(characters, max_size=60), st.integers(1, 60)
)
images = st.lists(st.builds(image, st.integers(1, 1_500), st.integers(1, 1_500)), max_size=3)
chat_turns = st.builds(ChatTurn, st.sampled_from(["user", "assistant"]), texts, images.map(tuple))


@settings(deadline=None, max_examples=150)
@given(
    instructions=st.text(max_size=200),
    turns=st.lists(chat_turns, max_size=5),
    spare=st.integers(0, 3_000),
)
# A lone surrogate, which Slack's JSON may carry, in a turn that must be cut.
@example(instructions="", turns=[ChatTurn("user", "0:0\ud800\U00010000" * 2, ())], spare=5)
def test_trimming_never_sends_more_than_the_budget(
    counter: TokenCounter, instructions: str, turns: list[ChatTurn], spare: int
) -> None:
    # The least that can be sent: the instructions and a newest turn cut to its marker.
    least = counter.count(instructions) + 2 * TOKENS_PER_TURN + counter.count(CUT_MARKER)
    budget = least + spare
    result = trim_to_budget(counter, instructions, turns, budget)
    assert result.tokens == sent_tokens(counter, instructions, result) <= budget
    assert result.dropped == len(turns) - len(result.turns)
    if turns:
        *older, newest = result.turns
        assert older == turns[len(turns) - len(result.turns) : -1]
        assert is_end_of(newest, turns[-1])
