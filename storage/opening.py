"""The store the configuration names: PostgreSQL at DATABASE_URL, else SQLite at
DATABASE_PATH. Each is imported only when chosen: neither loads the other's driver."""

from __future__ import annotations

from storage.protocols import Store


async def open_store(
    database_url: str | None, database_path: str, *, instance: bool = True, pool_size: int = 10
) -> Store:
    """The store, migrated, with this process registered; StoreUnusable (one line, no
    password) when it cannot be used. `instance=False` (an operator's command): the
    process is no bot instance, and PostgreSQL does not count it among them."""
    if database_url:
        from storage.postgres import PostgresStore

        return await PostgresStore.open(database_url, register=instance, max_size=pool_size)
    from storage.sqlite import SQLiteStore

    return await SQLiteStore.open(database_path)
