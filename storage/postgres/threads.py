"""Threads the bot takes part in, their turns, document text and numbered images."""

from __future__ import annotations

import time

from storage.postgres.database import Connection, Database
from storage.records import StoredDocument, StoredMessage, ThreadImage, ThreadRecord, TurnRecord

# What conversations leave behind: threads' turns, text read from documents, images.
RETAINED_TABLES = ("messages", "documents", "thread_images")
# Rows one retention transaction deletes: no table is held for long.
PURGE_BATCH_ROWS = 500

# A message stored again replaces the one before and, as SQLite's INSERT OR REPLACE
# does, takes a new id: it sorts after what was stored before it under the same ts.
_ADD_MESSAGE = (
    "INSERT INTO messages (channel, thread_ts, ts, role, user_id, text, created_at, outside)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (channel, ts, role) DO UPDATE SET"
    " id = DEFAULT, thread_ts = excluded.thread_ts, user_id = excluded.user_id,"
    " text = excluded.text, created_at = excluded.created_at, outside = excluded.outside"
)


class PostgresThreads:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        await self._database.write(
            "INSERT INTO threads (channel, thread_ts, created_at) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            channel,
            thread_ts,
            time.time(),
        )

    async def has_joined_thread(self, channel: str, thread_ts: str) -> bool:
        return await self._database.exists(
            "SELECT 1 FROM threads WHERE channel = $1 AND thread_ts = $2", channel, thread_ts
        )

    async def add_assistant_thread(self, channel: str, thread_ts: str) -> None:
        await self._database.write(
            "INSERT INTO assistant_threads (channel, thread_ts, created_at) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            channel,
            thread_ts,
            time.time(),
        )

    async def is_assistant_thread(self, channel: str, thread_ts: str) -> bool:
        return await self._database.exists(
            "SELECT 1 FROM assistant_threads WHERE channel = $1 AND thread_ts = $2",
            channel,
            thread_ts,
        )

    async def claim_context_notice(self, channel: str, thread_ts: str) -> bool:
        # The row lock decides: a second UPDATE waits, then finds the flag set.
        changed = await self._database.write(
            "UPDATE threads SET context_notice_sent = true"
            " WHERE channel = $1 AND thread_ts = $2 AND NOT context_notice_sent",
            channel,
            thread_ts,
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
        await self._database.write(
            _ADD_MESSAGE, channel, thread_ts, ts, role, user_id, text, time.time(), outside
        )

    async def load_thread(self, channel: str, thread_ts: str) -> ThreadRecord:
        # One transaction (repeatable read): the three lists are of one moment.
        async with (
            self._database.connection() as db,
            db.transaction(isolation="repeatable_read", readonly=True),
        ):
            messages = await db.fetch(
                "SELECT ts, role, user_id, text, outside FROM messages"
                " WHERE channel = $1 AND thread_ts = $2 ORDER BY ts, id",
                channel,
                thread_ts,
            )
            documents = await db.fetch(
                "SELECT file_id, message_ts, name, text FROM documents"
                " WHERE channel = $1 AND thread_ts = $2 ORDER BY message_ts",
                channel,
                thread_ts,
            )
            images = await db.fetch(
                "SELECT file_id, message_ts, role, description FROM thread_images"
                " WHERE channel = $1 AND thread_ts = $2"
                " ORDER BY message_ts::double precision, id",
                channel,
                thread_ts,
            )
        return ThreadRecord(
            messages=[StoredMessage(*row) for row in messages],
            documents=[StoredDocument(*row) for row in documents],
            images=[ThreadImage(*row) for row in images],
        )

    async def record_turn(self, channel: str, thread_ts: str, turn: TurnRecord) -> None:
        if not (turn.documents or turn.images or turn.answer):
            return
        now = time.time()

        async def steps(db: Connection) -> None:
            if turn.documents:
                await db.executemany(
                    "INSERT INTO documents"
                    " (channel, file_id, thread_ts, message_ts, name, text, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel, thread_ts, file_id)"
                    " DO UPDATE SET message_ts = excluded.message_ts, name = excluded.name,"
                    " text = excluded.text, created_at = excluded.created_at",
                    [
                        (channel, d.file_id, thread_ts, d.message_ts, d.name, d.text, now)
                        for d in turn.documents
                    ],
                )
            if turn.images:
                await db.executemany(
                    "INSERT INTO thread_images"
                    " (channel, thread_ts, file_id, message_ts, role, description, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    [
                        (channel, thread_ts, i.file_id, i.message_ts, i.role, i.description, now)
                        for i in turn.images
                    ],
                )
            if turn.answer is not None:
                a = turn.answer
                row = (channel, thread_ts, a.ts, a.role, a.user_id, a.text, now, a.outside)
                await db.execute(_ADD_MESSAGE, *row)

        await self._database.write_together(steps)

    async def answered_in_thread(self, channel: str, thread_ts: str, user_id: str) -> bool:
        # Read through `messages_thread`: one thread's rows at most, stopping at a match.
        return await self._database.exists(
            "SELECT 1 FROM messages WHERE channel = $1 AND thread_ts = $2 AND role = 'user'"
            " AND user_id = $3 LIMIT 1",
            channel,
            thread_ts,
            user_id,
        )

    async def reset_conversation(self, channel: str, user_id: str, after_ts: str) -> None:
        await self._database.write(
            "INSERT INTO conversation_resets (channel, user_id, after_ts) VALUES ($1, $2, $3)"
            " ON CONFLICT (channel, user_id) DO UPDATE SET after_ts = excluded.after_ts",
            channel,
            user_id,
            after_ts,
        )

    async def conversation_since(
        self, channel: str, user_id: str, before_ts: str, limit: int
    ) -> list[StoredMessage]:
        rows = await self._database.select(
            StoredMessage,
            "SELECT ts, role, user_id, text, outside FROM messages"
            " WHERE channel = $1 AND thread_ts = ts"
            " AND ts::double precision < $2::text::double precision"
            " AND ts::double precision > COALESCE((SELECT after_ts::double precision"
            " FROM conversation_resets WHERE channel = $1 AND user_id = $3), 0)"
            " ORDER BY ts::double precision DESC, id DESC LIMIT $4",
            channel,
            before_ts,
            user_id,
            limit,
        )
        return rows[::-1]

    async def purge_conversations(self, older_than: float) -> int:
        removed = 0
        for table in RETAINED_TABLES:
            while True:
                deleted = await self._database.write(
                    f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table}"
                    " WHERE created_at < $1 LIMIT $2))",
                    older_than,
                    PURGE_BATCH_ROWS,
                )
                removed += deleted
                if deleted < PURGE_BATCH_ROWS:
                    break
        return removed
