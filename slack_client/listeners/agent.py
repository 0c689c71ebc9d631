"""Slack's agent messaging experience (``features.agent_view``).

The person talks to the bot in its Messages tab: opening it (``app_home_opened`` with
tab "messages") pins suggested prompts there and, the first time, greets them. Each
top-level message there starts its own thread, answered like any DM. What the person
has open beside the tab arrives as ``app_context_changed`` and on their messages
(``app_context``); it makes "summarise this" possible and the prompts follow it. Slack's
stop button on an answer arrives as ``agent_session_stopped``.

Installs still on ``assistant_view`` get none of these events and keep working through
slack_client.listeners.assistant.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.backend import PanelBackend
from slack_client.handover import AppContext
from slack_client.listeners.event_registry import EventListeners
from slack_client.listeners.events import parse_app_context
from slack_client.render.views import WELCOME, welcome_blocks
from slack_client.transport.errors import slack_error

logger = logging.getLogger(__name__)

PROMPTS_TITLE = "Try one of these:"
SUGGESTED_PROMPTS: list[dict[str, str]] = [
    {"title": "Summarise a document", "message": "Summarise the document I'm attaching."},
    {"title": "Draft a message", "message": "Help me write a short, friendly announcement."},
    {"title": "Explain some code", "message": "Explain what this code does:"},
    {"title": "Draw a picture", "message": "Draw a lighthouse at dawn in watercolour."},
]
# Slack shows at most four suggested prompts.
MAX_PROMPTS = 4
REMEMBERED_PEOPLE = 10_000


def prompts_for(viewing: AppContext | None) -> list[dict[str, str]]:
    """The suggested prompts, led by ones about what the person has open."""
    if viewing is None:
        return SUGGESTED_PROMPTS
    what = "thread" if viewing.thread_ts else "channel"
    about = [
        {"title": f"Summarise this {what}", "message": f"Summarise this {what} for me."},
        {"title": "What was decided?", "message": f"What did we decide in this {what}?"},
    ]
    return (about + SUGGESTED_PROMPTS)[:MAX_PROMPTS]


class ViewedContexts:
    """What each person last had open beside the Messages tab, and their DM with the
    bot: remembered for the most recent people only."""

    def __init__(self) -> None:
        self._viewing: OrderedDict[str, AppContext | None] = OrderedDict()
        self._dms: OrderedDict[str, str] = OrderedDict()
        # One prompt update at a time per person (with how many want it), so the last
        # one sent is about what they have open now.
        self._updating: dict[str, tuple[asyncio.Lock, int]] = {}

    def viewing(self, user: str) -> AppContext | None:
        return self._viewing.get(user)

    def dm(self, user: str) -> str | None:
        return self._dms.get(user)

    def set_viewing(self, user: str, context: AppContext | None) -> bool:
        """Remember it; True if it differs from what was remembered."""
        changed = self._viewing.get(user) != context or user not in self._viewing
        self._remember(self._viewing, user, context)
        return changed

    def set_dm(self, user: str, channel: str) -> None:
        self._remember(self._dms, user, channel)

    async def suggest(self, client: AsyncWebClient, user: str) -> None:
        """Pin prompts about what `user` has open now to their Messages tab, if known.

        Updates for one person go one at a time and each reads the context when its
        turn comes: a tab opened and a context changed at once could otherwise land in
        the wrong order and leave prompts about what they had open before."""
        lock, waiting = self._updating.get(user, (asyncio.Lock(), 0))
        self._updating[user] = (lock, waiting + 1)
        try:
            async with lock:
                channel = self.dm(user)
                if channel is not None:
                    await _suggest(client, channel, self.viewing(user))
        finally:
            lock, waiting = self._updating[user]
            if waiting == 1:
                del self._updating[user]
            else:
                self._updating[user] = (lock, waiting - 1)

    def _remember(self, store: OrderedDict[str, Any], user: str, value: object) -> None:
        store[user] = value
        store.move_to_end(user)
        while len(store) > REMEMBERED_PEOPLE:
            store.popitem(last=False)


def register_agent(events: EventListeners, backend: PanelBackend, contexts: ViewedContexts) -> None:
    @events.on("app_context_changed")
    async def on_context_changed(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = event.get("user")
        if not isinstance(user, str):
            return
        viewing = parse_app_context(event.get("context"))
        if contexts.set_viewing(user, viewing) and backend.allows(user, None):
            await contexts.suggest(client, user)

    @events.on("agent_session_stopped")
    async def on_session_stopped(event: dict[str, Any]) -> None:
        user, channel, thread_ts = event.get("user"), event.get("channel"), event.get("thread_ts")
        if isinstance(user, str) and isinstance(channel, str) and isinstance(thread_ts, str):
            await backend.stop_answer(user, channel, thread_ts)


async def messages_tab_opened(
    client: AsyncWebClient, backend: PanelBackend, contexts: ViewedContexts, event: dict[str, Any]
) -> None:
    """The person opened the Messages tab: prompts pinned there, a greeting the first time."""
    user, channel = str(event.get("user")), str(event.get("channel"))
    contexts.set_dm(user, channel)
    if not backend.allows(user, None):
        return
    await contexts.suggest(client, user)
    if await backend.first_visit(user):
        await client.chat_postMessage(
            channel=channel,
            text=WELCOME,
            blocks=welcome_blocks(),
            unfurl_links=False,
            unfurl_media=False,
        )


async def _suggest(client: AsyncWebClient, channel: str, viewing: AppContext | None) -> None:
    # No thread_ts: agent apps pin prompts to the tab (Slack drops a call naming a thread).
    try:
        await client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, title=PROMPTS_TITLE, prompts=prompts_for(viewing)
        )
    except SlackApiError as error:
        logger.info("suggested prompts not set in %s: %s", channel, slack_error(error))
