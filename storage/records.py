"""What the stores keep and hand back: plain frozen records, the same for every store."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class UsageKind(StrEnum):
    """What a usage row counts."""

    ANSWER = "answer"
    IMAGE_GENERATION = "image_generation"
    IMAGE_EDIT = "image_edit"


class StoreUnusable(Exception):
    """The store cannot be used (newer schema, unreadable file): one line for the admin."""


@dataclass(frozen=True)
class Claim:
    """A message the bot took on, and where to tell its author if it cannot answer."""

    channel: str
    ts: str
    thread_ts: str
    user_id: str | None


@dataclass(frozen=True)
class StoredSettings:
    overrides: str  # JSON
    updated_by: str


@dataclass(frozen=True)
class SettingsChanges:
    """Settings saved or removed since a version (`SettingsStore.settings_changed_since`)."""

    # The version to ask from next time.
    version: int
    # The scopes changed, each with what it holds now (None: nothing any more).
    changed: dict[tuple[str, str], StoredSettings | None] = field(default_factory=dict)
    # Changes were forgotten since: `changed` is every stored scope, and a scope absent
    # from it holds nothing.
    complete: bool = False


@dataclass(frozen=True)
class StoredMessage:
    ts: str
    role: str
    user_id: str | None
    text: str
    # An answer written from content its asker did not write (other people's messages,
    # files, links, search or tool results).
    outside: bool


@dataclass(frozen=True)
class StoredDocument:
    file_id: str
    message_ts: str
    name: str
    text: str


@dataclass(frozen=True)
class ThreadImage:
    file_id: str
    message_ts: str
    role: str
    description: str


@dataclass(frozen=True)
class ThreadRecord:
    """What storage keeps of one thread, read at once when an answer starts."""

    messages: list[StoredMessage] = field(default_factory=list)
    documents: list[StoredDocument] = field(default_factory=list)
    # In the order they were posted: the model numbers them #1, #2, … so.
    images: list[ThreadImage] = field(default_factory=list)


@dataclass(frozen=True)
class TurnRecord:
    """What one answer adds to its thread, recorded together when it ends: the text of
    documents read, images that joined the numbered list, and the answer itself."""

    documents: list[StoredDocument] = field(default_factory=list)
    images: list[ThreadImage] = field(default_factory=list)
    # Stored under the ts of the message it answers.
    answer: StoredMessage | None = None


@dataclass(frozen=True)
class ModelUsage:
    model: str
    # Answers, or images drawn or edited, by `kind`.
    answers: int
    input_tokens: int
    output_tokens: int
    # None when no answer of this model had a known price.
    cost: float | None
    kind: UsageKind = UsageKind.ANSWER


@dataclass(frozen=True)
class Totals:
    """What the store holds, and what was spent since a time: an operator's overview."""

    threads: int
    # Turns kept: people's messages and the bot's answers.
    messages: int
    people: int
    answers: int
    images: int
    input_tokens: int
    output_tokens: int
    # None when nothing spent had a known price.
    cost: float | None


@dataclass(frozen=True)
class PersonUsage:
    """One person's spending on one model since a time, answers and images together."""

    user_id: str
    model: str
    input_tokens: int
    output_tokens: int
    # None when nothing of it had a known price.
    cost: float | None


@dataclass(frozen=True)
class InflightReply:
    channel: str
    message_ts: str
    thread_ts: str
    user_id: str | None
    # "status" (a status line), "writing" (text still growing) or "full" (a part whose
    # successor is on its way).
    shows: str


@dataclass(frozen=True)
class Orphans:
    """What processes that are gone left unfinished, taken over by one that runs to be
    reported: claims not answered, replies whose messages stopped mid-way."""

    claims: list[Claim] = field(default_factory=list)
    replies: list[InflightReply] = field(default_factory=list)


@dataclass(frozen=True)
class PendingApproval:
    """An action a person was asked to approve, with the buttons' message."""

    id: str
    user_id: str
    channel: str
    thread_ts: str | None
    message_ts: str
    action: str
    arguments: str  # JSON
    # Exactly what will be sent, as the buttons' message shows it.
    preview: str
    expires_at: float


@dataclass(frozen=True)
class JobRun:
    """A background job's latest run."""

    name: str
    # Seconds between its runs.
    every: float
    started_at: float
    seconds: float
    # "ok", or "failed: " and why.
    outcome: str
