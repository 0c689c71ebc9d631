"""The PostgreSQL store: shared by instances on any number of hosts."""

from storage.postgres.inflight import HEARTBEAT_SECONDS, OWNER_TIMEOUT_SECONDS
from storage.postgres.store import PostgresStore

__all__ = ["HEARTBEAT_SECONDS", "OWNER_TIMEOUT_SECONDS", "PostgresStore"]
