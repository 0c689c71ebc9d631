"""A PostgreSQL server for the tests, and a database of its own for each test.

The server is TEST_DATABASE_URL's (by default the local server's `test` database). When
it cannot be reached, a throwaway server is started from the installed binaries, once
per test session (under pytest-xdist, once per worker), and stopped at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_TEST_DATABASE_URL = "postgresql://127.0.0.1:5432/test"
CONNECT_SECONDS = 5.0
# Starting a server takes a second or two; initdb a few more on a slow disk.
START_SECONDS = 60.0
# The unprivileged user a throwaway server runs as when the tests run as root.
SERVER_USER = "postgres"

_names = itertools.count(1)


def test_database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "").strip() or DEFAULT_TEST_DATABASE_URL


def with_database(url: str, name: str) -> str:
    """`url`, naming the database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def reachable(url: str) -> str | None:
    """None when a connection to `url` works; why not otherwise (no password in it)."""
    try:
        connection = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return type(error).__name__
    await connection.close()
    return None


@dataclass
class Server:
    """A running server: `url` reaches its maintenance database."""

    url: str
    # For a throwaway server this session started (and stops): its folder, and the
    # folder of the binaries that run it.
    data: Path | None = None
    binaries: str = ""

    async def stop(self) -> None:
        if self.data is None:
            return
        pg_ctl = f"{self.binaries}/pg_ctl"
        await _run(_as_server_user(pg_ctl, "-D", str(self.data / "db"), "-m", "immediate", "stop"))
        await asyncio.to_thread(shutil.rmtree, self.data, ignore_errors=True)

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        """A new, empty database on this server, dropped afterwards; its URL."""
        name = f"bot_test_{os.getpid()}_{next(_names)}_{secrets.token_hex(3)}"
        maintenance = await asyncpg.connect(self.url, timeout=CONNECT_SECONDS)
        try:
            await maintenance.execute(f'CREATE DATABASE "{name}"')
        finally:
            await maintenance.close()
        try:
            yield with_database(self.url, name)
        finally:
            maintenance = await asyncpg.connect(self.url, timeout=CONNECT_SECONDS)
            try:
                await maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await maintenance.close()


async def find_server() -> tuple[Server | None, str]:
    """TEST_DATABASE_URL's server, else a throwaway one; with None, why neither works."""
    url = test_database_url()
    refused = await reachable(url)
    if refused is None:
        return Server(url), ""
    try:
        return await _throwaway_server(), ""
    except (OSError, RuntimeError, TimeoutError) as error:
        return None, (
            f"no PostgreSQL for the tests: TEST_DATABASE_URL ({_shown(url)}) cannot be "
            f"reached ({refused}), and no throwaway server could be started ({error})"
        )


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 5432}{parts.path}"


async def _throwaway_server() -> Server:
    # The newest installed version.
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version)
    if not binaries:
        raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
    data = await asyncio.to_thread(_server_folder)
    port = _free_port()
    try:
        await _run(
            _as_server_user(
                f"{binaries[-1]}/initdb", "-D", str(data / "db"), "-A", "trust", "-U", "root"
            ),
        )
        await _run(
            _as_server_user(
                f"{binaries[-1]}/pg_ctl",
                "-D",
                str(data / "db"),
                "-w",
                "-l",
                str(data / "log"),
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ),
        )
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, data, ignore_errors=True)
        raise
    return Server(f"postgresql://root@127.0.0.1:{port}/postgres", data, binaries[-1])


def _server_folder() -> Path:
    """A folder the server's user owns, for its data, socket and log."""
    data = Path(tempfile.mkdtemp(prefix="bot-test-pg-"))
    data.chmod(0o755)
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root.
        shutil.chown(data, SERVER_USER, SERVER_USER)
    return data


def _version(folder: str) -> int:
    number = Path(folder).parent.name
    return int(number) if number.isdigit() else 0


def _as_server_user(*command: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return list(command)


async def _run(command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), START_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        last = out.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        program = next(Path(part).name for part in command if part.startswith("/"))
        raise RuntimeError(f"{program}: {last[0]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
