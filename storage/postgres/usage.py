"""Tokens and images spent, and people's verdicts on answers."""

from __future__ import annotations

import time

from storage.postgres.database import Database
from storage.records import ModelUsage, UsageKind


class PostgresUsage:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def record_usage(
        self,
        user_id: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        cost: float | None = None,
        channel: str | None = None,
        question_ts: str | None = None,
    ) -> None:
        await self._database.write(
            "INSERT INTO usage (user_id, model, input_tokens, output_tokens, created_at,"
            " cost, channel, question_ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            user_id,
            model,
            input_tokens,
            output_tokens,
            time.time(),
            cost,
            channel,
            question_ts,
        )

    async def record_image(
        self,
        user_id: str,
        model: str,
        kind: UsageKind,
        *,
        cost: float | None,
        channel: str,
        question_ts: str,
        at: float,
    ) -> None:
        await self._database.write(
            "INSERT INTO usage (user_id, model, input_tokens, output_tokens, created_at,"
            " cost, channel, question_ts, kind) VALUES ($1, $2, 0, 0, $3, $4, $5, $6, $7)",
            user_id,
            model,
            at,
            cost,
            channel,
            question_ts,
            kind.value,
        )

    async def images_since(self, user_id: str, since: float) -> int:
        async with self._database.connection() as connection:
            found = await connection.fetchval(
                "SELECT count(*) FROM usage WHERE user_id = $1 AND kind = ANY($2::text[])"
                " AND created_at >= $3",
                user_id,
                [UsageKind.IMAGE_GENERATION.value, UsageKind.IMAGE_EDIT.value],
                since,
            )
        return int(found)

    async def usage_by_model(self, user_id: str | None, since: float) -> list[ModelUsage]:
        rows = await self._database.fetch(
            "SELECT model, count(*), SUM(input_tokens)::bigint, SUM(output_tokens)::bigint,"
            " SUM(cost), kind FROM usage"
            " WHERE ($1::text IS NULL OR user_id = $1) AND created_at >= $2 GROUP BY model, kind"
            " ORDER BY kind <> 'answer', SUM(input_tokens) + SUM(output_tokens) DESC, kind DESC",
            user_id,
            since,
        )
        return [
            ModelUsage(
                str(model), int(answers), int(tokens_in), int(tokens_out), cost, UsageKind(kind)
            )
            for model, answers, tokens_in, tokens_out, cost, kind in rows
        ]


class PostgresFeedback:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def record_feedback(
        self, channel: str, message_ts: str, user_id: str, value: str
    ) -> None:
        await self._database.write(
            "INSERT INTO feedback (channel, message_ts, user_id, value, created_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel, message_ts, user_id)"
            " DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
            channel,
            message_ts,
            user_id,
            value,
            time.time(),
        )

    async def feedback_counts(self, since: float) -> dict[str, int]:
        rows = await self._database.fetch(
            "SELECT value, count(*) FROM feedback WHERE created_at >= $1 GROUP BY value", since
        )
        return {str(row[0]): int(row[1]) for row in rows}
