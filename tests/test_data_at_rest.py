"""What the bot keeps on disk: who may read it, for how long, and which schema it trusts."""

from __future__ import annotations

import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from storage import StoredDocument, ThreadImage, TurnRecord
from storage.sqlite import SQLiteStore
from storage.sqlite.threads import PURGE_BATCH_ROWS
from tests.botproc import BotProcess, bot_environment
from tests.conftest import running_bot
from tests.seen import wait_for_text

DAY = 24 * 3600


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_is_readable_by_the_bots_user_only(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    data = tmp_path / "data"
    async with running_bot(slack, model, tmp_path, DATABASE_PATH=str(data / "bot.db")):
        dm = new_id("D")
        ts = await slack.post_user_message(dm, new_id("U"), "remember this")
        await wait_for_text(slack, dm, ts, "remember this")
        # Looked at while the bot runs: the WAL and shared-memory files exist then.
        assert mode(data) == 0o700
        for name in ("bot.db", "bot.db-wal", "bot.db-shm"):
            assert mode(data / name) == 0o600, name


async def test_a_looser_existing_folder_is_reported_and_the_files_tightened(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    (shared / "bot.db").touch()
    (shared / "bot.db").chmod(0o644)
    async with running_bot(slack, model, tmp_path, DATABASE_PATH=str(shared / "bot.db")) as bot:
        assert mode(shared / "bot.db") == 0o600
        assert mode(shared / "bot.db-wal") == 0o600
    # An existing folder may be shared on purpose: the admin is told, once.
    assert mode(shared) == 0o755
    assert bot.log.count("database folder") == 1, bot.log


async def test_a_database_from_a_newer_version_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as newer:
        newer.execute("PRAGMA user_version = 99")
    env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        openai_base_url="http://127.0.0.1:9/v1",
        database_path=path,
    )
    process = BotProcess(env, cwd=tmp_path)
    await process.start()
    assert await process.wait() == 1
    assert len(process.output) == 1, process.log
    assert "schema version 99" in process.output[0]
    assert "newer" in process.output[0]
    with sqlite3.connect(path) as after:
        assert after.execute("PRAGMA user_version").fetchone()[0] == 99


async def seed(path: Path, old: int, recent: int) -> None:
    """`old` turns, documents and images stored 100 days ago, `recent` ones today."""
    db = await SQLiteStore.open(str(path))
    try:
        for i in range(old + recent):
            await db.threads.add_message("C1", "1.0", f"{i}.0", "user", "U1", f"turn {i}")
            turn = TurnRecord(
                documents=[StoredDocument(f"F{i}", f"{i}.0", f"doc{i}.txt", "text")],
                images=[ThreadImage(f"I{i}", f"{i}.0", "user", "a kite")],
            )
            await db.threads.record_turn("C1", "1.0", turn)
    finally:
        await db.close()
    long_ago = time.time() - 100 * DAY
    with sqlite3.connect(path) as aged:
        for table in ("messages", "documents", "thread_images"):
            aged.execute(
                f"UPDATE {table} SET created_at = ? WHERE rowid <= ?",
                (long_ago, old),
            )


def counts(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [
            db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("messages", "documents", "thread_images")
        ]


async def test_retention_removes_what_is_older_than_the_setting_at_start(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "bot.db"
    await seed(path, old=3, recent=2)
    async with running_bot(slack, model, tmp_path, RETENTION_DAYS="30") as bot:
        await bot.wait_for_output("retention: removed 9 rows older than 30 days")
    assert counts(path) == [2, 2, 2]


async def test_retention_zero_keeps_everything(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    path = tmp_path / "bot.db"
    await seed(path, old=3, recent=0)
    async with running_bot(slack, model, tmp_path, RETENTION_DAYS="0") as bot:
        dm = new_id("D")
        ts = await slack.post_user_message(dm, new_id("U"), "still here")
        await wait_for_text(slack, dm, ts, "still here")
    assert "retention" not in bot.log
    assert counts(path)[1:] == [3, 3]


async def test_retention_deletes_in_batches_and_keeps_recent_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await seed(path, old=PURGE_BATCH_ROWS * 2 + 7, recent=5)
    db = await SQLiteStore.open(str(path))
    try:
        removed = await db.threads.purge_conversations(time.time() - 90 * DAY)
    finally:
        await db.close()
    assert removed == 3 * (PURGE_BATCH_ROWS * 2 + 7)
    assert counts(path) == [5, 5, 5]
