"""Which process owns a row in flight, and whether that process still runs.

Each process sharing a SQLite store holds an exclusive lock (flock) on a file of its own
in a folder beside the database, for as long as it runs; the kernel drops the lock when
the process ends, however it ends. Another process is gone when its file can be locked.
Unlike a pid and a start time, this holds across PID namespaces (containers sharing the
volume) and whatever the clock does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


@dataclass(frozen=True)
class Owner:
    """A running bot process. `host` and `pid` are for people reading the rows."""

    id: str
    host: str
    pid: int

    @classmethod
    def new(cls) -> Owner:
        return cls(secrets.token_hex(8), socket.gethostname(), os.getpid())


class OwnerLocks:
    """The lock files of one store's owners. Blocking calls: run them off the event loop."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._held: int | None = None
        self._held_id: str | None = None

    def hold(self, owner_id: str) -> None:
        """This process is `owner_id` until `release`."""
        if not self._folder.exists():
            self._folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
            self._folder.chmod(PRIVATE_FOLDER)
        fd = os.open(self._folder / owner_id, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._held, self._held_id = fd, owner_id

    def release(self) -> None:
        if self._held is None or self._held_id is None:
            return
        with contextlib.suppress(FileNotFoundError):
            (self._folder / self._held_id).unlink()
        os.close(self._held)
        self._held = self._held_id = None

    def running(self, owner_ids: Iterable[str]) -> set[str]:
        """Those of `owner_ids` whose process holds its lock now."""
        return {owner_id for owner_id in owner_ids if self._is_held(owner_id)}

    def forget(self, owner_ids: Iterable[str]) -> None:
        """The files of owners that are gone and whose rows were taken over."""
        for owner_id in owner_ids:
            path = self._path(owner_id)
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def _path(self, owner_id: str) -> Path | None:
        """An owner's lock file; rows an owner took over from others ("ID:adopted") go
        with its own. None for ids not of ours (rows from before owners were)."""
        name = owner_id.partition(":")[0]
        return self._folder / name if name.isalnum() else None

    def _is_held(self, owner_id: str) -> bool:
        path = self._path(owner_id)
        if path is None:
            return False
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops a lock this call took
        return False
