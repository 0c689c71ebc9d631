"""Actions awaiting a person's approval."""

from __future__ import annotations

from storage.postgres.database import Database
from storage.records import PendingApproval

_COLUMNS = "id, user_id, channel, thread_ts, message_ts, action, arguments, preview, expires_at"


class PostgresApprovals:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add_approval(self, approval: PendingApproval) -> None:
        a = approval
        await self._database.write(
            f"INSERT INTO approvals ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id,"
            " channel = excluded.channel, thread_ts = excluded.thread_ts,"
            " message_ts = excluded.message_ts, action = excluded.action,"
            " arguments = excluded.arguments, preview = excluded.preview,"
            " expires_at = excluded.expires_at",
            a.id,
            a.user_id,
            a.channel,
            a.thread_ts,
            a.message_ts,
            a.action,
            a.arguments,
            a.preview,
            a.expires_at,
        )

    async def approval(self, approval_id: str) -> PendingApproval | None:
        found = await self._database.select(
            PendingApproval, f"SELECT {_COLUMNS} FROM approvals WHERE id = $1", approval_id
        )
        return found[0] if found else None

    async def take_approval(self, approval_id: str) -> bool:
        # The row lock decides: a second DELETE waits for the first and then finds none.
        removed = await self._database.write("DELETE FROM approvals WHERE id = $1", approval_id)
        return removed == 1

    async def pending_approvals(self) -> list[PendingApproval]:
        return await self._database.select(
            PendingApproval, f"SELECT {_COLUMNS} FROM approvals ORDER BY expires_at"
        )
