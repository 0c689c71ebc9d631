"""The database file and its folder, readable by the bot's user only."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def prepare_private_file(path: Path) -> None:
    """A folder the bot creates is private; one that exists already may be shared on
    purpose (a mounted volume), so it is left as it is, with a warning if others can
    read it. The file is the bot's own and is made private whatever it was.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        # mkdir's mode passes through the umask; this is the mode asked for.
        folder.chmod(PRIVATE_FOLDER)
    elif folder.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "the database folder %s is open to other users (mode %o); consider chmod 700",
            folder,
            stat.S_IMODE(folder.stat().st_mode),
        )
    # Created private before SQLite opens it: no moment when others may read it.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    path.chmod(PRIVATE_FILE)


def tighten_companions(path: Path) -> None:
    """SQLite gives the WAL and shared-memory files the database's mode, but ones left
    by an older version of the bot may be looser."""
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            companion.chmod(PRIVATE_FILE)
