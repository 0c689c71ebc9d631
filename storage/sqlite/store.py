"""The embedded store: one SQLite file (WAL), shared by the processes of one host."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import aiosqlite

from storage.owners import Owner, OwnerLocks
from storage.records import StoreUnusable
from storage.sqlite.admin import SQLiteAdmin
from storage.sqlite.approvals import SQLiteApprovals
from storage.sqlite.backup import copy_database
from storage.sqlite.coordination import SingleInstance
from storage.sqlite.events import SQLiteEvents
from storage.sqlite.files import prepare_private_file, tighten_companions
from storage.sqlite.inflight import SQLiteInflight
from storage.sqlite.jobs import SQLiteJobs
from storage.sqlite.migrations import migrate
from storage.sqlite.settings import SQLitePeople, SQLiteSettings
from storage.sqlite.threads import SQLiteThreads
from storage.sqlite.usage import SQLiteFeedback, SQLiteUsage
from storage.sqlite.writer import Writer

logger = logging.getLogger(__name__)

MEMORY = ":memory:"
# Beside the database: the lock files of the processes using it (storage/owners.py).
OWNERS_FOLDER = ".owners"


class SQLiteStore:
    """Reads go straight to SQLite; writes are group-committed (see writer.py)."""

    def __init__(
        self,
        connection: aiosqlite.Connection,
        owner: Owner,
        locks: OwnerLocks | None,
        path: str = MEMORY,
    ) -> None:
        self._connection = connection
        self._path = path
        self._closed = False
        self._writer = Writer(connection, owner.id)
        self.events = SQLiteEvents(self._writer)
        self.threads = SQLiteThreads(self._writer)
        self.settings = SQLiteSettings(self._writer)
        self.usage = SQLiteUsage(self._writer)
        self.people = SQLitePeople(self._writer)
        self.feedback = SQLiteFeedback(self._writer)
        self.inflight = SQLiteInflight(self._writer, owner, locks)
        self.approvals = SQLiteApprovals(self._writer)
        self.jobs = SQLiteJobs(self._writer)
        self.admin = SQLiteAdmin(self._writer)
        self.coordination = SingleInstance()

    @classmethod
    async def open(cls, path: str, owner: Owner | None = None) -> SQLiteStore:
        """The store at `path`, migrated, with this process (or `owner`, one process
        standing in for several in tests) registered."""
        if path != MEMORY:
            try:
                await asyncio.to_thread(prepare_private_file, Path(path))
            except OSError as error:
                raise StoreUnusable(
                    f"cannot create the database at {path} ({error.strerror})"
                ) from None
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreUnusable(f"cannot open the database at {path} ({error})") from None
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA busy_timeout=5000")
            await migrate(connection, path)
            if path != MEMORY:
                await asyncio.to_thread(tighten_companions, Path(path))
            locks = None if path == MEMORY else OwnerLocks(Path(path + OWNERS_FOLDER))
            store = cls(connection, owner or Owner.new(), locks, path)
            await store.inflight.register()
        except sqlite3.Error as error:
            await connection.close()
            raise StoreUnusable(f"cannot use the database at {path} ({error})") from None
        except BaseException:
            # A Ctrl-C during start-up, say: the connection's thread would keep the
            # process from exiting.
            await connection.close()
            raise
        return store

    async def ping(self) -> None:
        if self._closed:
            raise StoreUnusable("the database is closed")
        await self._writer.exists("SELECT 1", ())

    async def backup(self, target: Path) -> str:
        """A consistent copy of the database at `target` (which must not exist), taken
        while this and other processes go on writing, and kept only if SQLite's integrity
        check of it says "ok"; the check's verdict."""
        if self._path == MEMORY:
            raise StoreUnusable("a database in memory has no file to copy")
        return await copy_database(self._path, target)

    async def close(self) -> None:
        """Closing twice is closing once."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.inflight.unregister()
        except sqlite3.Error as error:
            logger.warning("could not unregister from the database: %s", error)
        await self._writer.close()
        await self._connection.close()
