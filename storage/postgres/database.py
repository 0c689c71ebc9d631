"""The connection pool, with every call bounded in time and writes that finish once asked.

asyncpg's `command_timeout` bounds each statement and `acquire(timeout=…)` the wait for
a connection, so a database that stops answering turns into an error, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from storage.records import StoreUnusable

# A string: asyncpg's classes are generic in its stubs only.
Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
Row = TypeVar("Row")
Result = TypeVar("Result")

# Bound on one statement, on the wait for a free connection, and on connecting.
COMMAND_TIMEOUT_SECONDS = 10.0
ACQUIRE_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 10.0
# How long closing waits for calls in progress before it cuts the connections.
CLOSE_TIMEOUT_SECONDS = 10.0


def shown(url: str) -> str:
    """`url` as it may be printed: no user, no password, no query (which may hold one)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    where = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        where += f":{port}"
    return f"{parts.scheme}://{where}{parts.path}"


def passwords_of(url: str) -> list[str]:
    """The passwords in `url` (before the host, or as `?password=`): what no line may
    show."""
    try:
        parts = urlsplit(url)
        written = [parts.password, *parse_qs(parts.query).get("password", [])]
    except ValueError:
        return []
    return [password for password in written if password]


def count(status: str) -> int:
    """Rows a statement changed, from its status ("DELETE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class Database:
    """The pool: reads as they come; writes shielded from their caller's cancellation,
    so a write once started is committed or fails as a whole (as SQLite's group commit
    does), and a cancelled caller leaves no half of what it meant to record."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool
        # Writes whose callers may be gone: held here so they run to their end.
        self._writes: set[asyncio.Future[Any]] = set()
        self._closed = False

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        if self._closed:
            raise StoreUnusable("the database is closed")
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.connection() as connection, connection.transaction():
            yield connection

    async def select(self, kind: Callable[..., Row], sql: str, *args: object) -> list[Row]:
        """Rows as `kind`, built from the columns in the order they are selected."""
        async with self.connection() as connection:
            rows = await connection.fetch(sql, *args)
        return [kind(*row) for row in rows]

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        async with self.connection() as connection:
            return await connection.fetch(sql, *args)

    async def exists(self, sql: str, *args: object) -> bool:
        async with self.connection() as connection:
            return await connection.fetchval(sql, *args) is not None

    async def write(self, sql: str, *args: object) -> int:
        """One statement, committed on its own; the number of rows it changed."""

        async def run() -> int:
            async with self.connection() as connection:
                return count(await connection.execute(sql, *args))

        return await self.finished(run())

    async def write_together(self, steps: Callable[[Connection], Awaitable[Result]]) -> Result:
        """`steps` in one transaction: all of it or none."""

        async def run() -> Result:
            async with self.transaction() as connection:
                return await steps(connection)

        return await self.finished(run())

    async def finished(self, write: Awaitable[Result]) -> Result:
        # A task of its own, shielded: cancelling the caller does not cut the write.
        task = asyncio.ensure_future(write)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    async def close(self) -> None:
        """Writes under way finish first, then the pool closes, within a bound."""
        try:
            await asyncio.wait_for(
                asyncio.gather(*self._writes, return_exceptions=True), CLOSE_TIMEOUT_SECONDS
            )
            self._closed = True
            await asyncio.wait_for(self._pool.close(), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            self._closed = True
            self._pool.terminate()
