"""Tokens and images spent, and people's verdicts on answers."""

from __future__ import annotations

import time

from storage.records import ModelUsage, UsageKind
from storage.sqlite.writer import Writer


class SQLiteUsage:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

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
        await self._writer.write(
            "INSERT INTO usage (user_id, model, input_tokens, output_tokens, created_at,"
            " cost, channel, question_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, model, input_tokens, output_tokens, time.time(), cost, channel, question_ts),
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
        await self._writer.write(
            "INSERT INTO usage (user_id, model, input_tokens, output_tokens, created_at,"
            " cost, channel, question_ts, kind) VALUES (?, ?, 0, 0, ?, ?, ?, ?, ?)",
            (user_id, model, at, cost, channel, question_ts, kind.value),
        )

    async def images_since(self, user_id: str, since: float) -> int:
        rows = await self._writer.connection.execute_fetchall(
            "SELECT COUNT(*) FROM usage WHERE user_id = ? AND kind IN (?, ?) AND created_at >= ?",
            (user_id, UsageKind.IMAGE_GENERATION.value, UsageKind.IMAGE_EDIT.value, since),
        )
        return sum(int(row[0]) for row in rows)

    async def usage_by_model(self, user_id: str | None, since: float) -> list[ModelUsage]:
        who = "user_id = ? AND " if user_id is not None else ""
        rows = await self._writer.connection.execute_fetchall(
            "SELECT model, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost), kind"
            f" FROM usage WHERE {who}created_at >= ? GROUP BY model, kind"
            " ORDER BY kind != 'answer', SUM(input_tokens) + SUM(output_tokens) DESC, kind DESC",
            (user_id, since) if user_id is not None else (since,),
        )
        return [
            ModelUsage(
                str(model), int(answers), int(tokens_in), int(tokens_out), cost, UsageKind(kind)
            )
            for model, answers, tokens_in, tokens_out, cost, kind in rows
        ]


class SQLiteFeedback:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def record_feedback(
        self, channel: str, message_ts: str, user_id: str, value: str
    ) -> None:
        await self._writer.write(
            "INSERT OR REPLACE INTO feedback (channel, message_ts, user_id, value, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (channel, message_ts, user_id, value, time.time()),
        )

    async def feedback_counts(self, since: float) -> dict[str, int]:
        rows = await self._writer.connection.execute_fetchall(
            "SELECT value, COUNT(*) FROM feedback WHERE created_at >= ? GROUP BY value", (since,)
        )
        return {str(row[0]): int(row[1]) for row in rows}
