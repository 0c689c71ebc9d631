"""The SQLite schema, as an ordered list of small migrations (as simonw/llm keeps its own).

Each migration is a function that takes the connection inside a transaction and moves
the schema one step forward; it never changes once released. `PRAGMA user_version`
counts the migrations applied and `_migrations` names them. Databases written before
the migrations were functions know only their `user_version`, in the old numbering:
`BEFORE_NAMES` says how many of today's migrations each old version stood for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import aiosqlite

from storage.records import StoreUnusable

logger = logging.getLogger(__name__)

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]
MIGRATIONS: list[Migration] = []


def migration(function: Migration) -> Migration:
    MIGRATIONS.append(function)
    return function


async def _script(connection: aiosqlite.Connection, *statements: str) -> None:
    for statement in statements:
        await connection.execute(statement)


@migration
async def m001_processed_events(db: aiosqlite.Connection) -> None:
    """Event keys already handled: Slack redelivers, the bot answers once."""
    await _script(
        db,
        "CREATE TABLE processed_events (key TEXT PRIMARY KEY, created_at REAL NOT NULL)",
        "CREATE INDEX processed_events_created ON processed_events(created_at)",
    )


@migration
async def m002_threads(db: aiosqlite.Connection) -> None:
    await db.execute(
        "CREATE TABLE threads (channel TEXT NOT NULL, thread_ts TEXT NOT NULL,"
        " created_at REAL NOT NULL, context_notice_sent INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (channel, thread_ts))"
    )


@migration
async def m003_messages(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
        " thread_ts TEXT NOT NULL, ts TEXT NOT NULL,"
        " role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), user_id TEXT,"
        " text TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (channel, ts, role))",
        "CREATE INDEX messages_thread ON messages(channel, thread_ts, ts)",
    )


@migration
async def m004_usage(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        "CREATE TABLE usage (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL,"
        " model TEXT NOT NULL, input_tokens INTEGER NOT NULL,"
        " output_tokens INTEGER NOT NULL, created_at REAL NOT NULL)",
        "CREATE INDEX usage_user ON usage(user_id, created_at)",
    )


@migration
async def m005_inflight_replies(db: aiosqlite.Connection) -> None:
    await db.execute(
        "CREATE TABLE inflight_replies (channel TEXT NOT NULL, message_ts TEXT NOT NULL,"
        " thread_ts TEXT NOT NULL, user_id TEXT, started_at REAL NOT NULL,"
        " PRIMARY KEY (channel, message_ts))"
    )


@migration
async def m006_documents(db: aiosqlite.Connection) -> None:
    """Text read from documents attached in a thread, for its follow-ups."""
    await db.execute(
        "CREATE TABLE documents (channel TEXT NOT NULL, file_id TEXT NOT NULL,"
        " thread_ts TEXT NOT NULL, message_ts TEXT NOT NULL, name TEXT NOT NULL,"
        " text TEXT NOT NULL, created_at REAL NOT NULL,"
        " PRIMARY KEY (channel, thread_ts, file_id))"
    )


@migration
async def m007_thread_images(db: aiosqlite.Connection) -> None:
    """A thread's images, numbered in order, so "make it blue" can name one to edit."""
    await db.execute(
        "CREATE TABLE thread_images (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
        " thread_ts TEXT NOT NULL, file_id TEXT NOT NULL, message_ts TEXT NOT NULL,"
        " role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),"
        " description TEXT NOT NULL, created_at REAL NOT NULL,"
        " UNIQUE (channel, thread_ts, file_id))"
    )


@migration
async def m008_settings(db: aiosqlite.Connection) -> None:
    """Settings per scope: a channel, a person, a thread."""
    await db.execute(
        "CREATE TABLE settings ("
        " scope TEXT NOT NULL CHECK (scope IN ('channel', 'user', 'thread')),"
        " key TEXT NOT NULL, overrides TEXT NOT NULL, updated_by TEXT NOT NULL,"
        " updated_at REAL NOT NULL, PRIMARY KEY (scope, key))"
    )


