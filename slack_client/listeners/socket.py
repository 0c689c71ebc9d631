"""Bolt's Socket Mode handler, counting what Slack delivers and what the bot acknowledges."""

from __future__ import annotations

import logging
import time

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from operations.metrics import Metrics

logger = logging.getLogger(__name__)


class CountingSocketModeHandler(AsyncSocketModeHandler):
    """The bot's front (slack_client.listeners.front) in Socket Mode."""

    unready = "not connected to Slack"
    taking = "connected to Slack"

    def __init__(self, app: AsyncApp, app_token: str, metrics: Metrics) -> None:
        super().__init__(app, app_token)
        self._metrics = metrics

    async def connect_async(self) -> None:
        await super().connect_async()  # type: ignore[no-untyped-call]

    async def close_async(self) -> None:
        await super().close_async()  # type: ignore[no-untyped-call]

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        # Bolt's own handle(), step by step: it does not say whether the ack went out.
        kind = delivery_kind(req)
        self._metrics.event_received(kind)
        started = time.time()
        response = await run_async_bolt_app(self.app, req)
        try:
            await send_async_response(client, req, response, started)
        except (aiohttp.ClientError, ConnectionError) as error:
            # The connection closed under the envelope (a refresh, a shutdown): unacked,
            # Slack sends it again, on another connection or instance.
            logger.warning("ack not sent (%s): Slack redelivers", type(error).__name__)
            return
        if response.status == 200:
            self._metrics.event_acked(kind)

    async def connected(self) -> bool:
        """Whether the Socket Mode connection is up (and answering pings)."""
        return bool(await self.client.is_connected())


def delivery_kind(req: SocketModeRequest) -> str:
    """The event's type for the Events API, the interaction's type, or "slash_commands"."""
    payload = req.payload if isinstance(req.payload, dict) else {}
    if req.type == "events_api":
        event = payload.get("event")
        kind = event.get("type") if isinstance(event, dict) else None
    elif req.type == "interactive":
        kind = payload.get("type")
    else:
        kind = req.type
    return kind if isinstance(kind, str) else "unknown"
