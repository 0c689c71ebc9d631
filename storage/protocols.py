"""What the bot asks of storage, one small protocol per kind of record.

Each consumer depends on the narrowest protocol it uses; a `Store` holds one of each
and its lifecycle. A store's writes return once they are durable, so a caller reads its own
writes; decisions (`claim_event`, `first_contact`, `claim_context_notice`, `take`) are
atomic across every process sharing the store.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from storage.records import (
    Claim,
    JobRun,
    ModelUsage,
    Orphans,
    PendingApproval,
    PersonUsage,
    SettingsChanges,
    StoredMessage,
    StoredSettings,
    ThreadRecord,
    Totals,
    TurnRecord,
    UsageKind,
)


class EventStore(Protocol):
    async def claim_event(self, keys: Sequence[str], claim: Claim) -> bool:
        """Record the event's keys; True only if none of them was seen before, and then
        `claim` is recorded too, owned by this process, until `settle_claim` or
        `InflightStore.reply_finished`."""
        ...

    async def settle_claim(self, channel: str, ts: str) -> None:
        """The claimed message was turned away, or its author told why it has no answer."""
        ...

    async def purge_processed_events(self, older_than: float) -> int: ...


class ThreadStore(Protocol):
    """Threads the bot takes part in and what it keeps of them: turns, document text,
    numbered images, and where a DM conversation was reset."""

    async def join_thread(self, channel: str, thread_ts: str) -> None: ...

    async def has_joined_thread(self, channel: str, thread_ts: str) -> bool: ...

    async def add_assistant_thread(self, channel: str, thread_ts: str) -> None: ...

    async def is_assistant_thread(self, channel: str, thread_ts: str) -> bool: ...

    async def claim_context_notice(self, channel: str, thread_ts: str) -> bool:
        """True the first time only: the near-budget notice is shown once per thread."""
        ...

    async def add_message(
        self,
        channel: str,
        thread_ts: str,
        ts: str,
        role: str,
        user_id: str | None,
        text: str,
        *,
        outside: bool = True,
    ) -> None:
        """`outside`: for an answer, whether it was written from content its asker did
        not write; an answer not known to be clean is taken as not."""
        ...

    async def load_thread(self, channel: str, thread_ts: str) -> ThreadRecord:
        """Its stored turns, document text and numbered images, in one call."""
        ...

    async def record_turn(self, channel: str, thread_ts: str, turn: TurnRecord) -> None:
        """What an answer added, in one transaction. An image already listed keeps its
        place; a document read again replaces its text; the answer replaces an earlier
        one to the same message."""
        ...

    async def answered_in_thread(self, channel: str, thread_ts: str, user_id: str) -> bool:
        """Whether the bot has taken up a message of `user_id` in this thread."""
        ...

    async def reset_conversation(self, channel: str, user_id: str, after_ts: str) -> None: ...

    async def conversation_since(
        self, channel: str, user_id: str, before_ts: str, limit: int
    ) -> list[StoredMessage]:
        """A DM's newest top-level exchanges before `before_ts`, after the user's last
        reset, oldest first."""
        ...

    async def purge_conversations(self, older_than: float) -> int:
        """Delete turns, document text and images stored before `older_than`, a batch
        per transaction; the number of rows removed."""
        ...


class SettingsStore(Protocol):
    """Each save or removal is numbered, so every process sharing the store catches up on
    what others changed with one cheap question per message."""

    async def all_settings(self) -> dict[tuple[str, str], StoredSettings]:
        """Every scope's stored overrides and who saved them, by (scope, key)."""
        ...

    async def settings_version(self) -> int:
        """The number of the latest change; ask `settings_changed_since` from it."""
        ...

    async def settings_changed_since(self, version: int) -> SettingsChanges:
        """What changed after `version`; an unchanged version when nothing did."""
        ...

    async def save_settings(
        self, scope: str, key: str, overrides: str, updated_by: str
    ) -> None: ...


class UsageStore(Protocol):
    async def record_usage(
        self,
        user_id: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        cost: float | None = None,
        channel: str | None = None,
        question_ts: str | None = None,
    ) -> None: ...

    async def record_image(
        self,
        user_id: str,
        model: str,
        kind: UsageKind,
        *,
        cost: float | None,
        channel: str,
        question_ts: str,
        at: float,
    ) -> None:
        """One image drawn or edited for `user_id`, at the time `at` (what `images_since`
        compares)."""
        ...

    async def images_since(self, user_id: str, since: float) -> int: ...

    async def usage_by_model(self, user_id: str | None, since: float) -> list[ModelUsage]:
        """One user's usage (everyone's with None) since a time, by model and kind:
        answers first, largest first, then images."""
        ...


