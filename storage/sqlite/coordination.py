"""Coordination for a store one process has to itself: everything is granted.

The process's own locks, semaphores and counters (thread_manager, message_processor/
admission) already decide for it; several instances need the PostgreSQL store.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection


class SingleInstance:
    def __init__(self) -> None:
        self._tokens = itertools.count(1)

    async def heartbeat(self) -> int:
        return 1

    async def take_lease(self, key: str, limit: int) -> str | None:
        return str(next(self._tokens))

    async def release_leases(self, tokens: Collection[str]) -> None:
        return None

    async def keep_leases(self, tokens: Collection[str]) -> None:
        return None

    async def spend(self, key: str, per_minute: int) -> float:
        return 0.0
