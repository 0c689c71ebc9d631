"""Coordination across instances in PostgreSQL: presence, leases and per-minute counts.

Leases and counts are decided by functions in the database (migration m008), each under
a transaction-scoped advisory lock on its key: one round trip a decision, and instances
asking at the same moment are served one after the other. Presence is the heartbeat of
storage/postgres/inflight.py, by the database's clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection

from storage.owners import Owner
from storage.postgres.database import Database
from storage.postgres.inflight import PostgresInflight


class PostgresCoordination:
    def __init__(
        self, database: Database, inflight: PostgresInflight, owner: Owner, owner_timeout: float
    ) -> None:
        self._database = database
        self._inflight = inflight
        self._owner = owner
        self._owner_timeout = owner_timeout

    async def heartbeat(self) -> int:
        await self._inflight.heartbeat()
        [row] = await self._database.fetch(
            "SELECT count(*) FROM owners"
            " WHERE heartbeat_at > clock_timestamp() - make_interval(secs => $1)",
            self._owner_timeout,
        )
        # Counts older than a minute count nothing any more: dropped in passing.
        await self._database.write(
            "DELETE FROM rate_counts WHERE at <= clock_timestamp() - interval '60 seconds'"
        )
        return max(1, int(row[0]))

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

    async def release_lease(self, token: str) -> None:
        await self._database.write("DELETE FROM leases WHERE token = $1", token)

    async def keep_leases(self, tokens: Collection[str]) -> None:
        await self._database.write(
            "DELETE FROM leases WHERE owner = $1 AND NOT (token = ANY($2::text[]))",
            self._owner.id,
            list(tokens),
        )

    async def spend(self, key: str, per_minute: int) -> float:
        [row] = await self._database.fetch("SELECT spend_one($1, $2)", key, per_minute)
        return float(row[0])
