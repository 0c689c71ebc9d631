"""The shared store: PostgreSQL, for any number of instances on any number of hosts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import asyncpg

from storage.owners import Owner
from storage.postgres.admin import PostgresAdmin
from storage.postgres.approvals import PostgresApprovals
from storage.postgres.coordination import Connect, PostgresCoordination
from storage.postgres.database import (
    COMMAND_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    Database,
    passwords_of,
    shown,
)
from storage.postgres.events import PostgresEvents
from storage.postgres.inflight import (
    BEAT_TIMEOUT_SECONDS,
    OWNER_TIMEOUT_SECONDS,
    PostgresInflight,
)
from storage.postgres.jobs import PostgresJobs
from storage.postgres.migrations import migrate
from storage.postgres.settings import PostgresPeople, PostgresSettings
from storage.postgres.threads import PostgresThreads
from storage.postgres.usage import PostgresFeedback, PostgresUsage
from storage.records import StoreUnusable

logger = logging.getLogger(__name__)

# Connections one process keeps: several instances share the server's max_connections.
DEFAULT_POOL_SIZE = 10


class PostgresStore:
    """Each call takes a connection from the pool; decisions are made by one statement
    or under row locks, so they hold across processes and hosts."""

    def __init__(
        self, database: Database, owner: Owner, owner_timeout: float, connect: Connect
    ) -> None:
        self._database = database
        self._closed = False
        self.events = PostgresEvents(database, owner.id)
        self.threads = PostgresThreads(database)
        self.settings = PostgresSettings(database)
        self.usage = PostgresUsage(database)
        self.people = PostgresPeople(database)
        self.feedback = PostgresFeedback(database)
        self.inflight = PostgresInflight(database, owner, owner_timeout)
        self.approvals = PostgresApprovals(database)
        self.jobs = PostgresJobs(database)
        self.admin = PostgresAdmin(database)
        self.coordination = PostgresCoordination(database, connect, owner, owner_timeout)

    @classmethod
    async def open(
        cls,
        url: str,
        owner: Owner | None = None,
        *,
        max_size: int = DEFAULT_POOL_SIZE,
        owner_timeout: float = OWNER_TIMEOUT_SECONDS,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        register: bool = True,
    ) -> PostgresStore:
        """The database at `url`, migrated, with this process (or `owner`) registered.
        `owner_timeout`: how old a heartbeat may be before its process counts as gone;
        `connect_timeout`: how long connecting may take (a server that accepts and never
        answers, a firewall dropping packets).
        `register=False`: an operator's command, not a bot instance (counted by none).
        """
        where = shown(url)
        try:
            pool = await asyncio.wait_for(
                asyncpg.create_pool(
                    url,
                    min_size=1,
                    max_size=max_size,
                    command_timeout=COMMAND_TIMEOUT_SECONDS,
                    timeout=connect_timeout,
                ),
                # The pool's first connection, and the server's first answers on it.
                connect_timeout * 2,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StoreUnusable(
                f"cannot connect to the database at {where} ({_reason(error, url)})"
            ) from None
        database = Database(pool)
        try:
            async with database.connection() as connection:
                await migrate(connection, where)

            # The heartbeat's own connection, made as the pool's are.
            def connect() -> Awaitable[asyncpg.Connection]:
                return asyncpg.connect(
                    url, timeout=BEAT_TIMEOUT_SECONDS, command_timeout=BEAT_TIMEOUT_SECONDS
                )

            store = cls(database, owner or Owner.new(), owner_timeout, connect)
            if register:
                await store.inflight.register()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            await database.close()
            raise StoreUnusable(
                f"cannot use the database at {where} ({_reason(error, url)})"
            ) from None
        except BaseException:
            await database.close()
            raise
        return store

    @property
    def database(self) -> Database:
        """The pool, for copying whole tables in (admin migrate-to-postgres)."""
        return self._database

    async def size(self) -> int:
        """Bytes the database takes on its server, for an operator's overview."""
        async with self._database.connection() as connection:
            return int(await connection.fetchval("SELECT pg_database_size(current_database())"))

    async def ping(self) -> None:
        if self._closed:
            raise StoreUnusable("the database is closed")
        await self._database.exists("SELECT 1")

    async def close(self) -> None:
        """Closing twice is closing once."""
        if self._closed:
            return
        self._closed = True
        await self.coordination.close()
        try:
            await self.inflight.unregister()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            logger.warning("could not unregister from the database: %s", type(error).__name__)
        await self._database.close()


def _reason(error: BaseException, url: str) -> str:
    """Why, in a few words, with the password (should a message quote it) masked."""
    if isinstance(error, TimeoutError):
        reason = "no answer in time"
    elif isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    for password in passwords_of(url):
        reason = reason.replace(password, "***")
    return reason
