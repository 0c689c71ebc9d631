"""Settings per scope, and who has been welcomed."""

from __future__ import annotations

import time

from storage.records import StoredSettings
from storage.sqlite.writer import Writer


class SQLiteSettings:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def all_settings(self) -> dict[tuple[str, str], StoredSettings]:
        rows = await self._writer.connection.execute_fetchall(
            "SELECT scope, key, overrides, updated_by FROM settings"
        )
        return {(str(r[0]), str(r[1])): StoredSettings(str(r[2]), str(r[3])) for r in rows}

    async def save_settings(self, scope: str, key: str, overrides: str, updated_by: str) -> None:
        await self._writer.write(
            "INSERT OR REPLACE INTO settings (scope, key, overrides, updated_by, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (scope, key, overrides, updated_by, time.time()),
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
