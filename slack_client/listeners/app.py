"""The Bolt AsyncApp: thin listeners that parse, hand off and return.

Every envelope is acknowledged: Bolt acks events itself once a listener matches, so a
listener is registered for every event type, including a catch-all that does nothing
(slack_client.listeners.event_registry: it leaves alone the types other listeners
handle, wherever it is registered). Unmatched events would go unacked and Slack would
deliver them again.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.backend import Backend
from slack_client.handover import BotIdentity, is_dm_channel
from slack_client.listeners.agent import ViewedContexts, register_agent
from slack_client.listeners.assistant import build_assistant
from slack_client.listeners.commands import register_commands
from slack_client.listeners.event_registry import EventListeners
from slack_client.listeners.events import parse_message_event
from slack_client.listeners.interactions import register_interactions
from slack_client.listeners.seal import ScopeSeal

logger = logging.getLogger(__name__)


async def fetch_identity(client: AsyncWebClient) -> BotIdentity:
    """auth.test once at start; Bolt would otherwise call it lazily on the first events."""
    result = await client.auth_test()
    enterprise = result.get("enterprise_id")
    return BotIdentity(
        user_id=str(result["user_id"]),
        bot_id=str(result["bot_id"]),
        team_id=str(result["team_id"]),
        enterprise_id=enterprise if isinstance(enterprise, str) and enterprise else None,
    )


def build_app(client: AsyncWebClient, identity: BotIdentity, backend: Backend) -> AsyncApp:
    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None,
            team_id=identity.team_id,
            bot_user_id=identity.user_id,
            bot_id=identity.bot_id,
            bot_token=client.token,
        )

    # Bolt's own client goes without the token: each event's client gets it from
    # `authorize`, and Socket Mode passes the app token itself. Given one beside
    # `authorize`, Bolt warns at every start that it is ignored.
    tokenless = copy.copy(client)
    tokenless.token = None
    app = AsyncApp(
        client=tokenless,
        authorize=authorize,
        request_verification_enabled=False,
        ignoring_self_events_enabled=False,
        logger=logging.getLogger("slack_bolt"),
    )
    assert client.token is not None, "the Web API client carries the bot token"
    seal = ScopeSeal(client.token)
    contexts = ViewedContexts()
    events = EventListeners(app)
    # First, and still only for the types no other listener takes (see event_registry).
    events.catch_all()
    app.assistant(build_assistant(backend, identity))
    register_agent(events, backend, contexts)
    register_commands(app, backend, seal, identity)
    register_interactions(app, events, backend, seal, contexts)

    async def handle(body: dict[str, Any], event: dict[str, Any], mention: bool) -> None:
        message = parse_message_event(
            event, event_id=body.get("event_id"), identity=identity, mention=mention
        )
        if message is None:
            return
        if not (message.is_dm or message.is_mention or message.is_thread_reply):
            return
        if message.is_dm and message.viewing is None:
            # Written in the Messages tab: what the person had open, as last reported.
            message = replace(message, viewing=contexts.viewing(message.user))
        await backend.submit(message)

    @events.on("app_mention")
    async def on_app_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        await handle(body, event, mention=True)

    @events.on("message")
    async def on_message_event(body: dict[str, Any], event: dict[str, Any]) -> None:
        # A channel mention also arrives as app_mention; that one is answered.
        channel, text = str(event.get("channel") or ""), str(event.get("text") or "")
        if not is_dm_channel(channel) and f"<@{identity.user_id}>" in text:
            return
        await handle(body, event, mention=False)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error("listener failed: %s event_id=%s", type(error).__name__, body.get("event_id"))

    return app
