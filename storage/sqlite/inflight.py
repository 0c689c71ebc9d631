"""Replies in flight, owned by the process writing them."""

from __future__ import annotations

import asyncio
import time

from storage.owners import Owner
from storage.records import Claim, InflightReply, Orphans
from storage.sqlite.writer import Writer


class SQLiteInflight:
    def __init__(self, writer: Writer, owner: Owner) -> None:
        self._writer = writer
        self._owner = owner

    async def register(self) -> None:
        """This process owns what it claims from now on."""
        owner = self._owner
        await self._writer.write(
            "INSERT OR REPLACE INTO owners (id, host, pid, started_at) VALUES (?, ?, ?, ?)",
            (owner.id, owner.host, owner.pid, owner.started_at),
        )

    async def unregister(self) -> None:
        """This process closes: whatever it still has in flight is an orphan."""
        await self._writer.write("DELETE FROM owners WHERE id = ?", (self._owner.id,))

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
                "DELETE FROM inflight_replies WHERE channel = ? AND thread_ts = ?",
                (channel, thread_ts),
            ),
            ("DELETE FROM claimed_events WHERE channel = ? AND ts = ?", (channel, question_ts)),
        )

    async def orphans(self) -> Orphans:
        gone = await self._gone_owners()
        if not gone:
            return Orphans()
        marks = ", ".join("?" * len(gone))
        claims = await self._writer.select(
            Claim,
            "SELECT channel, ts, thread_ts, user_id FROM claimed_events"
            f" WHERE owner IN ({marks}) ORDER BY claimed_at",
            gone,
        )
        replies = await self._writer.select(
            InflightReply,
            "SELECT channel, message_ts, thread_ts, user_id, shows FROM inflight_replies"
            f" WHERE owner IN ({marks}) ORDER BY started_at",
            gone,
        )
        return Orphans(claims=claims, replies=replies, owners=gone)

    async def release(self, orphans: Orphans) -> None:
        if not orphans.owners:
            return
        marks = ", ".join("?" * len(orphans.owners))
        await self._writer.write_together(
            *(
                (f"DELETE FROM {table} WHERE {column} IN ({marks})", orphans.owners)
                for table, column in (
                    ("inflight_replies", "owner"),
                    ("claimed_events", "owner"),
                    ("owners", "id"),
                )
            )
        )

    async def _gone_owners(self) -> list[str]:
        """Owners whose process no longer runs, with or without rows in flight: rows of
        an owner that is not registered (a process that closed, or rows written before
        owners were) count as gone too."""
        rows = await self._writer.connection.execute_fetchall(
            "SELECT DISTINCT o.owner, owners.host, owners.pid, owners.started_at FROM"
            " (SELECT owner FROM claimed_events UNION SELECT owner FROM inflight_replies"
            " UNION SELECT id FROM owners) o"
            " LEFT JOIN owners ON owners.id = o.owner"
        )
        unregistered: list[str] = []
        registered: dict[str, Owner] = {}
        for owner_id, host, pid, started_at in rows:
            if owner_id == self._owner.id:
                continue
            if host is None:
                unregistered.append(str(owner_id))
            else:
                registered[str(owner_id)] = Owner(str(host), int(pid), float(started_at))
        # Asking the system about processes reads /proc: off the event loop.
        running = await asyncio.to_thread(
            lambda: {owner_id for owner_id, owner in registered.items() if owner.is_running()}
        )
        return unregistered + [owner_id for owner_id in registered if owner_id not in running]
