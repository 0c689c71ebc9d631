"""The internet, on a test machine: 127.0.0.2 stands for it.

Link tests need a site the bot may fetch from, and the only servers here are local.
Only the answer to "is this address public?" is replaced, and only for one loopback
address that no interface lists: how hosts must be written, the ports
(LINK_FETCH_PORTS), this machine's own addresses (127.0.0.1 among them) and the checks
on every redirect are the production ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from message_processor.files.link_policy import IPAddress

INTERNET = ipaddress.IPv4Address("127.0.0.2")


def internet_stand_in(address: IPAddress) -> bool:
    return address == INTERNET


@dataclass
class Server:
    """A site the tests serve (on the stand-in for the internet, or this machine's
    loopback for a link that must be refused)."""

    url: str
    port: int
    seen: list[str] = field(default_factory=list)  # paths asked for, in order


async def serve_site(host: str, routes: list[web.RouteDef]) -> AsyncIterator[Server]:
    """`routes` served on `host`, each request's path kept in `seen`; for a fixture."""
    seen: list[str] = []

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request.path_qs)
        return await handler(request)

    app = web.Application(middlewares=[count])
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    port = runner.addresses[0][1]
    yield Server(f"http://{host}:{port}", port, seen)
    await runner.cleanup()
