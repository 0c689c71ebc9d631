"""A consistent copy of the database, taken while the bot runs, checked before it is kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from storage.sqlite.files import PRIVATE_FILE


async def copy_database(source: str, target: Path) -> str:
    """`source` as of one moment, kept at `target` (which must not exist) if SQLite's
    integrity check of the copy says "ok"; the check's verdict.

    `VACUUM INTO` reads the database in a single read transaction: under WAL it never
    waits for the bot's writes nor makes them wait, and never starts over because of
    them. It runs on a connection of its own, so it is never inside a write batch. The
    copy is written beside `target` under another name and linked into place only once
    it is whole, checked and on disk: a backup cut short (a kill, a power cut) leaves
    nothing at `target` that could pass for one.
    """
    if await asyncio.to_thread(target.exists):
        raise FileExistsError(target)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    await asyncio.to_thread(_create_private, partial)
    try:
        async with aiosqlite.connect(source, isolation_level=None) as db:
            # Fetched, so the statement is done with: VACUUM refuses to run beside one.
            await db.execute_fetchall("PRAGMA busy_timeout=5000")
            await db.execute("VACUUM INTO ?", (str(partial),))
        verdict = await _integrity(partial)
        if verdict == "ok":
            await asyncio.to_thread(_keep, partial, target)
        return verdict
    finally:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(partial.unlink)


async def _integrity(path: Path) -> str:
    """SQLite's own check of the file at `path`, read-only: "ok" when it is sound."""
    async with aiosqlite.connect(f"file:{quote(str(path))}?mode=ro", uri=True) as db:
        rows = await db.execute_fetchall("PRAGMA integrity_check")
    return "; ".join(str(row[0]) for row in rows)


def _create_private(path: Path) -> None:
    """The copy holds every conversation: private from its first byte."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _keep(partial: Path, target: Path) -> None:
    """`partial`, on disk, as `target` too. A link, not a rename: it refuses a `target`
    that appeared meanwhile instead of replacing it. The folder is synced so the new
    name survives a power cut as well."""
    _sync(partial, os.O_RDONLY)
    os.link(partial, target)
    _sync(target.parent, os.O_RDONLY | os.O_DIRECTORY)


def _sync(path: Path, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
