"""A small MCP server for the tests, written with the `mcp` SDK and served over
streamable HTTP by uvicorn on loopback.

Its tools: `lookup` (read-only, answers structured records; a blank term is refused
with an MCP error), `create_note` (changes something: every call is recorded),
`wait_forever` (answers only when the server stops; `waiting` is set once one began) and
`odd_schema` (its input schema is invalid, so a client leaves it out).
With a token, a request without `Authorization: Bearer <token>` gets HTTP 401; every
Authorization header seen is recorded either way, so a test can tell which credentials
reached which server.

    server = FakeMcpServer(token="t", port=free_port())  # the port is known before start()
    await server.start()
    ...server.url, server.notes, server.authorizations...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp_types import INVALID_PARAMS, ToolAnnotations
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send
from typing_extensions import TypedDict

from sandbox.loopback import free_port

__all__ = ["FakeMcpServer", "Note", "Record"]

# The SDK's server logs each session and each failed call at INFO: tests that run the bot
# in this process read its log, and what the fake does is not the bot's doing.
logging.getLogger("mcp.server").setLevel(logging.WARNING)

# What a handshake-era server answers a request outside any session.
MISSING_SESSION = (
    b'{"jsonrpc":"2.0","id":null,'
    b'"error":{"code":-32600,"message":"Bad Request: Missing session ID"}}'
)
# How long stop() lets connections still open end by themselves before uvicorn cuts them.
GRACEFUL_SHUTDOWN_SECONDS = 2


class Record(TypedDict):  # of typing_extensions: pydantic needs it before Python 3.12
    id: int
    name: str
    team: str
    city: str


RECORDS = [
    Record(id=1, name="Ada Lovelace", team="analytics", city="London"),
    Record(id=2, name="Alan Turing", team="research", city="Manchester"),
    Record(id=3, name="Grace Hopper", team="compilers", city="Arlington"),
]


class Note(TypedDict):
    title: str
    body: str


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: the test process keeps its own."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class FakeMcpServer:
    """The MCP endpoint is `url` (`http://127.0.0.1:<port>/mcp`); `port` None picks a free
    one now. start() and stop() may alternate: each start serves a fresh app on the same
    port, as a restarted server would. `legacy` speaks only the handshake-era protocol
    (sessions, `initialize`): a 2026-07-28 request is refused as a 2025 server refuses
    one without a session."""

    def __init__(
        self, *, token: str | None = None, port: int | None = None, legacy: bool = False
    ) -> None:
        self.token = token
        self.legacy = legacy
        self.port = port if port is not None else free_port()
        self.notes: list[Note] = []  # every create_note call, in order
        self.authorizations: list[str | None] = []  # each request's Authorization header
        self.waiting = asyncio.Event()  # set once a wait_forever call has begun
        self._stopping = asyncio.Event()
        self._server: _Uvicorn | None = None
        self._serving: asyncio.Task[None] | None = None
        self._mcp = self._build()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def _build(self) -> MCPServer:
        mcp: MCPServer = MCPServer("fake-mcp", log_level="WARNING", tools=[_odd_schema()])

        @mcp.tool(annotations=ToolAnnotations(read_only_hint=True))
        def lookup(term: str) -> list[Record]:
            """The people whose name, team or city contains `term`."""
            wanted = term.strip().lower()
            if not wanted:
                # A protocol error, as a server rejects arguments it cannot use.
                raise MCPError(INVALID_PARAMS, "`term` must not be blank")
            return [
                record
                for record in RECORDS
                if any(wanted in str(value).lower() for value in record.values())
            ]

        @mcp.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
        def create_note(title: str, body: str) -> str:
            """Save a note."""
            self.notes.append(Note(title=title, body=body))
            return f"Note {len(self.notes)} saved: {title}"

        @mcp.tool()
        async def wait_forever() -> str:
            """Never answers while the server runs."""
            self.waiting.set()
            await self._stopping.wait()
            return "the server stopped"

        return mcp

    async def start(self) -> None:
        if self._serving is not None:
            raise RuntimeError("the server is already running")
        self._stopping = asyncio.Event()
        # Bound and listening before start() returns: a client connecting while uvicorn
        # still starts up waits in the backlog instead of being refused.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        # The session manager of an app runs once: each start serves a new app.
        app = self._guarded(self._mcp.streamable_http_app(host="127.0.0.1"))
        config = uvicorn.Config(
            app,
            # uvicorn's loggers as they are (propagating, at WARNING), not its own config.
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        self._server = _Uvicorn(config)
        # uvicorn closes the socket when it shuts down.
        self._serving = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        """Stop serving; a `wait_forever` call in flight answers first."""
        server, serving = self._server, self._serving
        self._server = self._serving = None
        if server is None or serving is None:
            return
        self._stopping.set()
        server.should_exit = True
        await serving

    async def __aenter__(self) -> FakeMcpServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def _guarded(self, app: ASGIApp) -> ASGIApp:
        """`app` behind the token check, recording each request's Authorization header."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = dict(scope["headers"])
            raw = headers.get(b"authorization")
            given = raw.decode("latin-1") if raw is not None else None
            self.authorizations.append(given)
            if self.token is not None and given != f"Bearer {self.token}":
                await _answer(send, 401, b'{"error":"unauthorized"}')
                return
            version = headers.get(b"mcp-protocol-version", b"").decode("latin-1")
            if self.legacy and version in MODERN_PROTOCOL_VERSIONS:
                await _answer(send, 400, MISSING_SESSION)
                return
            await app(scope, receive, send)

        return guarded


def _odd_schema() -> Tool:
    """A tool whose input schema is no valid JSON Schema: a client must leave it out."""
    tool = Tool.from_function(lambda n: n, name="odd_schema", description="Takes a whole number.")
    schema = {"type": "object", "properties": {"n": {"type": "whole number"}}}
    return tool.model_copy(update={"parameters": schema})


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
