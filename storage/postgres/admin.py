"""What an operator's command line reads and corrects: overviews, usage, settings."""

from __future__ import annotations

import time
from collections.abc import Sequence

from storage.postgres.database import Connection, Database, count
from storage.postgres.settings import note_changes
from storage.records import PersonUsage, Totals


class PostgresAdmin:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def totals(self, since: float) -> Totals:
        # One statement: its counts are of one snapshot, however busy the bot is.
        [row] = await self._database.select(
            Totals,
            "SELECT (SELECT count(*) FROM threads), (SELECT count(*) FROM messages),"
            " (SELECT count(*) FROM known_users), count(*) FILTER (WHERE kind = 'answer'),"
            " count(*) FILTER (WHERE kind <> 'answer'),"
            " COALESCE(SUM(input_tokens), 0)::bigint, COALESCE(SUM(output_tokens), 0)::bigint,"
            " SUM(cost) FROM usage WHERE created_at >= $1",
            since,
        )
        return row

    async def usage_by_person(self, since: float) -> list[PersonUsage]:
        return await self._database.select(
            PersonUsage,
            "SELECT user_id, model, SUM(input_tokens)::bigint, SUM(output_tokens)::bigint,"
            " SUM(cost) FROM usage WHERE created_at >= $1 GROUP BY user_id, model"
            " ORDER BY user_id, model",
            since,
        )

    async def delete_settings(self, scopes: Sequence[tuple[str, str]]) -> int:
        if not scopes:
            return 0

        async def steps(db: Connection) -> int:
            await note_changes(db, list(scopes), time.time())
            return count(
                await db.execute(
                    "DELETE FROM settings WHERE (scope, key) IN"
                    " (SELECT * FROM unnest($1::text[], $2::text[]))",
                    [scope for scope, _ in scopes],
                    [key for _, key in scopes],
                )
            )

        return await self._database.write_together(steps)
