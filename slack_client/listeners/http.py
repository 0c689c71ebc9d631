"""HTTP mode: Slack's Events API, interactivity and slash commands as HTTP requests,
for instances behind a load balancer (README "Running several instances").

Every request must carry Slack's signature of its body (`X-Slack-Signature`, made with
the signing secret) and a timestamp under five minutes old, checked here with slack-sdk's
verifier, the one Bolt's own middleware uses: Bolt's would log a refused request's
signature and body, which a stranger wrote. Verified requests go to the Bolt app, which
acks events at once and runs the pipeline after the answer, as in Socket Mode.

Slack redelivers an event it saw no 200 for within 3 s (`X-Slack-Retry-Num`). A
redelivery is handled as any delivery: the pipeline's claim on the event id (the store)
answers it once, and a first delivery that failed still gets its answer from a retry.

Until the bot serves, and while it drains, Slack's requests are answered 503: Slack, or
the load balancer, tries again, on another instance if there is one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from operations.health import Readiness, add_health_routes
from operations.metrics import Metrics

logger = logging.getLogger(__name__)

# The request URL's path, for the event subscriptions, interactivity and the command.
EVENTS_PATH = "/slack/events"
# Slack's payloads are small; a bigger body is refused before it is read whole.
MAX_BODY_BYTES = 2**20
# A stop waits this long for requests in progress (each is acked within Slack's 3 s).
SHUTDOWN_SECONDS = 5.0
# A burst of deliveries must not be refused at the door (aiohttp's default is 128).
BACKLOG = 1024


class HttpFront:
    """Slack's requests on one aiohttp server, passed to the Bolt app once verified."""

    unready = "not serving Slack's requests"

    def __init__(self, app: AsyncApp, signing_secret: str, metrics: Metrics) -> None:
        self._bolt = app
        self._verifier = SignatureVerifier(signing_secret)
        self._metrics = metrics
        self._bound = False
        self._open = False
        self.taking = "serving Slack's requests"
        self.web = web.Application(client_max_size=MAX_BODY_BYTES)
        self.web.router.add_post(EVENTS_PATH, self._handle)

    def add_health(self, metrics: Metrics, readiness: Readiness) -> None:
        """Serve /metrics, /healthz and /readyz beside Slack's requests (METRICS_PORT is PORT)."""
        add_health_routes(self.web, metrics, readiness)

    @contextlib.asynccontextmanager
    async def serving(self, host: str, port: int) -> AsyncIterator[None]:
        """Listen on `host`:`port` for as long as the context lasts; Slack's requests are
        answered 503 until `connect_async`. A port that cannot be bound raises OSError."""
        runner = web.AppRunner(self.web, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        try:
            # reuse_port: instances on one host (PM2 `instances: N`) share PORT, and the
            # kernel spreads Slack's connections over them.
            await web.TCPSite(runner, host, port, backlog=BACKLOG, reuse_port=True).start()
            self._bound = True
            self.taking = f"serving Slack's requests on http://{host}:{port}{EVENTS_PATH}"
            yield
        finally:
            self._bound = False
            await runner.cleanup()

    async def connect_async(self) -> None:
        self._open = True

    async def close_async(self) -> None:
        self._open = False

    async def connected(self) -> bool:
        return self._bound and self._open

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if not self._verified(body, request.headers):
            # Nothing from the request: its body and headers are a stranger's.
            logger.warning("refused a request whose Slack signature does not verify")
            return web.Response(status=401, text="invalid request\n")
        if not self._open:
            return web.Response(status=503, text="not taking requests\n")
        bolt_request = await to_bolt_request(request)
        kind = delivery_kind(bolt_request.body)
        self._metrics.event_received(kind)
        response = await self._bolt.async_dispatch(bolt_request)
        if response.status == 200:
            self._metrics.event_acked(kind)
        return await to_aiohttp_response(response)

    def _verified(self, body: bytes, headers: Mapping[str, str]) -> bool:
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        if not (timestamp.isascii() and timestamp.isdigit()):
            return False  # the verifier would raise on it
        return self._verifier.is_valid(body, timestamp, headers.get("X-Slack-Signature", ""))


def delivery_kind(body: Mapping[str, Any]) -> str:
    """As Socket Mode counts them: the event's type, the interaction's, or "slash_commands"."""
    if "command" in body:
        return "slash_commands"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        kind = event.get("type") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else "unknown"
