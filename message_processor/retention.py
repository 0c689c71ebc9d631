"""Forgetting what conversations left behind once it is older than the admin allows."""

from __future__ import annotations

import logging
import time

from storage import ThreadStore

logger = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600.0


class Retention:
    """Deletes stored turns, document text and images older than `days` (a background
    job, run at start and then daily). The database works in small batches, so answers go
    on meanwhile; after a failure, what was deleted so far stays deleted."""

    def __init__(self, threads: ThreadStore, days: int) -> None:
        self._threads = threads
        self._days = days

    async def purge(self) -> None:
        cutoff = time.time() - self._days * DAY_SECONDS
        removed = await self._threads.purge_conversations(cutoff)
        logger.info("retention: removed %d rows older than %d days", removed, self._days)
