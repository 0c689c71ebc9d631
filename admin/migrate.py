"""Copying a SQLite database into an empty PostgreSQL one: the move to several instances.

Both are first opened as the bot opens them, so each holds the current schema; the
rows are then read in one SQLite read transaction (a moment's copy) and written in
batches inside one PostgreSQL transaction (all of them, or none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import aiosqlite

from storage.postgres import PostgresStore
from storage.postgres.database import Connection
from storage.sqlite import SQLiteStore

# Rows read and written at a time: a batch's memory stays small whatever the tables hold.
BATCH_ROWS = 1000


@dataclass(frozen=True)
class Table:
    name: str
    # Separated by spaces, the same in both stores.
    listed: str
    # Columns SQLite keeps as 0/1 and PostgreSQL as booleans.
    flags: frozenset[str] = frozenset()
    # Its id column, generated: the next id follows the largest copied.
    identity: bool = False

    @property
    def columns(self) -> list[str]:
        return self.listed.split()


# Every table the bot keeps, but `owners`: the processes that used the SQLite file are
# not instances of the PostgreSQL store, so what they left in flight is reported, once,
# by the first instance that starts on it (as a restart on SQLite would).
TABLES = (
    Table("processed_events", "key created_at"),
    Table("claimed_events", "channel ts thread_ts user_id claimed_at owner"),
    Table(
        "threads",
        "channel thread_ts created_at context_notice_sent",
        flags=frozenset({"context_notice_sent"}),
    ),
    Table("assistant_threads", "channel thread_ts created_at"),
    Table(
        "messages",
        "id channel thread_ts ts role user_id text created_at outside",
        flags=frozenset({"outside"}),
        identity=True,
    ),
    Table("documents", "channel file_id thread_ts message_ts name text created_at"),
    Table(
        "thread_images",
        "id channel thread_ts file_id message_ts role description created_at",
        identity=True,
    ),
    Table("conversation_resets", "channel user_id after_ts"),
    Table("settings", "scope key overrides updated_by updated_at"),
    Table("known_users", "user_id first_seen"),
    Table("feedback", "channel message_ts user_id value created_at"),
    Table(
        "usage",
        "id user_id model input_tokens output_tokens created_at cost channel question_ts kind",
        identity=True,
    ),
    Table("inflight_replies", "channel message_ts thread_ts user_id started_at shows owner"),
    Table(
        "approvals",
        "id user_id channel thread_ts message_ts action arguments preview expires_at",
    ),
    Table("job_runs", "name every started_at seconds outcome"),
)


class TargetNotEmpty(Exception):
    """The PostgreSQL database holds data already: copying could mix two bots' data."""


async def copy_to_postgres(
    source: str, target: str, progress: Callable[[str, int], None]
) -> dict[str, int]:
    """Every table of the SQLite database at `source` into the empty PostgreSQL one at
    `target`; the rows copied per table, each also told to `progress` once copied."""
    # Opened as the bot opens them: both migrated to the current schema.
    await (await SQLiteStore.open(source)).close()
    store = await PostgresStore.open(target, max_size=1, register=False)
    try:
        async with store.database.transaction() as db:
            if await _holds_data(db):
                raise TargetNotEmpty
            copied = await _copy_all(source, db, progress)
    finally:
        await store.close()
    return copied


async def _holds_data(db: Connection) -> bool:
    for table in TABLES:
        if await db.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table.name})"):
            return True
    return False


async def _copy_all(
    source: str, db: Connection, progress: Callable[[str, int], None]
) -> dict[str, int]:
    copied: dict[str, int] = {}
    async with aiosqlite.connect(f"file:{quote(source)}?mode=ro", uri=True) as sqlite:
        # One read transaction: every table as of one moment.
        await sqlite.execute("BEGIN")
        for table in TABLES:
            copied[table.name] = await _copy_table(sqlite, db, table)
            progress(table.name, copied[table.name])
        await sqlite.execute("COMMIT")
    return copied


async def _copy_table(sqlite: aiosqlite.Connection, db: Connection, table: Table) -> int:
    flags = [i for i, column in enumerate(table.columns) if column in table.flags]
    count = 0
    cursor = await sqlite.execute(f"SELECT {', '.join(table.columns)} FROM {table.name}")
    while rows := list(await cursor.fetchmany(BATCH_ROWS)):
        await db.copy_records_to_table(
            table.name, records=[_converted(row, flags) for row in rows], columns=table.columns
        )
        count += len(rows)
    await cursor.close()
    if table.identity:
        await db.execute(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
            f" COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
        )
    return count


def _converted(row: Sequence[object], flags: list[int]) -> tuple[object, ...]:
    values = list(row)
    for index in flags:
        values[index] = bool(values[index])
    return tuple(values)
