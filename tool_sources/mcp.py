"""One MCP server as a source of the model's tools, over streamable HTTP with the
official `mcp` SDK (either protocol era: `Client(mode="auto")` asks `server/discover` and
falls back to the `initialize` handshake).

Each operation (reading the catalogue, one call) opens its own connection: a fresh
httpx2 client and MCP session, negotiated, used and closed within the operation's time
bound. Nothing is kept between operations, so a server that restarts or forgets its
sessions is simply reached anew by the next one, no background task holds a stream open
between calls, and an operation cut off by its bound leaves nothing behind. The price
is a handshake per operation, and on a call the SDK lists the tools once more to check
a structured answer against the tool's output schema: small beside a model's turn.

The bearer token goes to this server only: it is a default header of this server's own
httpx2 client, which takes no proxy from the environment, and the SDK follows a redirect
only when it stays on the endpoint's origin and keeps the method
(`mcp.shared._httpx_utils.stream_within_origin`: same scheme, host and port, or http to
https on the same host), whatever the client's `follow_redirects` says. The URL's query
and userinfo (where a key may be) are never logged or shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
import mcp_types
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types import (
    CONNECTION_CLOSED,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    AudioContent,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
)
from pydantic import ValidationError

from tool_sources.arguments import check_arguments, schema_problem
from tool_sources.errors import (
    CallFailed,
    InputRejected,
    SourceFailed,
    SourceRefused,
    SourceTimeout,
    SourceUnreachable,
    ToolSourceError,
    UnknownTool,
)
from tool_sources.tool import CallStats, Tool, WaitNotice, loggable_arguments, model_tool_name

__all__ = ["McpServer"]

logger = logging.getLogger(__name__)

# httpx2 logs every request at INFO with its whole URL (a query may carry a key), and
# the SDK logs failures it also raises, some with a traceback: each failure reaches us
# as an exception and is logged once, in one line, below.
logging.getLogger("httpx2").setLevel(logging.WARNING)
logging.getLogger("httpcore2").setLevel(logging.WARNING)
logging.getLogger("mcp.client").setLevel(logging.CRITICAL)
logging.getLogger("mcp.shared").setLevel(logging.CRITICAL)

NOT_READ = "not read yet"
# A listing is read at most this far: a server paging without end cannot hold a refresh.
MAX_PAGES = 10
MAX_TOOLS = 200
MAX_DESCRIPTION_CHARS = 1000
# Most one HTTP answer may carry: the SDK reads a JSON answer whole, so a server that
# answers without end would otherwise fill the bot's memory.
MAX_HTTP_ANSWER_BYTES = 16 * 1024 * 1024
# What a call gives the model, and what a failure quotes of the server's words.
MAX_ANSWER_BYTES = 256 * 1024
MAX_FAILURE_CHARS = 1000
MAX_QUOTE_CHARS = 200
# What the SDK's transport says of an HTTP error whose body is not a JSON-RPC error.
_HTTP_ERROR_STAND_INS = frozenset(
    {"Server returned an error response", "Not Found", "Session terminated"}
)

_T = TypeVar("_T")


class McpServer:
    """The tools of one MCP server, reached at `url`; `allow` names the tools the admin
    lets the model use ("*": all of them)."""

    def __init__(
        self, name: str, url: str, *, token: str | None, allow: frozenset[str], timeout: float
    ) -> None:
        self._name = name
        self._url = url
        self._shown_url = _without_secrets(url)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._allow = allow
        self._timeout = timeout
        self._tools: dict[str, Tool] = {}
        self._problem: str | None = NOT_READ
        self._stats = CallStats()

    @property
    def name(self) -> str:
        return self._name

    @property
    def label(self) -> str:
        return f"the MCP server {self._name}"

    @property
    def known_tools(self) -> Mapping[str, Tool]:
        return self._tools

    @property
    def problem(self) -> str | None:
        return self._problem

    @property
    def waiting(self) -> int:
        """Always 0: every operation has a connection of its own, nothing queues."""
        return 0

    @property
    def stats(self) -> CallStats:
        return self._stats

    async def refresh(self) -> None:
        try:
            listed = await self._operate(_list_tools)
        except ToolSourceError as error:
            self._problem = str(error)
            logger.warning("mcp server=%s tools not read: %s", self._name, self._problem)
            return
        self._tools = self._catalogue(listed)
        self._problem = None
        logger.info("mcp server=%s offers %d allowed tools", self._name, len(self._tools))

    async def tools(self) -> Mapping[str, Tool]:
        if self._problem is not None:
            await self.refresh()
        if self._problem is not None and not self._tools:
            raise SourceUnreachable(self._problem)
        return self._tools

    def check(self, tool: Tool, given: Mapping[str, object]) -> dict[str, object]:
        return check_arguments(tool, given)

    def preview(self, tool: Tool, arguments: Mapping[str, object]) -> str:
        sent = json.dumps(dict(arguments), indent=2, ensure_ascii=False)
        return f"tools/call {tool.name} on {self._shown_url}\n{sent}"

    async def call(
        self, tool: Tool, arguments: Mapping[str, object], on_wait: WaitNotice | None = None
    ) -> object:
        """The tool's answer: its structured content, else its content as text (a single
        JSON text read as JSON); a ToolSourceError otherwise. `on_wait` is never told:
        nothing queues (see `waiting`)."""
        started = time.monotonic()
        outcome = "ok"
        self._stats.calls += 1
        try:
            result = await self._operate(
                lambda client: client.call_tool(tool.name, dict(arguments)), tool=tool.name
            )
            if result.is_error:
                details = _cut(_text_of(result.content), MAX_FAILURE_CHARS)
                raise CallFailed(details or "the tool reported an error without details")
            return _answer(result)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as error:
            outcome = type(error).__name__
            self._stats.failures += 1
            self._stats.last_failure = f"{tool.name}: {outcome}"
            raise
        finally:
            logger.info(
                "mcp call server=%s tool=%s params=%s outcome=%s duration=%.2fs",
                self._name,
                tool.name,
                loggable_arguments(arguments),
                outcome,
                time.monotonic() - started,
            )

    async def state(self) -> str:
        count = f"{len(self._tools)} tool{'' if len(self._tools) == 1 else 's'}"
        if self._problem is None:
            return f"answers, {count}"
        if self._problem == NOT_READ:
            return NOT_READ
        kept = f"; {count} kept from its last answer" if self._tools else ""
        return f"not usable ({self._problem}){kept}; read again when its tools are next needed"

    async def close(self) -> None:
        """Nothing to close: no connection outlives its operation."""

    async def _operate(
        self, work: Callable[[Client], Awaitable[_T]], *, tool: str | None = None
    ) -> _T:
        """`work` done on a connection of its own, within the time bound as a whole
        (connection and handshake included); what goes wrong as a ToolSourceError."""
        statuses: list[int] = []
        transport = _CappedTransport(MAX_HTTP_ANSWER_BYTES)

        async def seen(response: httpx2.Response) -> None:
            # The transport turns an HTTP error into a JSON-RPC one without its status,
            # which tells a refused token from a broken server. Only POSTs carry messages.
            if response.request.method == "POST":
                statuses.append(response.status_code)

        try:
            # anyio's bound (not asyncio.timeout) because it cancels every await until
            # left, the SDK's cleanup included (a session DELETE to a server that hangs).
            with anyio.fail_after(self._timeout):
                async with (
                    httpx2.AsyncClient(
                        headers=self._headers,
                        trust_env=False,
                        transport=transport,
                        timeout=self._timeout,
                        event_hooks={"response": [seen]},
                    ) as http,
                    Client(
                        streamable_http_client(self._url, http_client=http),
                        mode="auto",
                        # Every read goes to the server: a refresh is asked for fresh.
                        cache=None,
                    ) as client,
                ):
                    return await work(client)
        except TimeoutError:
            raise SourceTimeout(self._timeout) from None
        except Exception as error:  # noqa: BLE001 - each is worded, by its kind, below
            if transport.exceeded:
                raise SourceFailed(
                    f"its answer is larger than {_amount(transport.limit)}"
                ) from None
            raise self._failure(error, statuses[-1] if statuses else None, tool) from None

    def _failure(self, error: Exception, status: int | None, tool: str | None) -> ToolSourceError:
        """What `error` (often a group of the SDK's task groups) says, with `status`, the
        last HTTP status a message got."""
        leaves = list(_leaves(error))
        if status in (401, 403):
            return SourceRefused(f"the server refused the bot's token (HTTP {status})")
        if any(isinstance(leaf, httpx2.TimeoutException | TimeoutError) for leaf in leaves):
            return SourceTimeout(self._timeout)
        for leaf in leaves:
            if isinstance(leaf, httpx2.ConnectError | OSError):
                return SourceUnreachable(f"cannot connect ({_connect_reason(leaf)})")
        for leaf in leaves:
            # Once connected, a change asked for may have been made: it broke, not unreachable.
            if isinstance(leaf, httpx2.TransportError):
                return SourceFailed(f"the connection broke ({type(leaf).__name__})")
        if status is not None and status >= 500:
            return SourceFailed(f"the server failed (HTTP {status})")
        for leaf in leaves:
            if isinstance(leaf, MCPError):
                return _refusal(leaf, status, tool)
        first = leaves[0] if leaves else error
        if isinstance(first, ValidationError):
            return SourceFailed("its answer does not follow the MCP protocol")
        return SourceFailed(f"its answer could not be used ({type(first).__name__})")

    def _allowed(self, name: str) -> bool:
        return "*" in self._allow or name in self._allow

    def _catalogue(self, listed: list[mcp_types.Tool]) -> dict[str, Tool]:
        tools: dict[str, Tool] = {}
        names: set[str] = set()
        for offered in listed:
            if offered.name in names or (
                "*" not in self._allow and offered.name not in self._allow
            ):
                continue
            names.add(offered.name)
            why = schema_problem(offered.input_schema)
            if why is not None:
                logger.warning("mcp server=%s tool %s left out: %s", self._name, offered.name, why)
                continue
            tool_name = model_tool_name(f"{self._name}_", offered.name, tools)
            annotations = offered.annotations
            tools[tool_name] = Tool(
                source=self._name,
                name=offered.name,
                tool_name=tool_name,
                description=_shortened(offered.description or offered.title or ""),
                input_schema=offered.input_schema,
                # The spec's default: a tool not declared read-only may change things.
                read_only=annotations is not None and annotations.read_only_hint is True,
            )
        missing = sorted(self._allow - names - {"*"})
        if missing:
            logger.warning(
                "mcp server=%s does not offer allowed tools: %s", self._name, ", ".join(missing)
            )
        return tools


class _AnswerTooLarge(Exception):
    pass


class _CappedTransport(httpx2.AsyncBaseTransport):
    """httpx2's own transport, each answer cut off past `limit` bytes (`exceeded` then
    tells: the SDK may report the cut as a stream that ended without an answer)."""

    def __init__(self, limit: int) -> None:
        self._inner = httpx2.AsyncHTTPTransport(trust_env=False)
        self.limit = limit
        self.exceeded = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_CappedStream(response.stream, self),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, transport: _CappedTransport) -> None:
        self._inner = inner
        self._transport = transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._inner:
            size += len(chunk)
            if size > self._transport.limit:
                self._transport.exceeded = True
                raise _AnswerTooLarge
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _list_tools(client: Client) -> list[mcp_types.Tool]:
    listed: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        listed.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None or len(listed) >= MAX_TOOLS:
            break
    if cursor is not None or len(listed) > MAX_TOOLS:
        logger.warning("mcp tool listing cut at %d tools or %d pages", MAX_TOOLS, MAX_PAGES)
    return listed[:MAX_TOOLS]


def _refusal(error: MCPError, status: int | None, tool: str | None) -> ToolSourceError:
    """An MCP error response, as the kind of failure it is."""
    message = error.message[:MAX_QUOTE_CHARS]
    if error.code == INVALID_PARAMS:
        # The spec answers a call of a tool it does not have with invalid params too.
        if tool is not None and "unknown tool" in message.lower():
            return UnknownTool(tool)
        return InputRejected([message or "the server rejected the arguments"])
    if status is not None and status >= 400:
        said = "" if error.message in _HTTP_ERROR_STAND_INS else f" ({message})"
        return SourceFailed(f"the server answered HTTP {status}{said}")
    if error.code == METHOD_NOT_FOUND:
        return SourceFailed(f"the server does not know the method ({message})")
    if error.code == CONNECTION_CLOSED:
        return SourceFailed(f"the connection broke ({message})")
    return SourceFailed(f"the server answered an error ({message})")


def _connect_reason(error: BaseException) -> str:
    """Why a connection was not made, as an operator names it: the OS's reason under
    httpx2's error when there is one (a refusal is not a missing host)."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, socket.gaierror):
            return "host not found"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    return type(error).__name__


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _answer(result: CallToolResult) -> object:
    if result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
        fits = len(text.encode()) <= MAX_ANSWER_BYTES
        return result.structured_content if fits else _cut(text, MAX_ANSWER_BYTES)
    text = _text_of(result.content)
    only = result.content[0] if len(result.content) == 1 else None
    if isinstance(only, TextContent) and len(text.encode()) <= MAX_ANSWER_BYTES:
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return _cut(text, MAX_ANSWER_BYTES)


def _text_of(content: list[ContentBlock]) -> str:
    """The text blocks as they are, the others named in words."""
    parts: list[str] = []
    for block in content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent):
            parts.append(f"[image, {block.mime_type}]")
        elif isinstance(block, AudioContent):
            parts.append(f"[audio, {block.mime_type}]")
        elif isinstance(block, ResourceLink):
            parts.append(f"[resource: {block.uri}]")
        elif isinstance(block, EmbeddedResource):
            parts.append(f"[resource: {block.resource.uri}]")
    return "\n".join(parts)


def _cut(text: str, max_bytes: int) -> str:
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode(errors="ignore") + "… (cut)"


def _amount(size: int) -> str:
    return f"{size // 1024**2} MB" if size >= 1024**2 else f"{size // 1024} KB"


def _shortened(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_DESCRIPTION_CHARS else text[:MAX_DESCRIPTION_CHARS] + "…"


def _without_secrets(url: str) -> str:
    """`url` without userinfo, query or fragment: what may be shown and logged."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
