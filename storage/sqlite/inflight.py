"""Replies in flight, owned by the process writing them (storage/owners.py)."""

from __future__ import annotations

import asyncio
import time

from storage.owners import Owner, OwnerLocks
from storage.records import Claim, InflightReply, Orphans
from storage.sqlite.writer import Writer

# Rows being reported by the owner that took them over: they live and die with its lock
# (OwnerLocks reads the part before the colon), so if it dies meanwhile another process
# takes them over in turn.
ADOPTED = "{owner}:adopted"


class SQLiteInflight:
    def __init__(self, writer: Writer, owner: Owner, locks: OwnerLocks | None) -> None:
        self._writer = writer
        self._owner = owner
        # None for a store in memory: no other process can share it.
        self._locks = locks

    async def register(self) -> None:
        """This process owns what it claims from now on."""
        owner = self._owner
        if self._locks is not None:
            await asyncio.to_thread(self._locks.hold, owner.id)
        await self._writer.write(
            "INSERT OR REPLACE INTO owners (id, host, pid, started_at) VALUES (?, ?, ?, ?)",
            (owner.id, owner.host, owner.pid, time.time()),
        )

    async def unregister(self) -> None:
        """This process closes: whatever it still has in flight is an orphan."""
        try:
            await self._writer.write("DELETE FROM owners WHERE id = ?", (self._owner.id,))
        finally:
            if self._locks is not None:
                await asyncio.to_thread(self._locks.release)

    async def add_inflight(
        self, channel: str, message_ts: str, thread_ts: str, user_id: str | None, shows: str
    ) -> None:
        await self._writer.write(
            "INSERT OR REPLACE INTO inflight_replies"
            " (channel, message_ts, thread_ts, user_id, started_at, shows, owner)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (channel, message_ts, thread_ts, user_id, time.time(), shows, self._owner.id),
        )

    async def reply_finished(self, channel: str, thread_ts: str, question_ts: str) -> None:
        await self._writer.write_together(
            (
                "DELETE FROM inflight_replies WHERE channel = ? AND thread_ts = ? AND owner = ?",
                (channel, thread_ts, self._owner.id),
            ),
            ("DELETE FROM claimed_events WHERE channel = ? AND ts = ?", (channel, question_ts)),
        )

    async def adopt_orphans(self) -> Orphans:
        gone = await self._gone_owners()
        adopter = ADOPTED.format(owner=self._owner.id)
        if gone:
            marks = ", ".join("?" * len(gone))
            # Each row changes owner once: of two processes adopting at once, the second
            # finds these rows owned by the first.
            await self._writer.write_together(
                *(
                    (f"UPDATE {table} SET owner = ? WHERE owner IN ({marks})", (adopter, *gone))
                    for table in ("claimed_events", "inflight_replies")
                ),
                (f"DELETE FROM owners WHERE id IN ({marks})", gone),
            )
            if self._locks is not None:
                await asyncio.to_thread(self._locks.forget, gone)
        claims = await self._writer.select(
            Claim,
            "SELECT channel, ts, thread_ts, user_id FROM claimed_events"
            " WHERE owner = ? ORDER BY claimed_at",
            (adopter,),
        )
        replies = await self._writer.select(
            InflightReply,
            "SELECT channel, message_ts, thread_ts, user_id, shows FROM inflight_replies"
            " WHERE owner = ? ORDER BY started_at",
            (adopter,),
        )
        return Orphans(claims=claims, replies=replies)

    async def release(self, orphans: Orphans) -> None:
        adopter = ADOPTED.format(owner=self._owner.id)
        await self._writer.write_together(
            ("DELETE FROM claimed_events WHERE owner = ?", (adopter,)),
            ("DELETE FROM inflight_replies WHERE owner = ?", (adopter,)),
        )

    async def _gone_owners(self) -> list[str]:
        """Owners of rows in flight, or registered, whose process no longer runs."""
        rows = await self._writer.connection.execute_fetchall(
            "SELECT owner FROM claimed_events UNION SELECT owner FROM inflight_replies"
            " UNION SELECT id FROM owners"
        )
        others = {str(row[0]) for row in rows} - {self._owner.id}
        if self._locks is None:
            return sorted(others)
        locks = self._locks
        running = await asyncio.to_thread(locks.running, others)
        return sorted(others - running)
