"""The SQLite store: the embedded default."""

from storage.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