@migration
async def m009_known_users(db: aiosqlite.Connection) -> None:
    """Who has been welcomed; whoever was answered before this is not welcomed as new."""
    await _script(
        db,
        "CREATE TABLE known_users (user_id TEXT PRIMARY KEY, first_seen REAL NOT NULL)",
        "INSERT INTO known_users (user_id, first_seen)"
        " SELECT user_id, MIN(created_at) FROM usage GROUP BY user_id",
    )


@migration
async def m010_feedback(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        "CREATE TABLE feedback (channel TEXT NOT NULL, message_ts TEXT NOT NULL,"
        " user_id TEXT NOT NULL, value TEXT NOT NULL, created_at REAL NOT NULL,"
        " PRIMARY KEY (channel, message_ts, user_id))",
        "CREATE INDEX feedback_created ON feedback(created_at)",
    )


@migration
async def m011_usage_cost_and_place(db: aiosqlite.Connection) -> None:
    """What an answer cost, and which question it answered."""
    await _script(
        db,
        "ALTER TABLE usage ADD COLUMN cost REAL",
        "ALTER TABLE usage ADD COLUMN channel TEXT",
        "ALTER TABLE usage ADD COLUMN question_ts TEXT",
    )


@migration
async def m012_assistant_threads(db: aiosqlite.Connection) -> None:
    await db.execute(
        "CREATE TABLE assistant_threads (channel TEXT NOT NULL, thread_ts TEXT NOT NULL,"
        " created_at REAL NOT NULL, PRIMARY KEY (channel, thread_ts))"
    )


@migration
async def m013_conversation_resets(db: aiosqlite.Connection) -> None:
    """Where a DM conversation was reset (`/ai reset`)."""
    await db.execute(
        "CREATE TABLE conversation_resets (channel TEXT NOT NULL, user_id TEXT NOT NULL,"
        " after_ts TEXT NOT NULL, PRIMARY KEY (channel, user_id))"
    )


@migration
async def m014_usage_kind(db: aiosqlite.Connection) -> None:
    """Images drawn and edited are usage too, counted per person per day."""
    await _script(
        db,
        "ALTER TABLE usage ADD COLUMN kind TEXT NOT NULL DEFAULT 'answer'"
        " CHECK (kind IN ('answer', 'image_generation', 'image_edit'))",
        "CREATE INDEX usage_user_kind ON usage(user_id, kind, created_at)",
    )


@migration
async def m015_retention_indexes(db: aiosqlite.Connection) -> None:
    """Retention deletes by age, a batch at a time, without scanning a table."""
    await _script(
        db,
        "CREATE INDEX messages_created ON messages(created_at)",
        "CREATE INDEX documents_created ON documents(created_at)",
        "CREATE INDEX thread_images_created ON thread_images(created_at)",
    )


@migration
async def m016_claimed_events(db: aiosqlite.Connection) -> None:
    """An event claimed and not yet answered or turned away, with where to reach its
    author (never the message), so that a crash right after the claim is reported.
    Earlier versions stood in for a reply without a message by the thread's ts."""
    await _script(
        db,
        "CREATE TABLE claimed_events (channel TEXT NOT NULL, ts TEXT NOT NULL,"
        " thread_ts TEXT NOT NULL, user_id TEXT, claimed_at REAL NOT NULL,"
        " PRIMARY KEY (channel, ts))",
        "INSERT OR IGNORE INTO claimed_events (channel, ts, thread_ts, user_id, claimed_at)"
        " SELECT channel, thread_ts, thread_ts, user_id, started_at FROM inflight_replies"
        " WHERE message_ts = thread_ts",
        "DELETE FROM inflight_replies WHERE message_ts = thread_ts",
    )


@migration
async def m017_inflight_shows(db: aiosqlite.Connection) -> None:
    """What each message of a reply in flight shows, so its report keeps what was written."""
    await db.execute(
        "ALTER TABLE inflight_replies ADD COLUMN shows TEXT NOT NULL DEFAULT 'writing'"
        " CHECK (shows IN ('status', 'writing', 'full'))"
    )


@migration
async def m018_answer_provenance(db: aiosqlite.Connection) -> None:
    """Whether an answer was written from content its asker did not write; answers
    stored before this are assumed to be."""
    await db.execute("ALTER TABLE messages ADD COLUMN outside INTEGER NOT NULL DEFAULT 1")


