"""Settings per scope, and who has been welcomed."""

from __future__ import annotations

import time

from storage.records import SettingsChanges, StoredSettings
from storage.sqlite.writer import Writer

# Recording a change; written before the change itself, so a failure between the two
# costs another process one needless read, never a missed change.
NOTE_CHANGE = "INSERT INTO settings_changes (scope, key, changed_at) VALUES (?, ?, ?)"


class SQLiteSettings:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def all_settings(self) -> dict[tuple[str, str], StoredSettings]:
        rows = await self._writer.connection.execute_fetchall(
            "SELECT scope, key, overrides, updated_by FROM settings"
        )
        return {(str(r[0]), str(r[1])): StoredSettings(str(r[2]), str(r[3])) for r in rows}

    async def save_settings(self, scope: str, key: str, overrides: str, updated_by: str) -> None:
        now = time.time()
        await self._writer.write_together(
            (NOTE_CHANGE, (scope, key, now)),
            (
                "INSERT OR REPLACE INTO settings (scope, key, overrides, updated_by, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (scope, key, overrides, updated_by, now),
            ),
        )

    async def settings_version(self) -> int:
        rows = await self._writer.connection.execute_fetchall(
            "SELECT COALESCE(MAX(version), 0) FROM settings_changes"
        )
        return int(next(iter(rows))[0])

    async def settings_changed_since(self, version: int) -> SettingsChanges:
        rows = await self._writer.connection.execute_fetchall(
            "SELECT COALESCE(MAX(version), 0), COALESCE(MIN(version), 0) FROM settings_changes"
        )
        latest, oldest = (int(value) for value in next(iter(rows)))
        if latest == version:
            return SettingsChanges(version)
        if oldest > version + 1 or latest < version:
            # Changes this process has not seen were forgotten (or the store was replaced).
            everything = await self.all_settings()
            return SettingsChanges(latest, dict(everything), complete=True)
        changed = await self._writer.connection.execute_fetchall(
            "SELECT c.scope, c.key, s.overrides, s.updated_by FROM"
            " (SELECT DISTINCT scope, key FROM settings_changes WHERE version > ? AND version <= ?)"
            " AS c LEFT JOIN settings AS s ON s.scope = c.scope AND s.key = c.key",
            (version, latest),
        )
        return SettingsChanges(
            latest,
            {
                (str(r[0]), str(r[1])): None
                if r[2] is None
                else StoredSettings(str(r[2]), str(r[3]))
                for r in changed
            },
        )


class SQLitePeople:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def first_contact(self, user_id: str) -> bool:
        added = await self._writer.counted_write(
            "INSERT OR IGNORE INTO known_users (user_id, first_seen) VALUES (?, ?)",
            (user_id, time.time()),
        )
        return added == 1
