"""What every reader shares: the two exceptions whose messages are fit for a user,
`ExtractedDocument`, the budget one document may spend while it is read (characters and
markup elements, with `Enough` to stop a reader once a cap is met), cutting text to the
character cap with the cut noted, fenced blocks, and `finish`, which makes a reader's text
the `ExtractedDocument`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from untrusted.documents.kinds import SUPPORTED_KINDS_TEXT

MAX_DOCUMENT_CHARS = (
    150_000  # text kept per document; beyond it the text is cut and the cut is reported
)
# Markup read per document (the XML elements of a Word body or of worksheets, HTML elements,
# RTF control words and groups): each costs a Python call, and markup without text spends
# no character budget. Enough for any real document to fill that budget first.
MAX_MARKUP_ELEMENTS = 1_000_000


class UnsupportedDocument(Exception):
    """We do not read this kind of file; the message says which kind, fit for a user."""


class DocumentUnreadable(Exception):
    """The file is of a kind we read, but this one could not be read; the message says why."""


@dataclass(frozen=True)
class ExtractedDocument:
    name: str
    kind: str
    text: str
    cuts: list[str] = field(default_factory=list)
    page_images: list[bytes] = field(default_factory=list)


def unsupported(reason: str) -> UnsupportedDocument:
    return UnsupportedDocument(f"{reason}; I can read {SUPPORTED_KINDS_TEXT}")


class Enough(Exception):
    """Raised inside a reader (often from a parser callback) to stop reading: a cap is met."""


class Budget:
    """What one document may still keep, spent while it is read, so that no reader builds
    text past the cut: characters (`MAX_DOCUMENT_CHARS`) and markup elements read
    (`MAX_MARKUP_ELEMENTS`)."""

    def __init__(self) -> None:
        self.left = MAX_DOCUMENT_CHARS
        self.elements_left = MAX_MARKUP_ELEMENTS
        self.unread = False  # a reader stopped with more of the document before it

    @property
    def spent(self) -> bool:
        return self.left <= 0

    def fits(self, size: int) -> bool:
        return size <= self.left

    def spend(self, size: int) -> None:
        self.left -= size

    def take(self, text: str) -> str:
        """`text`, or as much of it as the budget still allows (noting any rest unread)."""
        kept = text[: max(0, self.left)]
        self.left -= len(text)
        if len(kept) < len(text) and text[len(kept) :].strip():
            self.unread = True
        return kept

    def element(self) -> None:
        """Counts one markup element read; `Enough` once `MAX_MARKUP_ELEMENTS` have been."""
        self.elements_left -= 1
        if self.elements_left < 0:
            self.unread = True
            raise Enough

    @property
    def rest(self) -> str | None:
        """How the kept text relates to the whole, when a reader stopped early."""
        return "(the rest was not read)" if self.unread else None


def keep(parts: list[str], text: str, budget: Budget) -> None:
    """Appends `text` to `parts` within the budget; `Enough` when text comes after it is spent."""
    if budget.spent and text.strip():
        budget.unread = True
        raise Enough
    parts.append(budget.take(text))


class Collected:
    """Text gathered piece by piece, keeping at most `limit` characters of it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._parts: list[str] = []

    def add(self, text: str) -> None:
        if self.size < self.limit:
            self._parts.append(text[: self.limit - self.size])
        self.size += len(text)

    def text(self) -> str:
        return "".join(self._parts)


def cut_text(text: str, limit: int, cuts: list[str], rest: str | None = None) -> str:
    """`text` within `limit` characters (cut at a line end when one is near), noting a cut.

    `rest` says how much the whole document holds when `text` is only its start (for example
    "of about 2,400,000"); the cut is then noted even if `text` itself fits."""
    if len(text) <= limit and rest is None:
        return text
    kept = text[:limit]
    if len(text) > limit:
        newline = kept.rfind("\n", max(0, limit - 2_000))
        if newline > 0:
            kept = kept[:newline]
    cuts.append(f"first {len(kept):,} characters {rest or f'of {len(text):,}'}")
    return kept


def _fence(language: str, content: str) -> tuple[str, str]:
    """Opening and closing fence lines, longer than any run of backticks in `content`."""
    longest = max((len(m) for m in re.findall(r"`{3,}", content)), default=2)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n", f"\n{ticks}"


def fenced(language: str, content: str, cuts: list[str], rest: str | None = None) -> str:
    """`content` in a fenced block, cut so the whole block fits `MAX_DOCUMENT_CHARS`."""
    content = content.strip("\n")
    opening, closing = _fence(language, content)
    content = cut_text(content, MAX_DOCUMENT_CHARS - len(opening) - len(closing), cuts, rest)
    return opening + content + closing


def finish(
    name: str,
    kind: str,
    text: str,
    cuts: list[str],
    images: list[bytes] | None = None,
    rest: str | None = None,
) -> ExtractedDocument:
    text = cut_text(text.strip("\n"), MAX_DOCUMENT_CHARS, cuts, rest)
    if not text.strip() and not images:
        raise DocumentUnreadable("it is empty" if rest is None else "it is too large to read")
    return ExtractedDocument(name=name, kind=kind, text=text, cuts=cuts, page_images=images or [])
