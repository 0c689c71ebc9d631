"""End to end: under PM2 the bot says it is ready once Slack has taken its connection.

PM2 starts every app, Python ones too, with a Node.js IPC channel and, with `wait_ready`
(ecosystem.config.js), waits for the message "ready" before it counts the app online.
A Node.js parent stands in for PM2 here: the same `spawn` with an IPC channel, and the
same `message` event PM2 listens to.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import MAIN, bot_environment

# Spawns the bot as PM2's fork mode does, prints each IPC message it sends, and stops
# the bot with SIGINT (what `pm2 stop` sends) at the first one.
NODE_PARENT = """
const { spawn } = require("child_process");
const [python, script] = process.argv.slice(1);
const bot = spawn(python, [script], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
bot.stderr.pipe(process.stderr);
bot.on("message", (message) => {
  console.log("message " + JSON.stringify(message));
  bot.kill("SIGINT");
});
bot.on("exit", (code) => console.log("exit " + code));
"""

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js (which PM2 runs on) is not installed"
)


async def test_the_bot_tells_pm2_it_is_ready_once_connected_to_slack(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_environment(
        slack_api_url=slack.api_url,
        openai_base_url=model.base_url,
        database_path=tmp_path / "bot.db",
    )
    connections = slack.connection_count
    parent = await asyncio.create_subprocess_exec(
        "node",
        "-e",
        NODE_PARENT,
        sys.executable,
        str(MAIN),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # The bot shares it: a failure below kills both.
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await parent.communicate()
    finally:
        if parent.returncode is None:
            os.killpg(parent.pid, signal.SIGKILL)
            await parent.wait()
    log = stderr.decode()
    assert stdout.decode().splitlines() == ['message "ready"', "exit 0"], log
    # Ready only once Slack had taken the bot's connection.
    assert slack.connection_count > connections
    assert log.index("connected to Slack") < log.index("shutting down")
    assert "Traceback" not in log
