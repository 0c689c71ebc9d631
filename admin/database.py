"""The database an admin command works on: opened as the bot opens it, never created."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncclick as click

from storage import Store, StoreUnusable
from storage.opening import open_store
from storage.sqlite import SQLiteStore

EXIT_FAILED = 1
# As main.py's for a bad configuration: nothing was done.
EXIT_NO_DATABASE = 2


class Refusal(click.ClickException):
    """A command that cannot go on: one line, and status 1."""

    exit_code = EXIT_FAILED

    def show(self, file: object = None) -> None:
        click.echo(f"admin: {self.message}", err=True)


class NoDatabase(Refusal):
    exit_code = EXIT_NO_DATABASE


@dataclass(frozen=True)
class Target:
    """Where the bot keeps its data: PostgreSQL at `url` when set, else SQLite at `path`."""

    path: str
    url: str | None = None

    @property
    def shown(self) -> str:
        """How it is named to the operator: never with a password."""
        if self.url is None:
            return self.path
        from storage.postgres.database import shown

        return shown(self.url)


@contextlib.asynccontextmanager
async def opened_store(target: Target) -> AsyncIterator[Store]:
    """The store, migrated as at the bot's start; safe beside a running bot (WAL lets
    both read and write; PostgreSQL serves every instance)."""
    if target.url is None:
        await require_file(target.path)
    try:
        store = await open_store(target.url, target.path, instance=False)
    except StoreUnusable as error:
        raise Refusal(str(error)) from None
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def opened_sqlite_store(target: Target, command: str) -> AsyncIterator[SQLiteStore]:
    """The SQLite store, for what only SQLite does (a copy of its file)."""
    if target.url is not None:
        raise NoDatabase(
            f"{command} copies the SQLite file, and DATABASE_URL selects PostgreSQL:"
            " back it up with pg_dump"
        )
    await require_file(target.path)
    try:
        store = await SQLiteStore.open(target.path)
    except StoreUnusable as error:
        raise Refusal(str(error)) from None
    try:
        yield store
    finally:
        await store.close()


async def database_size(target: Target, store: Store) -> int:
    """Bytes the database takes: its file, or its share of the PostgreSQL server."""
    if target.url is not None:
        from storage.postgres import PostgresStore

        if isinstance(store, PostgresStore):
            return await store.size()
    return await asyncio.to_thread(os.path.getsize, target.path)


async def require_file(path: str) -> None:
    """NoDatabase unless a SQLite file is at `path`."""
    if not await asyncio.to_thread(os.path.isfile, path):
        # Opening would create an empty database: a typo in the path would look like a
        # bot that has never answered anyone.
        raise NoDatabase(f"no database at {path} (set DATABASE_PATH or pass --database)")
