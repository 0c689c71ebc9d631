"""What an operator's command line reads and corrects: overviews, usage, settings."""

from __future__ import annotations

import time
from collections.abc import Sequence

from storage.records import PersonUsage, Totals
from storage.sqlite.settings import NOTE_CHANGE
from storage.sqlite.writer import Writer


class SQLiteAdmin:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def totals(self, since: float) -> Totals:
        # One statement: its counts are of one moment, however busy the bot is.
        [row] = await self._writer.select(
            Totals,
            "SELECT (SELECT COUNT(*) FROM threads), (SELECT COUNT(*) FROM messages),"
            " (SELECT COUNT(*) FROM known_users), COALESCE(SUM(kind = 'answer'), 0),"
            " COALESCE(SUM(kind != 'answer'), 0), COALESCE(SUM(input_tokens), 0),"
            " COALESCE(SUM(output_tokens), 0), SUM(cost) FROM usage WHERE created_at >= ?",
            (since,),
        )
        return row

    async def usage_by_person(self, since: float) -> list[PersonUsage]:
        return await self._writer.select(
            PersonUsage,
            "SELECT user_id, model, SUM(input_tokens), SUM(output_tokens), SUM(cost)"
            " FROM usage WHERE created_at >= ? GROUP BY user_id, model ORDER BY user_id, model",
            (since,),
        )

    async def delete_settings(self, scopes: Sequence[tuple[str, str]]) -> int:
        if not scopes:
            return 0
        now = time.time()
        pairs = ", ".join(["(?, ?)"] * len(scopes))
        # Noted in the same transaction: a process catching up sees both or neither.
        return await self._writer.counted_write(
            f"DELETE FROM settings WHERE (scope, key) IN (VALUES {pairs})",
            [value for pair in scopes for value in pair],
            after=[(NOTE_CHANGE, (scope, key, now)) for scope, key in scopes],
        )
