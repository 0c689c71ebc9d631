"""Settings per scope, and who has been welcomed."""

from __future__ import annotations

import time

from storage.postgres.database import Database
from storage.records import StoredSettings


class PostgresSettings:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def all_settings(self) -> dict[tuple[str, str], StoredSettings]:
        rows = await self._database.fetch("SELECT scope, key, overrides, updated_by FROM settings")
        return {(str(r[0]), str(r[1])): StoredSettings(str(r[2]), str(r[3])) for r in rows}

    async def save_settings(self, scope: str, key: str, overrides: str, updated_by: str) -> None:
        await self._database.write(
            "INSERT INTO settings (scope, key, overrides, updated_by, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO UPDATE"
            " SET overrides = excluded.overrides, updated_by = excluded.updated_by,"
            " updated_at = excluded.updated_at",
            scope,
            key,
            overrides,
            updated_by,
            time.time(),
        )


class PostgresPeople:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def first_contact(self, user_id: str) -> bool:
        # The unique key decides: of two processes inserting at once, one inserts.
        added = await self._database.write(
            "INSERT INTO known_users (user_id, first_seen) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            user_id,
            time.time(),
        )
        return added == 1
