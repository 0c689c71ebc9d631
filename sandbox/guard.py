"""The one guard in front of every route of the sandbox's server: the workspace's Web API,
Socket Mode, file host, upload and response URLs, and the page.

The server listens on loopback, but a web page the person visits can still reach it: by
posting to it (CSRF), by opening a WebSocket to it (no same-origin policy applies), or by
pointing a name of its own at 127.0.0.1 (DNS rebinding) and then reading answers as if
they were its own. So a request is served only when

* its Host is a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``) with the port it
  arrived on: a rebound page's requests carry its own name;
* its ``Origin``, when it has one, is the server's own (``http://`` + that Host). Browsers
  send Origin on every state-changing request and on WebSocket handshakes, GETs that no
  same-origin policy protects; a page of the sandbox's own origin reading it needs none;
* its ``Sec-Fetch-Site``, when it has one, is ``same-origin`` (the page's own requests) or
  ``none`` (the person opening the address). ``cross-site`` is another web site;
  ``same-site`` is refused too: for 127.0.0.1 it means another port of the same address,
  another program (a dev server, a notebook) that may show content nobody vetted.

The bot's own clients (slack-sdk's HTTP clients and its Socket Mode WebSocket) send a
loopback Host and neither header, so they pass. OWASP's CSRF cheat sheet describes the
Origin and Fetch Metadata checks.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

__all__ = ["loopback_only"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
OWN_FETCH_SITES = frozenset({"same-origin", "none"})
DEFAULT_HTTP_PORT = 80


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return web.Response(status=403, text=refusal)
    return await handler(request)


def _refusal(request: web.Request) -> str | None:
    """Why the request is refused, or None to serve it."""
    host = request.headers.get(hdrs.HOST, "").lower()
    if host not in _loopback_hosts(request):
        return "the sandbox answers only to 127.0.0.1, localhost or [::1] on its own port"
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in OWN_FETCH_SITES:
        return "the sandbox answers only to its own page, not to other sites"
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and origin != f"http://{host}":
        return "the sandbox answers only to its own page, not to other origins"
    return None


def _loopback_hosts(request: web.Request) -> frozenset[str]:
    """The Host values that name this server: a loopback name with the port the request
    came in on (none when the connection is already gone)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not sockname:
        return frozenset()
    port = int(sockname[1])
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == DEFAULT_HTTP_PORT:  # clients leave the default port out of Host
        hosts.update(LOOPBACK_NAMES)
    return frozenset(hosts)
