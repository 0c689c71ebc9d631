"""Replies in flight, owned by the process writing them, and that process's heartbeat.

A process is alive while its row in `owners` has a recent heartbeat, by the database's
clock: instances may run on different hosts, so neither lock files nor the hosts' clocks
can say. One that unregistered, or stopped beating for `owner_timeout` seconds, is gone,
and what it left is taken over by exactly one process still alive.
"""

from __future__ import annotations

import time

from storage.owners import Owner
from storage.postgres.database import Connection, Database
from storage.records import Claim, InflightReply, Orphans

# How often a running bot renews its heartbeat, and how old one may get before its
# process counts as gone: three beats missed, each on a connection of its own, bounded
# by BEAT_TIMEOUT_SECONDS (a busy pool does not hold a heartbeat up).
HEARTBEAT_SECONDS = 5.0
BEAT_TIMEOUT_SECONDS = 5.0
OWNER_TIMEOUT_SECONDS = 20.0

# Rows being reported by the owner that took them over: they live and die with that
# owner (the part before the colon), so if it dies meanwhile another takes them over.
ADOPTED = "{owner}:adopted"

# Rows whose owner is neither this process nor one alive. Locked as they are picked and
# skipped when another process holds them: of two processes adopting at once, each row
# goes to the one that locked it, and the other finds it owned by a live process.
_ORPHANED = """
UPDATE {table} SET owner = $2
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM {table} AS r
    WHERE split_part(r.owner, ':', 1) <> $1 AND NOT EXISTS (
        SELECT 1 FROM owners WHERE owners.id = split_part(r.owner, ':', 1)
        AND owners.heartbeat_at > clock_timestamp() - make_interval(secs => $3))
    FOR UPDATE SKIP LOCKED))
"""


class PostgresInflight:
    def __init__(self, database: Database, owner: Owner, owner_timeout: float) -> None:
        self._database = database
        self._owner = owner
        self._owner_timeout = owner_timeout

    async def register(self) -> None:
        """This process owns what it claims from now on."""
        await self.heartbeat()

    async def heartbeat(self) -> None:
        """This process still runs. Registers it again if others took it for gone (a
        long pause), so that what it claims from now on is its own again."""
        owner = self._owner
        await self._database.write(
            "INSERT INTO owners (id, host, pid) VALUES ($1, $2, $3)"
            " ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp()",
            owner.id,
            owner.host,
            owner.pid,
        )

    async def unregister(self) -> None:
        """This process closes: whatever it still has in flight is an orphan."""
        await self._database.write("DELETE FROM owners WHERE id = $1", self._owner.id)

    async def add_inflight(
        self, channel: str, message_ts: str, thread_ts: str, user_id: str | None, shows: str
    ) -> None:
        await self._database.write(
            "INSERT INTO inflight_replies"
            " (channel, message_ts, thread_ts, user_id, started_at, shows, owner)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel, message_ts) DO UPDATE"
            " SET thread_ts = excluded.thread_ts, user_id = excluded.user_id,"
            " started_at = excluded.started_at, shows = excluded.shows, owner = excluded.owner",
            channel,
            message_ts,
            thread_ts,
            user_id,
            time.time(),
            shows,
            self._owner.id,
        )

    async def reply_finished(self, channel: str, thread_ts: str, question_ts: str) -> None:
        async def steps(db: Connection) -> None:
            await db.execute(
                "DELETE FROM inflight_replies WHERE channel = $1 AND thread_ts = $2 AND owner = $3",
                channel,
                thread_ts,
                self._owner.id,
            )
            await db.execute(
                "DELETE FROM claimed_events WHERE channel = $1 AND ts = $2", channel, question_ts
            )

        await self._database.write_together(steps)

    async def adopt_orphans(self) -> Orphans:
        me = self._owner.id
        adopter = ADOPTED.format(owner=me)
        timeout = self._owner_timeout

        async def steps(db: Connection) -> Orphans:
            for table in ("claimed_events", "inflight_replies"):
                await db.execute(_ORPHANED.format(table=table), me, adopter, timeout)
            await db.execute(
                "DELETE FROM owners WHERE id <> $1"
                " AND heartbeat_at <= clock_timestamp() - make_interval(secs => $2)",
                me,
                timeout,
            )
            claims = await db.fetch(
                "SELECT channel, ts, thread_ts, user_id FROM claimed_events"
                " WHERE owner = $1 ORDER BY claimed_at",
                adopter,
            )
            replies = await db.fetch(
                "SELECT channel, message_ts, thread_ts, user_id, shows FROM inflight_replies"
                " WHERE owner = $1 ORDER BY started_at",
                adopter,
            )
            return Orphans(
                claims=[Claim(*row) for row in claims],
                replies=[InflightReply(*row) for row in replies],
            )

        return await self._database.write_together(steps)

    async def release(self, orphans: Orphans) -> None:
        adopter = ADOPTED.format(owner=self._owner.id)

        async def steps(db: Connection) -> None:
            await db.execute("DELETE FROM claimed_events WHERE owner = $1", adopter)
            await db.execute("DELETE FROM inflight_replies WHERE owner = $1", adopter)

        await self._database.write_together(steps)
