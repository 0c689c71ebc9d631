"""A consistent copy of the database, taken while the bot runs, and its check."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from storage.sqlite.files import PRIVATE_FILE


async def copy_database(source: str, target: Path) -> None:
    """`source` as of one moment, written to `target`, which must not exist.

    `VACUUM INTO` reads the database in a single read transaction: under WAL it never
    waits for the bot's writes nor makes them wait, and never starts over because of
    them. It runs on a connection of its own, so it is never inside a write batch.
    """
    await asyncio.to_thread(_create_private, target)
    try:
        async with aiosqlite.connect(source, isolation_level=None) as db:
            # Fetched, so the statement is done with: VACUUM refuses to run beside one.
            await db.execute_fetchall("PRAGMA busy_timeout=5000")
            await db.execute("VACUUM INTO ?", (str(target),))
        await asyncio.to_thread(_flush_to_disk, target)
    except BaseException:
        # Nothing half-written may pass for a backup.
        with contextlib.suppress(OSError):
            await asyncio.to_thread(target.unlink)
        raise


async def integrity(path: Path) -> str:
    """SQLite's own check of the file at `path`, read-only: "ok" when it is sound."""
    async with aiosqlite.connect(f"file:{quote(str(path))}?mode=ro", uri=True) as db:
        rows = await db.execute_fetchall("PRAGMA integrity_check")
    return "; ".join(str(row[0]) for row in rows)


def _create_private(target: Path) -> None:
    """The copy holds every conversation: private from its first byte. O_EXCL refuses an
    existing file even if one appears after the caller looked."""
    os.close(os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _flush_to_disk(target: Path) -> None:
    """A backup reported as taken survives a power cut right after."""
    descriptor = os.open(target, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
