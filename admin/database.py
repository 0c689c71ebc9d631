"""The database an admin command works on: opened as the bot opens it, never created."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import asyncclick as click

from storage import StoreUnusable
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


@contextlib.asynccontextmanager
async def opened_store(path: str) -> AsyncIterator[SQLiteStore]:
    """The store at `path`, migrated as at the bot's start; safe beside a running bot
    (WAL lets both read and write)."""
    if not await asyncio.to_thread(os.path.isfile, path):
        # Opening would create an empty database: a typo in the path would look like a
        # bot that has never answered anyone.
        raise NoDatabase(f"no database at {path} (set DATABASE_PATH or pass --database)")
    try:
        store = await SQLiteStore.open(path)
    except StoreUnusable as error:
        raise Refusal(str(error)) from None
    try:
        yield store
    finally:
        await store.close()
