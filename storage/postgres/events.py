"""Events handled, and messages claimed and not yet settled."""

from __future__ import annotations

import time
from collections.abc import Sequence

from storage.postgres.database import Database
from storage.records import Claim

# One statement decides: the keys are inserted in order (so two claims sharing keys
# never wait on each other in a cycle), a key another transaction is inserting waits
# for it to end, and the claim is recorded only if every key was new. In one statement
# it is atomic across every process and host sharing the database.
_CLAIM = """
WITH new AS (
    INSERT INTO processed_events (key, created_at)
    SELECT key, $2 FROM unnest($1::text[]) AS key ORDER BY key
    ON CONFLICT DO NOTHING RETURNING key
), won AS (
    SELECT count(*) = cardinality($1::text[]) AS won FROM new
), claimed AS (
    INSERT INTO claimed_events (channel, ts, thread_ts, user_id, claimed_at, owner)
    SELECT $3, $4, $5, $6, $2, $7 FROM won WHERE won
    ON CONFLICT (channel, ts) DO UPDATE SET thread_ts = excluded.thread_ts,
        user_id = excluded.user_id, claimed_at = excluded.claimed_at, owner = excluded.owner
)
SELECT won FROM won
"""


class PostgresEvents:
    def __init__(self, database: Database, owner: str) -> None:
        self._database = database
        self._owner = owner

    async def claim_event(self, keys: Sequence[str], claim: Claim) -> bool:
        c = claim

        async def run() -> bool:
            async with self._database.connection() as connection:
                won = await connection.fetchval(
                    _CLAIM,
                    sorted(set(keys)),
                    time.time(),
                    c.channel,
                    c.ts,
                    c.thread_ts,
                    c.user_id,
                    self._owner,
                )
            return bool(won)

        return await self._database.finished(run())

    async def settle_claim(self, channel: str, ts: str) -> None:
        await self._database.write(
            "DELETE FROM claimed_events WHERE channel = $1 AND ts = $2", channel, ts
        )

    async def purge_processed_events(self, older_than: float) -> int:
        return await self._database.write(
            "DELETE FROM processed_events WHERE created_at < $1", older_than
        )
