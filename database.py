"""All persistence: one aiosqlite connection (WAL), forward-only migrations, typed methods.

No SQL leaves this module. The schema version lives in `PRAGMA user_version`; each
entry of `MIGRATIONS` moves the schema one version forward and never changes once
released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
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
)


@dataclass(frozen=True)
class StoredMessage:
    ts: str
    role: str
    user_id: str | None
    text: str


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
    answers: int
    input_tokens: int
    output_tokens: int
    # None when no answer of this model had a known price.
    cost: float | None


@dataclass(frozen=True)
class InflightReply:
    channel: str
    message_ts: str
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
        self.claims: list[Sequence[str]] = []
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
            await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA busy_timeout=5000")
            database = cls(connection)
            await database._migrate()
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

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(
                f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;"
            )
            logger.info("database migrated to schema version %d", number)

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
        batch = self._open_batch()
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

    async def _claim_all(self, claims: list[Sequence[str]]) -> list[bool]:
        """Inside the batch's write transaction, so no other process can interleave."""
        if not claims:
            return []
        keys = sorted({key for keys in claims for key in keys})
        seen: set[str] = set()
        for first in range(0, len(keys), CLAIM_KEYS_PER_SELECT):
            chunk = keys[first : first + CLAIM_KEYS_PER_SELECT]
            rows = await self._db.execute_fetchall(
                f"SELECT key FROM processed_events WHERE key IN ({', '.join(['?'] * len(chunk))})",
                chunk,
            )
            seen.update(str(row[0]) for row in rows)
        claimed: list[bool] = []
        for keys_of_one in claims:
            # The first of two deliveries in one batch wins, as it would one by one.
            claimed.append(not any(key in seen for key in keys_of_one))
            seen.update(keys_of_one)
        now = time.time()
        await self._db.executemany(
            "INSERT OR IGNORE INTO processed_events (key, created_at) VALUES (?, ?)",
            [(key, now) for key in keys],
        )
        return claimed

    # --- the statements -------------------------------------------------------------

    async def claim_event(self, keys: Sequence[str]) -> bool:
        """Record the event's keys; True only if none of them was seen before.

        Decided inside a write transaction, so two deliveries racing each other (in this
        process or another one on the same file) cannot both win.
        """
        batch = self._open_batch()
        index = len(batch.claims)
        batch.claims.append(keys)
        return (await self._committed(batch)).claimed[index]

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
    ) -> None:
        await self._write(
            "INSERT OR REPLACE INTO messages"
            " (channel, thread_ts, ts, role, user_id, text, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (channel, thread_ts, ts, role, user_id, text, time.time()),
        )

    async def thread_messages(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        return await self._select(
            StoredMessage,
            "SELECT ts, role, user_id, text FROM messages"
            " WHERE channel = ? AND thread_ts = ? ORDER BY ts, id",
            (channel, thread_ts),
        )

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
        """One user's usage (everyone's with None) since a time, by model, largest first."""
        who = "user_id = ? AND " if user_id is not None else ""
        return await self._select(
            ModelUsage,
            "SELECT model, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost)"
            f" FROM usage WHERE {who}created_at >= ? GROUP BY model"
            " ORDER BY SUM(input_tokens) + SUM(output_tokens) DESC",
            (user_id, since) if user_id is not None else (since,),
        )

    async def all_settings(self) -> dict[tuple[str, str], str]:
        """Every scope's stored overrides (JSON text), by (scope, key)."""
        rows = await self._db.execute_fetchall("SELECT scope, key, overrides FROM settings")
        return {(str(row[0]), str(row[1])): str(row[2]) for row in rows}

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
            "SELECT ts, role, user_id, text FROM messages WHERE channel = ? AND thread_ts = ts"
            " AND CAST(ts AS REAL) < CAST(? AS REAL)"
            " AND CAST(ts AS REAL) > COALESCE((SELECT CAST(after_ts AS REAL)"
            " FROM conversation_resets WHERE channel = ? AND user_id = ?), 0)"
            " ORDER BY CAST(ts AS REAL) DESC, id DESC LIMIT ?",
            (channel, before_ts, channel, user_id, limit),
        )
        return rows[::-1]

    async def add_inflight(
        self, channel: str, message_ts: str, thread_ts: str, user_id: str | None
    ) -> None:
        await self._write(
            "INSERT OR REPLACE INTO inflight_replies"
            " (channel, message_ts, thread_ts, user_id, started_at) VALUES (?, ?, ?, ?, ?)",
            (channel, message_ts, thread_ts, user_id, time.time()),
        )

    async def remove_inflight(self, channel: str, message_ts: str) -> None:
        await self._write(
            "DELETE FROM inflight_replies WHERE channel = ? AND message_ts = ?",
            (channel, message_ts),
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

    async def clear_inflight(self) -> None:
        await self._write("DELETE FROM inflight_replies", ())

    async def inflight_replies(self) -> list[InflightReply]:
        return await self._select(
            InflightReply,
            "SELECT channel, message_ts, thread_ts, user_id FROM inflight_replies"
            " ORDER BY started_at",
        )