@migration
async def m019_owners(db: aiosqlite.Connection) -> None:
    """Claims and replies in flight belong to the process handling them: recovery
    reports only those of processes that are gone. Rows from before have no owner."""
    await _script(
        db,
        "CREATE TABLE owners (id TEXT PRIMARY KEY, host TEXT NOT NULL,"
        " pid INTEGER NOT NULL, started_at REAL NOT NULL)",
        "ALTER TABLE claimed_events ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE inflight_replies ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
    )


@migration
async def m020_approvals(db: aiosqlite.Connection) -> None:
    """Actions awaiting approval outlive a restart: their buttons keep working."""
    await db.execute(
        "CREATE TABLE approvals (id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
        " channel TEXT NOT NULL, thread_ts TEXT, message_ts TEXT NOT NULL,"
        " action TEXT NOT NULL, arguments TEXT NOT NULL, preview TEXT NOT NULL,"
        " expires_at REAL NOT NULL)"
    )


@migration
async def m021_job_runs(db: aiosqlite.Connection) -> None:
    """The last run of each background job, for `/ai status` and `admin stats`."""
    await db.execute(
        "CREATE TABLE job_runs (name TEXT PRIMARY KEY, every REAL NOT NULL,"
        " started_at REAL NOT NULL, seconds REAL NOT NULL, outcome TEXT NOT NULL)"
    )


@migration
async def m022_settings_changes(db: aiosqlite.Connection) -> None:
    """Each settings save or removal, numbered: every process catches up on the others'."""
    await _script(
        db,
        "CREATE TABLE settings_changes (version INTEGER PRIMARY KEY AUTOINCREMENT,"
        " scope TEXT NOT NULL, key TEXT NOT NULL, changed_at REAL NOT NULL)",
        "CREATE INDEX settings_changes_at ON settings_changes(changed_at)",
    )


# An old `user_version` → how many of today's migrations it stood for.
BEFORE_NAMES = {1: 5, 2: 6, 3: 7, 4: 13, 5: 14, 6: 15, 7: 17, 8: 18}


async def migrate(db: aiosqlite.Connection, where: str, upto: int | None = None) -> None:
    """Apply what `db` lacks of `MIGRATIONS[:upto]`, each in its own transaction."""
    wanted = MIGRATIONS[:upto]
    applied = await _applied(db, where)
    for number, step in enumerate(wanted[len(applied) :], start=len(applied) + 1):
        await db.execute("BEGIN IMMEDIATE")
        try:
            await step(db)
            await db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (step.__name__, time.time()),
            )
            await db.execute(f"PRAGMA user_version = {number}")
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        logger.debug("database migrated: %s", step.__name__)
    if len(applied) < len(wanted):
        # One line for the operator, however many steps it took.
        before = f"from schema version {len(applied)}" if applied else "new"
        logger.info("database %s, now at schema version %d", before, len(wanted))


async def _applied(db: aiosqlite.Connection, where: str) -> list[str]:
    """The names of the migrations `db` has, recording those of an old database."""
    version = int((await (await db.execute("PRAGMA user_version")).fetchone() or (0,))[0])
    known = [step.__name__ for step in MIGRATIONS]
    names_kept = await db.execute_fetchall(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    )
    if names_kept:
        rows = await db.execute_fetchall("SELECT name FROM _migrations ORDER BY rowid")
        names = [str(row[0]) for row in rows]
    elif version in BEFORE_NAMES or version == 0:
        names = known[: BEFORE_NAMES.get(version, 0)]
        await db.execute("BEGIN IMMEDIATE")
        await db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
        await db.executemany(
            "INSERT INTO _migrations (name, applied_at) VALUES (?, NULL)", [(n,) for n in names]
        )
        await db.execute(f"PRAGMA user_version = {len(names)}")
        await db.execute("COMMIT")
        version = len(names)
    else:
        names = []
    if names != known[: len(names)] or version != len(names):
        # Written by a newer version of the bot: running older code on it could misread
        # or damage what that version stored.
        raise StoreUnusable(
            f"the database at {where} has schema version {version}, newer than this "
            f"version of the bot knows ({len(known)}); run the newer version"
        )
    return names
