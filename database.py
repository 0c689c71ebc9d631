"""All persistence: one aiosqlite connection (WAL), forward-only migrations, typed methods.

No SQL leaves this module. The schema version lives in `PRAGMA user_version`; each
entry of `MIGRATIONS` moves the schema one version forward and never changes once
released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiosqlite

logger = logging.getLogger(__name__)

Row = TypeVar("Row")

MIGRATIONS: tuple[str, ...] = (
    # 1: the core: dedupe, threads, messages, usage, in-flight replies.
    """
    CREATE TABLE processed_events (
        key TEXT PRIMARY KEY,
        created_at REAL NOT NULL
    );
    CREATE INDEX processed_events_created ON processed_events(created_at);
    CREATE TABLE threads (
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        created_at REAL NOT NULL,
        context_notice_sent INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (channel, thread_ts)
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        ts TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        user_id TEXT,
        text TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (channel, ts, role)
    );
    CREATE INDEX messages_thread ON messages(channel, thread_ts, ts);
    CREATE TABLE usage (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX usage_user ON usage(user_id, created_at);
    CREATE TABLE inflight_replies (
        channel TEXT NOT NULL,
        message_ts TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        user_id TEXT,
        started_at REAL NOT NULL,
        PRIMARY KEY (channel, message_ts)
    );
    """,
    # 2: text read from documents attached in a thread, for its follow-ups.
    """
    CREATE TABLE documents (
        channel TEXT NOT NULL,
        file_id TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        message_ts TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (channel, thread_ts, file_id)
    );
    """,
    # 3: a thread's images, numbered in order, so "make it blue" can name one to edit.
    """
    CREATE TABLE thread_images (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        file_id TEXT NOT NULL,
        message_ts TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        description TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (channel, thread_ts, file_id)
    );
    """,
    # 4: settings per scope, who has been welcomed, feedback on answers, what an answer
    # cost, and where a DM conversation was reset.
    """
    CREATE TABLE settings (
        scope TEXT NOT NULL CHECK (scope IN ('channel', 'user', 'thread')),
        key TEXT NOT NULL,
        overrides TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE TABLE known_users (
        user_id TEXT PRIMARY KEY,
        first_seen REAL NOT NULL
    );
    -- Whoever was answered before this version is not welcomed as new.
    INSERT INTO known_users (user_id, first_seen)
        SELECT user_id, MIN(created_at) FROM usage GROUP BY user_id;
    CREATE TABLE feedback (
        channel TEXT NOT NULL,
        message_ts TEXT NOT NULL,
        user_id TEXT NOT NULL,
        value TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (channel, message_ts, user_id)
    );
    CREATE INDEX feedback_created ON feedback(created_at);
    ALTER TABLE usage ADD COLUMN cost REAL;
    ALTER TABLE usage ADD COLUMN channel TEXT;
    ALTER TABLE usage ADD COLUMN question_ts TEXT;
    CREATE TABLE assistant_threads (
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (channel, thread_ts)
    );
    CREATE TABLE conversation_resets (
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        after_ts TEXT NOT NULL,
        PRIMARY KEY (channel, user_id)
    );
    """,
    # 5: images drawn and edited are usage too (one row each, with their cost), counted
    # per person per day against IMAGE_GENERATIONS_PER_DAY.
    """
    ALTER TABLE usage ADD COLUMN kind TEXT NOT NULL DEFAULT 'answer'
        CHECK (kind IN ('answer', 'image_generation', 'image_edit'));
    CREATE INDEX usage_user_kind ON usage(user_id, kind, created_at);
    """,
    # 6: retention deletes by age, a batch at a time: each batch must find its rows
    # without scanning the table.
    """
    CREATE INDEX messages_created ON messages(created_at);
    CREATE INDEX documents_created ON documents(created_at);
    CREATE INDEX thread_images_created ON thread_images(created_at);
    """,
    # 7: an event claimed and not yet answered or turned away, with where to reach its
    # author (never the message itself), so that a crash right after the claim is still
    # reported; and what each message of a reply in flight shows, so that the report
    # keeps what was written.
    """
    CREATE TABLE claimed_events (
        channel TEXT NOT NULL,
        ts TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        user_id TEXT,
        claimed_at REAL NOT NULL,
        PRIMARY KEY (channel, ts)
    );
    -- Earlier versions stood in for a reply without a message by the thread's ts.
    INSERT OR IGNORE INTO claimed_events (channel, ts, thread_ts, user_id, claimed_at)
        SELECT channel, thread_ts, thread_ts, user_id, started_at FROM inflight_replies
        WHERE message_ts = thread_ts;
    DELETE FROM inflight_replies WHERE message_ts = thread_ts;
    ALTER TABLE inflight_replies ADD COLUMN shows TEXT NOT NULL DEFAULT 'writing'
        CHECK (shows IN ('status', 'writing', 'full'));
    """,
    # 8: whether an answer was written from content its asker did not write (other
    # people's messages, files, links, search or tool results), which can carry
    # instructions aimed at the model; answers stored before this are assumed to be.
    """
    ALTER TABLE messages ADD COLUMN outside INTEGER NOT NULL DEFAULT 1;
    """,
)

# What a usage row counts (usage.kind).
ANSWER = "answer"
IMAGE_GENERATION = "image_generation"
IMAGE_EDIT = "image_edit"

# What conversations leave behind: threads' turns, text read from documents, images.
RETAINED_TABLES = ("messages", "documents", "thread_images")
# Rows one retention transaction deletes: the database is never held for long.
PURGE_BATCH_ROWS = 500
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


class DatabaseUnusable(Exception):
    """The database cannot be used (newer schema, unreadable file): one line for the admin."""


@dataclass(frozen=True)
class StoredSettings:
    overrides: str  # JSON
    updated_by: str


@dataclass(frozen=True)
class StoredMessage:
    ts: str
    role: str
    user_id: str | None
    text: str
    # An answer written from content its asker did not write (see migration 8).
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
class ModelUsage:
    model: str
    # Answers, or images drawn or edited, by `kind`.
    answers: int
    input_tokens: int
    output_tokens: int
    # None when no answer of this model had a known price.
    cost: float | None
    kind: str = ANSWER


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
class Claim:
    """A message the bot took on, and where to tell its author if it cannot answer."""

    channel: str
    ts: str
    thread_ts: str
    user_id: str | None


# SQLite's limit on bound parameters is 32,766; a claim holds three keys at most.
CLAIM_KEYS_PER_SELECT = 900


@dataclass
class _Outcome:
    claimed: list[bool]
    rowcounts: list[int]


class _Batch:
    """Writes from concurrent callers, committed together in one transaction.

    Every caller awaits its write before it goes on, so two writes of one caller are
    never in the same batch: any order among a batch's writes is a valid one, and rows
    of one statement are sent together with `executemany`.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[Sequence[object]]] = {}
        self.claims: list[tuple[Sequence[str], Claim]] = []
        self.counted: list[tuple[str, Sequence[object]]] = []
        self.committed: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()


class Database:
    """Reads go straight to SQLite; writes are group-committed.

    A burst of answers would otherwise cost one transaction, and one hop to aiosqlite's
    thread, per statement. A write returns once its batch is committed, so each caller
    still reads its own writes, and a claim is still decided atomically.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._batch: _Batch | None = None
        self._committer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: str) -> Database:
        if path != ":memory:":
            try:
                await asyncio.to_thread(_prepare_private_file, Path(path))
            except OSError as error:
                raise DatabaseUnusable(
                    f"cannot create the database at {path} ({error.strerror})"
                ) from None
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise DatabaseUnusable(f"cannot open the database at {path} ({error})") from None
        database = cls(connection)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA busy_timeout=5000")
            await database._migrate(path)
            if path != ":memory:":
                # SQLite gives the WAL and shared-memory files the database's mode, but
                # ones left by an older version of the bot may be looser.
                await asyncio.to_thread(_tighten_companions, Path(path))
        except sqlite3.Error as error:
            await connection.close()
            raise DatabaseUnusable(f"cannot use the database at {path} ({error})") from None
        except BaseException:
            # A Ctrl-C during start-up, say: the connection's thread would keep the
            # process from exiting.
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        if self._committer is not None:
            await self._committer
        await self._db.close()

    async def _migrate(self, path: str) -> None:
        version = await self.schema_version()
        if version > len(MIGRATIONS):
            # Written by a newer version of the bot: running older code on it could
            # misread or damage what that version stored.
            raise DatabaseUnusable(
                f"the database at {path} has schema version {version}, newer than this "
                f"version of the bot knows ({len(MIGRATIONS)}); run the newer version"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(
                f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;"
            )
            logger.debug("database migrated to schema version %d", number)
        if version < len(MIGRATIONS):
            # One line for the operator, however many steps it took.
            before = f"from schema version {version}" if version else "new"
            logger.info("database %s, now at schema version %d", before, len(MIGRATIONS))

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _select(
        self, kind: Callable[..., Row], sql: str, params: Sequence[object] = ()
    ) -> list[Row]:
        """Rows as `kind`, built from the columns in the order they are selected."""
        return [kind(*row) for row in await self._db.execute_fetchall(sql, params)]

    # --- group commit ---------------------------------------------------------------

    def _open_batch(self) -> _Batch:
        if self._batch is None:
            self._batch = _Batch()
            if self._committer is None:
                self._committer = asyncio.create_task(self._commit_batches())
        return self._batch

    async def _committed(self, batch: _Batch) -> _Outcome:
        # Shielded: a caller that is cancelled must not cancel its neighbours' commit.
        return await asyncio.shield(batch.committed)

    async def _write(self, sql: str, params: Sequence[object]) -> None:
        await self._write_together((sql, params))

    async def _write_together(self, *statements: tuple[str, Sequence[object]]) -> None:
        """Statements committed in one transaction: all of them or none."""
        batch = self._open_batch()
        for sql, params in statements:
            batch.rows.setdefault(sql, []).append(params)
        await self._committed(batch)

    async def _counted_write(self, sql: str, params: Sequence[object]) -> int:
        """A write whose caller needs to know how many rows it changed."""
        batch = self._open_batch()
        index = len(batch.counted)
        batch.counted.append((sql, params))
        return (await self._committed(batch)).rowcounts[index]

    async def _commit_batches(self) -> None:
        while self._batch is not None:
            batch, self._batch = self._batch, None
            try:
                outcome = await self._commit(batch)
            except Exception as error:  # noqa: BLE001 - handed to every writer of the batch
                # The batch's statements are all OR IGNORE/REPLACE on our own schema, so
                # what fails one (a locked or full disk) fails them all alike.
                batch.committed.set_exception(error)
            else:
                batch.committed.set_result(outcome)
        self._committer = None

    async def _commit(self, batch: _Batch) -> _Outcome:
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            claimed = await self._claim_all(batch.claims)
            for sql, rows in batch.rows.items():
                await self._db.executemany(sql, rows)
            rowcounts = []
            for sql, params in batch.counted:
                cursor = await self._db.execute(sql, params)
                rowcounts.append(cursor.rowcount)
            await self._db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await self._db.execute("ROLLBACK")
            raise
        return _Outcome(claimed=claimed, rowcounts=rowcounts)

    async def _claim_all(self, claims: list[tuple[Sequence[str], Claim]]) -> list[bool]:
        """Inside the batch's write transaction, so no other process can interleave."""
        if not claims:
            return []
        keys = sorted({key for keys, _ in claims for key in keys})
        seen: set[str] = set()
        for first in range(0, len(keys), CLAIM_KEYS_PER_SELECT):
            chunk = keys[first : first + CLAIM_KEYS_PER_SELECT]
            rows = await self._db.execute_fetchall(
                f"SELECT key FROM processed_events WHERE key IN ({', '.join(['?'] * len(chunk))})",
                chunk,
            )
            seen.update(str(row[0]) for row in rows)
        claimed: list[bool] = []
        for keys_of_one, _ in claims:
            # The first of two deliveries in one batch wins, as it would one by one.
            claimed.append(not any(key in seen for key in keys_of_one))
            seen.update(keys_of_one)
        now = time.time()
        await self._db.executemany(
            "INSERT OR IGNORE INTO processed_events (key, created_at) VALUES (?, ?)",
            [(key, now) for key in keys],
        )
        # In the claim's own transaction: no crash can leave a claim nobody will report.
        await self._db.executemany(
            "INSERT OR REPLACE INTO claimed_events"
            " (channel, ts, thread_ts, user_id, claimed_at) VALUES (?, ?, ?, ?, ?)",
            [
                (claim.channel, claim.ts, claim.thread_ts, claim.user_id, now)
                for (_, claim), won in zip(claims, claimed, strict=True)
                if won
            ],
        )
        return claimed

    # --- the statements -------------------------------------------------------------

    async def claim_event(self, keys: Sequence[str], claim: Claim) -> bool:
        """Record the event's keys; True only if none of them was seen before, and then
        `claim` is recorded too, until `settle_claim` or `reply_finished`.

        Decided inside a write transaction, so two deliveries racing each other (in this
        process or another one on the same file) cannot both win.
        """
        batch = self._open_batch()
        index = len(batch.claims)
        batch.claims.append((keys, claim))
        return (await self._committed(batch)).claimed[index]

    async def settle_claim(self, channel: str, ts: str) -> None:
        """The claimed message was turned away, or its author told why it has no answer."""
        await self._write("DELETE FROM claimed_events WHERE channel = ? AND ts = ?", (channel, ts))

    async def unsettled_claims(self) -> list[Claim]:
        return await self._select(
            Claim,
            "SELECT channel, ts, thread_ts, user_id FROM claimed_events ORDER BY claimed_at",
        )

    async def purge_conversations(self, older_than: float) -> int:
        """Delete threads' turns, document text and images stored before `older_than`,
        a batch per transaction; the number of rows removed."""
        removed = 0
        for table in RETAINED_TABLES:
            while True:
                deleted = await self._counted_write(
                    f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table}"
                    " WHERE created_at < ? LIMIT ?)",
                    (older_than, PURGE_BATCH_ROWS),
                )
                removed += deleted
                if deleted < PURGE_BATCH_ROWS:
                    break
        return removed

    async def purge_processed_events(self, older_than: float) -> int:
        return await self._counted_write(
            "DELETE FROM processed_events WHERE created_at < ?", (older_than,)
        )

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        await self._write(
            "INSERT OR IGNORE INTO threads (channel, thread_ts, created_at) VALUES (?, ?, ?)",
            (channel, thread_ts, time.time()),
        )

    async def has_joined_thread(self, channel: str, thread_ts: str) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM threads WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def add_assistant_thread(self, channel: str, thread_ts: str) -> None:
        await self._write(
            "INSERT OR IGNORE INTO assistant_threads (channel, thread_ts, created_at)"
            " VALUES (?, ?, ?)",
            (channel, thread_ts, time.time()),
        )

    async def is_assistant_thread(self, channel: str, thread_ts: str) -> bool:
        rows = await self._db.execute_fetchall(
            "SELECT 1 FROM assistant_threads WHERE channel = ? AND thread_ts = ?",
            (channel, thread_ts),
        )
        return bool(rows)

    async def claim_context_notice(self, channel: str, thread_ts: str) -> bool:
        """True the first time only: the near-budget notice is shown once per thread."""
        changed = await self._counted_write(
            "UPDATE threads SET context_notice_sent = 1"
            " WHERE channel = ? AND thread_ts = ? AND context_notice_sent = 0",
            (channel, thread_ts),
        )
        return changed == 1

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
        await self._write(
            "INSERT OR REPLACE INTO messages"
            " (channel, thread_ts, ts, role, user_id, text, created_at, outside)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (channel, thread_ts, ts, role, user_id, text, time.time(), int(outside)),
        )

    async def thread_messages(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        return await self._select(
            StoredMessage,
            "SELECT ts, role, user_id, text, outside != 0 FROM messages"
            " WHERE channel = ? AND thread_ts = ? ORDER BY ts, id",
            (channel, thread_ts),
        )

    async def answered_in_thread(self, channel: str, thread_ts: str, user_id: str) -> bool:
        """Whether the bot has taken up a message of `user_id` in this thread (its turns are
        stored when the answer starts). Read through `messages_thread`: one thread's rows
        at most, and it stops at the first match."""
        rows = await self._db.execute_fetchall(
            "SELECT 1 FROM messages WHERE channel = ? AND thread_ts = ? AND role = 'user'"
            " AND user_id = ? LIMIT 1",
            (channel, thread_ts, user_id),
        )
        return bool(rows)

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
    ) -> None:
        await self._write(
            "INSERT INTO usage (user_id, model, input_tokens, output_tokens, created_at,"
            " cost, channel, question_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, model, input_tokens, output_tokens, time.time(), cost, channel, question_ts),
        )

    async def usage_by_model(self, user_id: str | None, since: float) -> list[ModelUsage]:
        """One user's usage (everyone's with None) since a time, by model and kind:
        answers first, largest first, then images."""
        who = "user_id = ? AND " if user_id is not None else ""
        return await self._select(
            ModelUsage,
            "SELECT model, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost), kind"
            f" FROM usage WHERE {who}created_at >= ? GROUP BY model, kind"
            " ORDER BY kind != 'answer', SUM(input_tokens) + SUM(output_tokens) DESC, kind DESC",
            (user_id, since) if user_id is not None else (since,),
        )

    async def record_image(
        self,
        user_id: str,
        model: str,
        kind: str,
        *,
        cost: float | None,
        channel: str,
        question_ts: str,
    ) -> None:
        """One image drawn (IMAGE_GENERATION) or edited (IMAGE_EDIT) for `user_id`."""
        await self._write(
            "INSERT INTO usage (user_id, model, input_tokens, output_tokens, created_at,"
            " cost, channel, question_ts, kind) VALUES (?, ?, 0, 0, ?, ?, ?, ?, ?)",
            (user_id, model, time.time(), cost, channel, question_ts, kind),
        )

    async def images_since(self, user_id: str, since: float) -> int:
        """Images drawn or edited for `user_id` since a time."""
        async with self._db.execute(
            "SELECT COUNT(*) FROM usage WHERE user_id = ? AND kind IN (?, ?) AND created_at >= ?",
            (user_id, IMAGE_GENERATION, IMAGE_EDIT, since),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def all_settings(self) -> dict[tuple[str, str], StoredSettings]:
        """Every scope's stored overrides and who saved them, by (scope, key)."""
        rows = await self._db.execute_fetchall(
            "SELECT scope, key, overrides, updated_by FROM settings"
        )
        return {(str(r[0]), str(r[1])): StoredSettings(str(r[2]), str(r[3])) for r in rows}

    async def save_settings(self, scope: str, key: str, overrides: str, updated_by: str) -> None:
        await self._write(
            "INSERT OR REPLACE INTO settings (scope, key, overrides, updated_by, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (scope, key, overrides, updated_by, time.time()),
        )

    async def first_contact(self, user_id: str) -> bool:
        """True the first time a user is seen, and never again."""
        added = await self._counted_write(
            "INSERT OR IGNORE INTO known_users (user_id, first_seen) VALUES (?, ?)",
            (user_id, time.time()),
        )
        return added == 1

    async def record_feedback(
        self, channel: str, message_ts: str, user_id: str, value: str
    ) -> None:
        """A person's latest verdict on an answer (clicking again changes it)."""
        await self._write(
            "INSERT OR REPLACE INTO feedback (channel, message_ts, user_id, value, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (channel, message_ts, user_id, value, time.time()),
        )

    async def feedback_counts(self, since: float) -> dict[str, int]:
        rows = await self._db.execute_fetchall(
            "SELECT value, COUNT(*) FROM feedback WHERE created_at >= ? GROUP BY value", (since,)
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def reset_conversation(self, channel: str, user_id: str, after_ts: str) -> None:
        await self._write(
            "INSERT OR REPLACE INTO conversation_resets (channel, user_id, after_ts)"
            " VALUES (?, ?, ?)",
            (channel, user_id, after_ts),
        )

    async def conversation_since(
        self, channel: str, user_id: str, before_ts: str, limit: int
    ) -> list[StoredMessage]:
        """A DM's newest top-level exchanges before `before_ts`, after the user's last reset."""
        rows = await self._select(
            StoredMessage,
            "SELECT ts, role, user_id, text, outside != 0 FROM messages"
            " WHERE channel = ? AND thread_ts = ts"
            " AND CAST(ts AS REAL) < CAST(? AS REAL)"
            " AND CAST(ts AS REAL) > COALESCE((SELECT CAST(after_ts AS REAL)"
            " FROM conversation_resets WHERE channel = ? AND user_id = ?), 0)"
            " ORDER BY CAST(ts AS REAL) DESC, id DESC LIMIT ?",
            (channel, before_ts, channel, user_id, limit),
        )
        return rows[::-1]

    async def add_inflight(
        self, channel: str, message_ts: str, thread_ts: str, user_id: str | None, shows: str
    ) -> None:
        await self._write(
            "INSERT OR REPLACE INTO inflight_replies"
            " (channel, message_ts, thread_ts, user_id, started_at, shows)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (channel, message_ts, thread_ts, user_id, time.time(), shows),
        )

    async def reply_finished(self, channel: str, thread_ts: str, question_ts: str) -> None:
        """The answer to `question_ts` is complete: its messages and its claim are done
        with, together (a thread has one answer at a time)."""
        await self._write_together(
            (
                "DELETE FROM inflight_replies WHERE channel = ? AND thread_ts = ?",
                (channel, thread_ts),
            ),
            ("DELETE FROM claimed_events WHERE channel = ? AND ts = ?", (channel, question_ts)),
        )

    async def add_document(
        self, channel: str, thread_ts: str, message_ts: str, file_id: str, name: str, text: str
    ) -> None:
        await self._write(
            "INSERT OR REPLACE INTO documents"
            " (channel, file_id, thread_ts, message_ts, name, text, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (channel, file_id, thread_ts, message_ts, name, text, time.time()),
        )

    async def thread_documents(self, channel: str, thread_ts: str) -> list[StoredDocument]:
        return await self._select(
            StoredDocument,
            "SELECT file_id, message_ts, name, text FROM documents"
            " WHERE channel = ? AND thread_ts = ? ORDER BY message_ts",
            (channel, thread_ts),
        )

    async def add_thread_image(
        self,
        channel: str,
        thread_ts: str,
        file_id: str,
        message_ts: str,
        role: str,
        description: str,
    ) -> None:
        await self._write(
            "INSERT OR IGNORE INTO thread_images"
            " (channel, thread_ts, file_id, message_ts, role, description, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (channel, thread_ts, file_id, message_ts, role, description, time.time()),
        )

    async def thread_images(self, channel: str, thread_ts: str) -> list[ThreadImage]:
        """In the order they were posted: the model numbers them #1, #2, … so."""
        return await self._select(
            ThreadImage,
            "SELECT file_id, message_ts, role, description FROM thread_images"
            " WHERE channel = ? AND thread_ts = ? ORDER BY CAST(message_ts AS REAL), id",
            (channel, thread_ts),
        )

    async def clear_interrupted(self) -> None:
        """What a crash left unfinished has been reported."""
        await self._write_together(
            ("DELETE FROM inflight_replies", ()), ("DELETE FROM claimed_events", ())
        )

    async def inflight_replies(self) -> list[InflightReply]:
        return await self._select(
            InflightReply,
            "SELECT channel, message_ts, thread_ts, user_id, shows FROM inflight_replies"
            " ORDER BY started_at",
        )


def _prepare_private_file(path: Path) -> None:
    """The folder and the database file, readable by the bot's user only.

    A folder the bot creates is private; one that exists already may be shared on
    purpose (a mounted volume), so it is left as it is, with a warning if others can
    read it. The file is the bot's own and is made private whatever it was.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        # mkdir's mode passes through the umask; this is the mode asked for.
        folder.chmod(PRIVATE_FOLDER)
    elif folder.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "the database folder %s is open to other users (mode %o); consider chmod 700",
            folder,
            stat.S_IMODE(folder.stat().st_mode),
        )
    # Created private before SQLite opens it: no moment when others may read it.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    path.chmod(PRIVATE_FILE)


def _tighten_companions(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            companion.chmod(PRIVATE_FILE)
