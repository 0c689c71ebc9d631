"""The operator's HTTP endpoints on METRICS_PORT: `/metrics` for Prometheus, `/healthz`
(the process and its event loop are alive: this very loop serves the answer) and
`/readyz` (the bot takes messages: connected to Slack, database open, not draining).

Health answers 200 or 503 with one line of plain text, for PM2, systemd or an
orchestrator's probe. The server runs on the bot's own loop, so a loop that is stuck
answers nothing at all, which is what a liveness probe is for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from operations.metrics import Metrics

logger = logging.getLogger(__name__)

# Why the bot does not take messages now, or None when it does.
Readiness = Callable[[], Awaitable[str | None]]


def health_app(metrics: Metrics, readiness: Readiness) -> web.Application:
    app = web.Application()
    add_health_routes(app, metrics, readiness)
    return app


def add_health_routes(app: web.Application, metrics: Metrics, readiness: Readiness) -> None:
    """/metrics, /healthz and /readyz on `app`: their own server's, or HTTP mode's when
    METRICS_PORT is its PORT."""

    async def scrape(request: web.Request) -> web.Response:
        # Bounded labels keep this small (a few hundred series): no need to leave the loop.
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def alive(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def ready(request: web.Request) -> web.Response:
        why_not = await readiness()
        if why_not is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"not ready: {why_not}\n")

    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", alive)
    app.router.add_get("/readyz", ready)


@contextlib.asynccontextmanager
async def serving_health(
    metrics: Metrics, readiness: Readiness, host: str, port: int
) -> AsyncIterator[None]:
    """The endpoints, for as long as the context lasts. A port that cannot be bound
    raises OSError here, before the bot takes any message."""
    # No access log: a scrape every few seconds would drown the bot's own lines.
    runner = web.AppRunner(health_app(metrics, readiness), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        logger.info("metrics and health on http://%s:%d/metrics, /healthz, /readyz", host, port)
        yield
    finally:
        await runner.cleanup()
