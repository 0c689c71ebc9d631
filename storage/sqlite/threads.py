"""Threads the bot takes part in, their turns, document text and numbered images."""

from __future__ import annotations

import time
from collections.abc import Sequence

from storage.records import StoredDocument, StoredMessage, ThreadImage, ThreadRecord, TurnRecord
from storage.sqlite.writer import Writer

# What conversations leave behind: threads' turns, text read from documents, images.
RETAINED_TABLES = ("messages", "documents", "thread_images")
# Rows one retention transaction deletes: the database is never held for long.
PURGE_BATCH_ROWS = 500


class SQLiteThreads:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        await self._writer.write(
            "INSERT OR IGNORE INTO threads (channel, thread_ts, created_at) VALUES (?, ?, ?)",
            (channel, thread_ts, time.time()),
        )

    async def has_joined_thread(self, channel: str, thread_ts: str) -> bool:
        return await self._writer.exists(
            "SELECT 1 FROM threads WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
        )

    async def add_assistant_thread(self, channel: str, thread_ts: str) -> None:
        await self._writer.write(
            "INSERT OR IGNORE INTO assistant_threads (channel, thread_ts, created_at)"
            " VALUES (?, ?, ?)",
            (channel, thread_ts, time.time()),
        )

    async def is_assistant_thread(self, channel: str, thread_ts: str) -> bool:
        return await self._writer.exists(
            "SELECT 1 FROM assistant_threads WHERE channel = ? AND thread_ts = ?",
            (channel, thread_ts),
        )

    async def claim_context_notice(self, channel: str, thread_ts: str) -> bool:
        changed = await self._writer.counted_write(
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
        await self._writer.write(
            "INSERT OR REPLACE INTO messages"
            " (channel, thread_ts, ts, role, user_id, text, created_at, outside)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (channel, thread_ts, ts, role, user_id, text, time.time(), int(outside)),
        )

    async def load_thread(self, channel: str, thread_ts: str) -> ThreadRecord:
        where = (channel, thread_ts)
        return ThreadRecord(
            messages=await self._writer.select(
                StoredMessage,
                "SELECT ts, role, user_id, text, outside != 0 FROM messages"
                " WHERE channel = ? AND thread_ts = ? ORDER BY ts, id",
                where,
            ),
            documents=await self._writer.select(
                StoredDocument,
                "SELECT file_id, message_ts, name, text FROM documents"
                " WHERE channel = ? AND thread_ts = ? ORDER BY message_ts",
                where,
            ),
            images=await self._writer.select(
                ThreadImage,
                "SELECT file_id, message_ts, role, description FROM thread_images"
                " WHERE channel = ? AND thread_ts = ? ORDER BY CAST(message_ts AS REAL), id",
                where,
            ),
        )

    async def record_turn(self, channel: str, thread_ts: str, turn: TurnRecord) -> None:
        now = time.time()
        statements: list[tuple[str, Sequence[object]]] = [
            (
                "INSERT OR REPLACE INTO documents"
                " (channel, file_id, thread_ts, message_ts, name, text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (channel, d.file_id, thread_ts, d.message_ts, d.name, d.text, now),
            )
            for d in turn.documents
        ]
        statements += [
            (
                "INSERT OR IGNORE INTO thread_images"
                " (channel, thread_ts, file_id, message_ts, role, description, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (channel, thread_ts, i.file_id, i.message_ts, i.role, i.description, now),
            )
            for i in turn.images
        ]
        if turn.answer is not None:
            a = turn.answer
            statements.append(
                (
                    "INSERT OR REPLACE INTO messages"
                    " (channel, thread_ts, ts, role, user_id, text, created_at, outside)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (channel, thread_ts, a.ts, a.role, a.user_id, a.text, now, int(a.outside)),
                )
            )
        if statements:
            await self._writer.write_together(*statements)

    async def answered_in_thread(self, channel: str, thread_ts: str, user_id: str) -> bool:
        # Read through `messages_thread`: one thread's rows at most, stopping at a match.
        return await self._writer.exists(
            "SELECT 1 FROM messages WHERE channel = ? AND thread_ts = ? AND role = 'user'"
            " AND user_id = ? LIMIT 1",
            (channel, thread_ts, user_id),
        )

    async def reset_conversation(self, channel: str, user_id: str, after_ts: str) -> None:
        await self._writer.write(
            "INSERT OR REPLACE INTO conversation_resets (channel, user_id, after_ts)"
            " VALUES (?, ?, ?)",
            (channel, user_id, after_ts),
        )

    async def conversation_since(
        self, channel: str, user_id: str, before_ts: str, limit: int
    ) -> list[StoredMessage]:
        rows = await self._writer.select(
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

    async def purge_conversations(self, older_than: float) -> int:
        removed = 0
        for table in RETAINED_TABLES:
            while True:
                deleted = await self._writer.counted_write(
                    f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table}"
                    " WHERE created_at < ? LIMIT ?)",
                    (older_than, PURGE_BATCH_ROWS),
                )
                removed += deleted
                if deleted < PURGE_BATCH_ROWS:
                    break
        return removed
