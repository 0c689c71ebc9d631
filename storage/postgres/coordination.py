"""Coordination across instances in PostgreSQL: presence, leases and per-minute counts.

Leases and counts are decided by functions in the database (migration m008), each under
a transaction-scoped advisory lock on its key: one round trip a decision, and instances
asking at the same moment are served one after the other.

Presence is the `owners` row's heartbeat, by the database's clock. It is renewed on a
connection of its own, outside the pool, each renewal bounded by BEAT_TIMEOUT_SECONDS:
a pool busy with a burst must not make a live instance look dead to the others (they
would take its leases and report its answers as interrupted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

import asyncpg

from storage.owners import Owner
from storage.postgres.database import Database
from storage.postgres.inflight import BEAT_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

T = TypeVar("T")

# True when the row was inserted rather than renewed: the others had taken this instance
# for gone (a pause longer than OWNER_TIMEOUT_SECONDS) and removed it.
_BEAT = (
    "INSERT INTO owners (id, host, pid) VALUES ($1, $2, $3)"
    " ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp()"
    " RETURNING (xmax = 0)"
)
# A lease just taken may not be known to its holder yet (the answer still on its way):
# only leases older than this many owner timeouts (a minute, by default) are dropped as
# ones whose release was lost.
LOST_AFTER_TIMEOUTS = 3

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class PostgresCoordination:
    def __init__(
        self, database: Database, connect: Connect, owner: Owner, owner_timeout: float
    ) -> None:
        self._database = database
        self._connect = connect
        self._owner = owner
        self._owner_timeout = owner_timeout
        self._beat: asyncpg.Connection | None = None
        # One operation at a time on a connection.
        self._beating = asyncio.Lock()

    async def heartbeat(self) -> int:
        owner = self._owner

        async def beat(db: asyncpg.Connection) -> int:
            if await db.fetchval(_BEAT, owner.id, owner.host, owner.pid):
                logger.error(
                    "this instance was taken for gone (no heartbeat for %.0f s) and has"
                    " registered again; replies it had in flight may have been reported"
                    " as interrupted",
                    self._owner_timeout,
                )
            alive = await db.fetchval(
                "SELECT count(*) FROM owners"
                " WHERE heartbeat_at > clock_timestamp() - make_interval(secs => $1)",
                self._owner_timeout,
            )
            # Counts older than a minute count nothing any more: dropped in passing.
            await db.execute(
                "DELETE FROM rate_counts WHERE at <= clock_timestamp() - interval '60 seconds'"
            )
            return max(1, int(alive))

        return await self._on_beat(beat)

    async def take_lease(self, key: str, limit: int) -> str | None:
        token = secrets.token_hex(12)
        [row] = await self._database.fetch(
            "SELECT take_lease($1, $2, $3, $4, $5)",
            key,
            limit,
            self._owner.id,
            token,
            self._owner_timeout,
        )
        return token if row[0] else None

    async def release_leases(self, tokens: Collection[str]) -> None:
        await self._database.write("DELETE FROM leases WHERE token = ANY($1::text[])", list(tokens))

    async def keep_leases(self, tokens: Collection[str]) -> None:
        async def drop_lost(db: asyncpg.Connection) -> None:
            await db.execute(
                "DELETE FROM leases WHERE owner = $1 AND NOT (token = ANY($2::text[]))"
                " AND taken_at < clock_timestamp() - make_interval(secs => $3)",
                self._owner.id,
                list(tokens),
                self._owner_timeout * LOST_AFTER_TIMEOUTS,
            )

        await self._on_beat(drop_lost)

    async def spend(self, key: str, per_minute: int) -> float:
        [row] = await self._database.fetch("SELECT spend_one($1, $2)", key, per_minute)
        return float(row[0])

    async def close(self) -> None:
        if self._beat is not None:
            beat, self._beat = self._beat, None
            try:
                await asyncio.wait_for(beat.close(), BEAT_TIMEOUT_SECONDS)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                beat.terminate()

    async def _on_beat(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work` on the heartbeat's own connection (made again after a failure), within
        BEAT_TIMEOUT_SECONDS."""
        try:
            async with self._beating, asyncio.timeout(BEAT_TIMEOUT_SECONDS):
                if self._beat is None or self._beat.is_closed():
                    self._beat = await self._connect()
                return await work(self._beat)
        except BaseException:
            if self._beat is not None:
                with contextlib.suppress(Exception):
                    self._beat.terminate()
                self._beat = None
            raise
