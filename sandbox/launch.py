"""Starting the sandbox's servers on loopback: the workspace with its page, and the
offline demo model when no model API key is set. main.py runs the bot against them.

Every secret is new each run (a web page cannot guess them): the bot and app tokens, the
demo model's key, and the page's key in the printed address."""

from __future__ import annotations

import contextlib
import errno
import secrets
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from config import holds_example
from sandbox.demo import demo_model
from sandbox.manifest import load_manifest
from sandbox.page import add_page
from sandbox.workspace import FakeSlack

HOST = "127.0.0.1"


class PortTaken(Exception):
    """The page's port is in use; the message says which and what to do."""


@dataclass(frozen=True)
class Sandbox:
    # The page's address with the run's key in it, for the person only.
    page_url: str
    slack_api_url: str
    bot_token: str
    app_token: str
    # The demo model's base URL and key; None when a real model answers.
    demo_model_url: str | None
    demo_model_key: str | None


@dataclass(frozen=True)
class ModelChoice:
    """Who answers: the configured model, which `label` names, or (`label` None) the
    offline demo model, for the reason `why` gives."""

    label: str | None
    why: str = ""


def choose_model(env: Mapping[str, str]) -> ModelChoice:
    if not env.get("OPENAI_API_KEY", "").strip():
        return ModelChoice(None, "no OPENAI_API_KEY is set")
    if holds_example(env, "OPENAI_API_KEY"):
        # Copied from .env.example and never filled in: the real API would refuse it.
        return ModelChoice(None, "OPENAI_API_KEY still holds the example value from .env.example")
    return ModelChoice(env.get("OPENAI_MODEL", "").strip() or "the configured model")


def check_port(port: int) -> None:
    """Refuse a taken port up front, with a clear message (not a traceback later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds (aiohttp sets it): connections of a sandbox just stopped,
        # still closing, do not make the port look taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortTaken(
                    f"port {port} on {HOST} is taken; choose another with --port"
                ) from None
            raise


@contextlib.asynccontextmanager
async def running_sandbox(port: int, *, model: ModelChoice) -> AsyncIterator[Sandbox]:
    """The workspace (and, if `model` says so, the demo model) until the block ends."""
    check_port(port)
    # The prefixes are what the bot's configuration checks.
    workspace = FakeSlack(bot_token=_secret("xoxb-"), app_token=_secret("xapp-"))
    # The app as its manifest declares it: Slack's agent experience.
    workspace.install(load_manifest())
    demo = demo_model(api_key=_secret("sk-sandbox-")) if model.label is None else None
    if demo is not None:
        await demo.start()
    info = {
        "model": model.label or f"the offline demo model ({model.why})",
        "listening": f"{HOST} only",
    }
    key = secrets.token_urlsafe(24)
    try:
        await workspace.start(port, setup=lambda app: add_page(app, workspace, key=key, info=info))
        yield Sandbox(
            page_url=f"http://{HOST}:{port}/?key={key}",
            slack_api_url=workspace.api_url,
            bot_token=workspace.bot_token,
            app_token=workspace.app_token,
            demo_model_url=demo.base_url if demo is not None else None,
            demo_model_key=demo.api_key if demo is not None else None,
        )
    finally:
        await workspace.stop()
        if demo is not None:
            await demo.stop()


def _secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)