class PeopleStore(Protocol):
    async def first_contact(self, user_id: str) -> bool:
        """True the first time a user is seen, and never again."""
        ...


class FeedbackStore(Protocol):
    async def record_feedback(
        self, channel: str, message_ts: str, user_id: str, value: str
    ) -> None:
        """A person's latest verdict on an answer (clicking again changes it)."""
        ...

    async def feedback_counts(self, since: float) -> dict[str, int]: ...


class InflightStore(Protocol):
    """Replies being written, owned by the process writing them, so that whatever a
    process leaves unfinished when it dies is reported once, by a process still alive."""

    async def add_inflight(
        self, channel: str, message_ts: str, thread_ts: str, user_id: str | None, shows: str
    ) -> None: ...

    async def reply_finished(self, channel: str, thread_ts: str, question_ts: str) -> None:
        """The answer to `question_ts` is complete: its messages and its claim are done
        with, together."""
        ...

    async def adopt_orphans(self) -> Orphans:
        """The claims and replies of processes that are gone, now this one's to report:
        each is taken over by one process only, and goes on to another if this one dies
        before `release`."""
        ...

    async def release(self, orphans: Orphans) -> None:
        """What `adopt_orphans` gave has been reported: forget it."""
        ...


class ApprovalStore(Protocol):
    """Actions awaiting a person's approval: kept across restarts, decided once."""

    async def add_approval(self, approval: PendingApproval) -> None: ...

    async def approval(self, approval_id: str) -> PendingApproval | None: ...

    async def take_approval(self, approval_id: str) -> bool:
        """True for the one caller that removes it: a double click runs it once, on any
        process."""
        ...

    async def pending_approvals(self) -> list[PendingApproval]: ...


class JobStore(Protocol):
    """The background jobs' latest runs, for whoever reports on them."""

    async def record_job_run(self, run: JobRun) -> None:
        """Keeps `run` as its job's latest, replacing the one before."""
        ...

    async def job_runs(self) -> list[JobRun]: ...


class AdminStore(Protocol):
    """What an operator's command line reads and corrects (admin/); the bot never uses it."""

    async def totals(self, since: float) -> Totals:
        """Threads, turns and people held, and answers, images, tokens and cost since
        `since`."""
        ...

    async def usage_by_person(self, since: float) -> list[PersonUsage]:
        """Everyone's usage since `since`, by person, then model."""
        ...

    async def delete_settings(self, scopes: Sequence[tuple[str, str]]) -> int:
        """Forget the settings stored under these (scope, key) pairs, together; how many
        there were."""
        ...


class CoordinationStore(Protocol):
    """What the instances sharing a store decide together beyond single records: who is
    alive, who answers a thread, how many answers a person has in flight, how many
    messages they sent this minute.

    A lease is held by a running process: released by it, or dropped once it stops
    renewing its presence. A store only one process uses (SQLite) grants every lease and
    counts nothing: that process's own locks and counters decide.
    """

    async def heartbeat(self) -> int:
        """This process is alive (renewed every few seconds); how many processes are,
        this one included."""
        ...

    async def take_lease(self, key: str, limit: int) -> str | None:
        """A lease on `key`, if running processes hold fewer than `limit` of them: its
        token; None otherwise."""
        ...

    async def release_leases(self, tokens: Collection[str]) -> None:
        """Several at once: releases come in bursts, one statement frees them all."""
        ...

    async def keep_leases(self, tokens: Collection[str]) -> None:
        """This process holds exactly `tokens`: drop any other lease of its own (one whose
        release failed)."""
        ...

    async def spend(self, key: str, per_minute: int) -> float:
        """Counts one use of `key` if fewer than `per_minute` were counted in the last
        minute, across every process, and returns 0; otherwise the seconds until one
        is, counting nothing."""
        ...


class Store(Protocol):
    """A store's parts, for the builder that hands each consumer the one it needs."""

    @property
    def events(self) -> EventStore: ...

    @property
    def threads(self) -> ThreadStore: ...

    @property
    def settings(self) -> SettingsStore: ...

    @property
    def usage(self) -> UsageStore: ...

    @property
    def people(self) -> PeopleStore: ...

    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def inflight(self) -> InflightStore: ...

    @property
    def approvals(self) -> ApprovalStore: ...

    @property
    def jobs(self) -> JobStore: ...

    @property
    def admin(self) -> AdminStore: ...

    @property
    def coordination(self) -> CoordinationStore: ...

    async def ping(self) -> None:
        """Returns once the store answers a trivial query: it is open and usable."""
        ...

    async def close(self) -> None: ...
