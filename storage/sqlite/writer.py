"""Group commit: writes from concurrent callers, committed together in one transaction.

A burst of answers would otherwise cost one transaction, and one hop to aiosqlite's
thread, per statement. A write returns once its batch is committed, so each caller
still reads its own writes, and a claim is still decided atomically.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import aiosqlite

from storage.records import Claim

Row = TypeVar("Row")
Statement = tuple[str, Sequence[object]]

# SQLite's limit on bound parameters is 32,766; a claim holds three keys at most.
CLAIM_KEYS_PER_SELECT = 900


@dataclass
class _Outcome:
    claimed: list[bool]
    rowcounts: list[int]


class _Batch:
    """Every caller awaits its write before it goes on, so two writes of one caller are
    never in the same batch: any order among a batch's writes is a valid one, and rows
    of one statement are sent together with `executemany`."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Sequence[object]]] = {}
        self.claims: list[tuple[Sequence[str], Claim]] = []
        self.counted: list[Statement] = []
        self.committed: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()


class Writer:
    """The one connection: reads go straight to it, writes are group-committed."""

    def __init__(self, connection: aiosqlite.Connection, owner: str) -> None:
        self.connection = connection
        self.owner = owner
        self._batch: _Batch | None = None
        self._committer: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._committer is not None:
            await self._committer

    async def select(
        self, kind: Callable[..., Row], sql: str, params: Sequence[object] = ()
    ) -> list[Row]:
        """Rows as `kind`, built from the columns in the order they are selected."""
        return [kind(*row) for row in await self.connection.execute_fetchall(sql, params)]

    async def exists(self, sql: str, params: Sequence[object]) -> bool:
        return bool(await self.connection.execute_fetchall(sql, params))

    async def write(self, sql: str, params: Sequence[object]) -> None:
        await self.write_together((sql, params))

    async def write_together(self, *statements: Statement) -> None:
        """Statements committed in one transaction: all of them or none."""
        batch = self._open_batch()
        for sql, params in statements:
            batch.rows.setdefault(sql, []).append(params)
        await self._committed(batch)

    async def counted_write(
        self, sql: str, params: Sequence[object], *, after: Sequence[Statement] = ()
    ) -> int:
        """A write whose caller needs to know how many rows it changed; `after` other
        statements, committed in the same transaction before it."""
        batch = self._open_batch()
        for before, values in after:
            batch.rows.setdefault(before, []).append(values)
        index = len(batch.counted)
        batch.counted.append((sql, params))
        return (await self._committed(batch)).rowcounts[index]

    async def claim(self, keys: Sequence[str], claim: Claim) -> bool:
        """Decided inside a write transaction, so two deliveries racing each other (in
        this process or another one on the same file) cannot both win."""
        batch = self._open_batch()
        index = len(batch.claims)
        batch.claims.append((keys, claim))
        return (await self._committed(batch)).claimed[index]

    def _open_batch(self) -> _Batch:
        if self._batch is None:
            self._batch = _Batch()
            if self._committer is None:
                self._committer = asyncio.create_task(self._commit_batches())
        return self._batch

    async def _committed(self, batch: _Batch) -> _Outcome:
        # Shielded: a caller that is cancelled must not cancel its neighbours' commit.
        return await asyncio.shield(batch.committed)

    async def _commit_batches(self) -> None:
        while self._batch is not None:
            batch, self._batch = self._batch, None
            try:
                outcome = await self._commit(batch)
            except Exception as error:  # noqa: BLE001 - handed to every writer of the batch
                # The batch's statements are all OR IGNORE/REPLACE on our own schema, so
                # what fails one (a locked or full disk) fails them all alike.
                batch.committed.set_exception(error)
            else:
                batch.committed.set_result(outcome)
        self._committer = None

    async def _commit(self, batch: _Batch) -> _Outcome:
        db = self.connection
        await db.execute("BEGIN IMMEDIATE")
        try:
            claimed = await self._claim_all(batch.claims)
            for sql, rows in batch.rows.items():
                await db.executemany(sql, rows)
            rowcounts = []
            for sql, params in batch.counted:
                cursor = await db.execute(sql, params)
                rowcounts.append(cursor.rowcount)
            await db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            raise
        return _Outcome(claimed=claimed, rowcounts=rowcounts)

    async def _claim_all(self, claims: list[tuple[Sequence[str], Claim]]) -> list[bool]:
        """Inside the batch's write transaction, so no other process can interleave."""
        if not claims:
            return []
        db = self.connection
        keys = sorted({key for keys, _ in claims for key in keys})
        seen: set[str] = set()
        for first in range(0, len(keys), CLAIM_KEYS_PER_SELECT):
            chunk = keys[first : first + CLAIM_KEYS_PER_SELECT]
            rows = await db.execute_fetchall(
                f"SELECT key FROM processed_events WHERE key IN ({', '.join(['?'] * len(chunk))})",
                chunk,
            )
            seen.update(str(row[0]) for row in rows)
        claimed: list[bool] = []
        for keys_of_one, _ in claims:
            # The first of two deliveries in one batch wins, as it would one by one.
            claimed.append(not any(key in seen for key in keys_of_one))
            seen.update(keys_of_one)
        now = time.time()
        await db.executemany(
            "INSERT OR IGNORE INTO processed_events (key, created_at) VALUES (?, ?)",
            [(key, now) for key in keys],
        )
        # In the claim's own transaction: no crash can leave a claim nobody will report.
        await db.executemany(
            "INSERT OR REPLACE INTO claimed_events"
            " (channel, ts, thread_ts, user_id, claimed_at, owner) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (claim.channel, claim.ts, claim.thread_ts, claim.user_id, now, self.owner)
                for (_, claim), won in zip(claims, claimed, strict=True)
                if won
            ],
        )
        return claimed
