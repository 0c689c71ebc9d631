"""Settings per scope, and who has been welcomed."""

from __future__ import annotations

import time

from storage.postgres.database import Connection, Database
from storage.records import SettingsChanges, StoredSettings

# Changes are numbered one transaction at a time, under this advisory lock until commit:
# numbers handed out concurrently could commit out of order, and a reader that saw the
# larger one would never read the smaller.
CHANGES_LOCK = 0x5E771C
# Recorded in the transaction of the change itself, after taking CHANGES_LOCK.
NOTE_CHANGE = "INSERT INTO settings_changes (scope, key, changed_at) VALUES ($1, $2, $3)"


async def note_changes(db: Connection, scopes: list[tuple[str, str]], at: float) -> None:
    await db.execute("SELECT pg_advisory_xact_lock($1)", CHANGES_LOCK)
    await db.executemany(NOTE_CHANGE, [(scope, key, at) for scope, key in scopes])


class PostgresSettings:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def all_settings(self) -> dict[tuple[str, str], StoredSettings]:
        rows = await self._database.fetch("SELECT scope, key, overrides, updated_by FROM settings")
        return {(str(r[0]), str(r[1])): StoredSettings(str(r[2]), str(r[3])) for r in rows}

    async def save_settings(self, scope: str, key: str, overrides: str, updated_by: str) -> None:
        now = time.time()

        async def steps(db: Connection) -> None:
            await note_changes(db, [(scope, key)], now)
            await db.execute(
                "INSERT INTO settings (scope, key, overrides, updated_by, updated_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO UPDATE"
                " SET overrides = excluded.overrides, updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                scope,
                key,
                overrides,
                updated_by,
                now,
            )

        await self._database.write_together(steps)

    async def settings_version(self) -> int:
        [row] = await self._database.fetch("SELECT COALESCE(MAX(version), 0) FROM settings_changes")
        return int(row[0])

    async def settings_changed_since(self, version: int) -> SettingsChanges:
        [row] = await self._database.fetch(
            "SELECT COALESCE(MAX(version), 0), COALESCE(MIN(version), 0) FROM settings_changes"
        )
        latest, oldest = int(row[0]), int(row[1])
        if latest == version:
            return SettingsChanges(version)
        if oldest > version + 1 or latest < version:
            everything = await self.all_settings()
            return SettingsChanges(latest, dict(everything), complete=True)
        rows = await self._database.fetch(
            "SELECT c.scope, c.key, s.overrides, s.updated_by FROM"
            " (SELECT DISTINCT scope, key FROM settings_changes"
            "  WHERE version > $1 AND version <= $2) AS c"
            " LEFT JOIN settings AS s ON s.scope = c.scope AND s.key = c.key",
            version,
            latest,
        )
        now_held = {
            (str(r[0]), str(r[1])): None if r[2] is None else StoredSettings(str(r[2]), str(r[3]))
            for r in rows
        }
        return SettingsChanges(latest, now_held)


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
