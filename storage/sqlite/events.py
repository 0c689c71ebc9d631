"""Events handled, and messages claimed and not yet settled."""

from __future__ import annotations

from collections.abc import Sequence

from storage.records import Claim
from storage.sqlite.writer import Writer


class SQLiteEvents:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def claim_event(self, keys: Sequence[str], claim: Claim) -> bool:
        return await self._writer.claim(keys, claim)

    async def settle_claim(self, channel: str, ts: str) -> None:
        await self._writer.write(
            "DELETE FROM claimed_events WHERE channel = ? AND ts = ?", (channel, ts)
        )

    async def purge_processed_events(self, older_than: float) -> int:
        return await self._writer.counted_write(
            "DELETE FROM processed_events WHERE created_at < ?", (older_than,)
        )
