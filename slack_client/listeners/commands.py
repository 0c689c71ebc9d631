"""The `/ai` slash command: acknowledged at once, answered privately through response_url."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from settings import ScopeRef
from slack_client.backend import Backend, Conversations
from slack_client.handover import BotIdentity, is_dm_channel
from slack_client.listeners.interactions import open_settings_modal
from slack_client.listeners.seal import ScopeSeal
from slack_client.render.views import (
    HELP,
    NOT_ALLOWED,
    status_text,
    usage_text,
)
from slack_client.transport.errors import loggable

logger = logging.getLogger(__name__)

COMMAND = "/ai"
RESET_DONE = "Done: your next message here starts a fresh conversation."
RESET_ONLY_IN_DM = (
    "`/ai reset` is for our DM. In a channel every thread is its own conversation: "
    "start a new thread for a fresh one."
)
CHANNEL_SETTINGS_IN_CHANNEL = (
    "Run `/ai settings channel` in the channel whose defaults you want to change."
)
ADMINS_ONLY = "Only admins of this bot can change a channel's settings."
FAILED = ":warning: That didn't work on my side. Please try again in a moment."
SUMMARIZE_USAGE = (
    "Use `/ai summarize` in a channel, or `/ai summarize #channel`, optionally with how far "
    "back to read: `3h`, `2d`, `1w` or a date such as `2026-12-01`."
)
# A channel as Slack sends it in a command (`<#C123|general>`), or its bare id.
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]{1,20})(?:\|[^>]{0,100})?>|([CG][A-Z0-9]{1,20})")
_AGO = re.compile(r"(\d{1,4})([mhdw])")
# Subcommands that call the model or another service, and are throttled per person.
SERVICE_COMMANDS = frozenset({"summarize", "summarise", "browser", "tools", "status"})
# A private answer to the person who ran the command.
Say = Callable[[str], Awaitable[None]]


def register_commands(
    app: AsyncApp, backend: Backend, seal: ScopeSeal, identity: BotIdentity
) -> None:
    @app.command(COMMAND)
    async def on_ai(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        say = _without_previews(respond)
        user, channel = str(command.get("user_id")), str(command.get("channel_id"))
        words = str(command.get("text") or "").split()
        name = words[0].lower() if words else "help"
        logger.info("/ai %s user=%s channel=%s", name, user, channel)
        try:
            if not backend.allows(user, channel):
                await say(NOT_ALLOWED)
                return
            if name in SERVICE_COMMANDS and (refusal := await backend.throttled(user)):
                await respond(refusal)
                return
            if name == "settings":
                await _settings(client, backend, seal, command, words[1:], say)
                return
            if name in ("summarize", "summarise"):
                await say(await _summarize(backend, user, channel, words[1:]))
                return
            # Slack runs an app's commands for the workspaces it is installed in; checked
            # all the same, as for messages.
            external = identity.is_foreign(command.get("team_id"))
            if name == "browser":
                rest = str(command.get("text") or "").strip()[len(words[0]) :]
                answer = await backend.browser(user, channel, rest, say, external)
                await say(answer)
                return
            if name == "tools":
                await say(await backend.tools(user, channel, external))
                return
            await say(await _reply(backend, name, user, channel, words))
        except Exception as error:  # noqa: BLE001 - one short line for the person
            logger.error("/ai %s failed user=%s: %s", name, user, loggable(error))
            await say(FAILED)


async def _reply(backend: Backend, name: str, user: str, channel: str, words: list[str]) -> str:
    if name == "usage":
        return usage_text(await backend.usage(user))
    if name == "status":
        return status_text(await backend.status())
    if name == "reset":
        if not is_dm_channel(channel):
            return RESET_ONLY_IN_DM
        await backend.reset_conversation(user, channel)
        return RESET_DONE
    if name == "help":
        return HELP
    return f"I don't know `{COMMAND} {' '.join(words)[:40]}`.\n\n{HELP}"


async def _settings(
    client: AsyncWebClient,
    backend: Backend,
    seal: ScopeSeal,
    command: dict[str, Any],
    rest: list[str],
    say: Say,
) -> None:
    user, channel = str(command.get("user_id")), str(command.get("channel_id"))
    scope = ScopeRef.user(user)
    if rest[:1] == ["channel"]:
        if is_dm_channel(channel):
            await say(CHANNEL_SETTINGS_IN_CHANNEL)
            return
        if not backend.is_admin(user):
            await say(ADMINS_ONLY)
            return
        scope = ScopeRef.channel(channel)
    await open_settings_modal(
        client, backend, seal, trigger_id=str(command.get("trigger_id")), user=user, scope=scope
    )


async def _summarize(backend: Conversations, user: str, channel: str, words: list[str]) -> str:
    """`/ai summarize [#channel] [since]`: this channel (or the one named), its latest
    messages or those since a time ago (`3h`, `2d`, `1w`) or a date (`2026-12-01`)."""
    target: str | None = None if is_dm_channel(channel) else channel
    since: float | None = None
    for word in words:
        if found := _CHANNEL.fullmatch(word):
            target = found.group(1) or found.group(2)
        elif (moment := parse_since(word, time.time())) is not None:
            since = moment
        else:
            return SUMMARIZE_USAGE
    if target is None:
        return SUMMARIZE_USAGE
    return await backend.summarize(user, target, None, since)


def parse_since(word: str, now: float) -> float | None:
    """A time ago (`90m`, `3h`, `2d`, `1w`) or a UTC date (`2026-12-01`) as a timestamp."""
    if found := _AGO.fullmatch(word.lower()):
        amount, unit = int(found.group(1)), found.group(2)
        return now - amount * {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[unit]
    try:
        day = datetime.strptime(word, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day.timestamp()


def _without_previews(respond: AsyncRespond) -> Say:
    """A private answer through `respond` that never lets Slack fetch its links for a
    preview: what the bot shows (a browser-service result) must not leave that way."""

    async def say(text: str) -> None:
        await respond(text, unfurl_links=False, unfurl_media=False)

    return say
