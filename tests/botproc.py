"""Runs the real bot (`python main.py`) as a child process against the fakes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from slack_client.listeners.http import EVENTS_PATH

REPO = Path(__file__).resolve().parent.parent
MAIN = REPO / "main.py"
MODEL_SERVER = REPO / "bench" / "fake_model_server.py"

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
OPENAI_KEY = "sk-test-key"


async def start_model_server(latency: float) -> tuple[asyncio.subprocess.Process, str]:
    """The fake model server in a process of its own (bench/fake_model_server.py), and its
    base URL: its CPU must not delay the fake Slack nor be counted as the bot's."""
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(MODEL_SERVER), str(latency), stdout=asyncio.subprocess.PIPE
    )
    assert server.stdout is not None
    return server, (await server.stdout.readline()).decode().strip()


def events_url(port: int) -> str:
    """Where a bot in HTTP mode on `port` takes Slack's requests."""
    return f"http://127.0.0.1:{port}{EVENTS_PATH}"


def bot_environment(
    *, slack_api_url: str, openai_base_url: str, database_path: Path, **overrides: str
) -> dict[str, str]:
    """A clean environment: nothing from the developer's shell leaks into the bot."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONUNBUFFERED": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "OPENAI_API_KEY": OPENAI_KEY,
        "SLACK_API_URL": slack_api_url,
        "OPENAI_BASE_URL": openai_base_url,
        "OPENAI_MODEL": "gpt-4.1-mini",
        "DATABASE_PATH": str(database_path),
        "OPENAI_TIMEOUT_SECONDS": "6",
        "SHUTDOWN_DRAIN_SECONDS": "10",
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


class BotProcess:
    def __init__(
        self, env: Mapping[str, str], cwd: Path, script: Path = MAIN, args: tuple[str, ...] = ()
    ) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.script = script
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._new_output = asyncio.Condition()
        self._ended = False

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(self.script),
            *self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # A process group of its own, as a terminal gives it (see `interrupt`).
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process and self.process.stdout
        async for line in self.process.stdout:
            self.output.append(line.decode(errors="replace").rstrip())
            async with self._new_output:
                self._new_output.notify_all()
        self._ended = True
        async with self._new_output:
            self._new_output.notify_all()

    async def wait_for_output(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the process has printed `text` (AssertionError if it ends first)."""

        def printed_or_ended() -> bool:
            return text in self.log or self._ended

        async with asyncio.timeout(timeout), self._new_output:
            await self._new_output.wait_for(printed_or_ended)
        if text not in self.log:
            raise AssertionError(f"{text!r} never printed; the output:\n{self.log}")

    async def next_output(self) -> None:
        """Returns once the process prints something more (or ends)."""
        async with self._new_output:
            await self._new_output.wait()

    @property
    def log(self) -> str:
        return "\n".join(self.output)

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.process
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader:
            await self._reader
        return code

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await self.wait(timeout)

    def interrupt(self) -> None:
        """Ctrl-C in the bot's terminal: SIGINT to its whole process group."""
        assert self.process
        os.killpg(self.process.pid, signal.SIGINT)

    async def kill(self) -> None:
        assert self.process
        if self.process.returncode is None:
            self.process.kill()
        await self.wait()
