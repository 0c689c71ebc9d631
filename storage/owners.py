"""Which process owns a row in flight, and whether that process still runs."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import psutil

# Process start times are read to the second on some platforms.
START_TIME_TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class Owner:
    """A running bot process: its host, its pid, and when it started (a pid alone may
    be reused by another process after this one dies)."""

    host: str
    pid: int
    started_at: float

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.started_at:.0f}"

    @classmethod
    def this_process(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, psutil.Process(pid).create_time())

    def is_running(self) -> bool:
        """Whether this process still runs. One on another host is taken as gone: a
        store that only this host's processes share (SQLite) cannot have one."""
        if self.host != socket.gethostname():
            return False
        try:
            started = psutil.Process(self.pid).create_time()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return False
        except psutil.AccessDenied:
            return True  # it runs, as another user
        return bool(abs(started - self.started_at) < START_TIME_TOLERANCE_SECONDS)
