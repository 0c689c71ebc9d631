"""Actions awaiting a person's approval."""

from __future__ import annotations

from storage.records import PendingApproval
from storage.sqlite.writer import Writer

_COLUMNS = "id, user_id, channel, thread_ts, message_ts, action, arguments, preview, expires_at"


class SQLiteApprovals:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def add_approval(self, approval: PendingApproval) -> None:
        a = approval
        await self._writer.write(
            f"INSERT OR REPLACE INTO approvals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.id,
                a.user_id,
                a.channel,
                a.thread_ts,
                a.message_ts,
                a.action,
                a.arguments,
                a.preview,
                a.expires_at,
            ),
        )

    async def approval(self, approval_id: str) -> PendingApproval | None:
        found = await self._writer.select(
            PendingApproval, f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (approval_id,)
        )
        return found[0] if found else None

    async def take_approval(self, approval_id: str) -> bool:
        removed = await self._writer.counted_write(
            "DELETE FROM approvals WHERE id = ?", (approval_id,)
        )
        return removed == 1

    async def pending_approvals(self) -> list[PendingApproval]:
        return await self._writer.select(
            PendingApproval, f"SELECT {_COLUMNS} FROM approvals ORDER BY expires_at"
        )
