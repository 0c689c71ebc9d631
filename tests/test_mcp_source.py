"""An MCP server as a source of tools (tool_sources/mcp.py), against the fake MCP server
written with the SDK (tests/fakes/mcp_server.py) over loopback: no mocks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sandbox.loopback import free_port
from tests.fakes.mcp_server import RECORDS, FakeMcpServer
from tool_sources import (
    ArgumentsError,
    CallFailed,
    InputRejected,
    SourceFailed,
    SourceRefused,
    SourceTimeout,
    SourceUnreachable,
    Tool,
)
from tool_sources import mcp as mcp_source
from tool_sources.mcp import McpServer

TOKEN = "docs-token-0123456789"
EVERYTHING = frozenset({"*"})
# Only against a hang: what is measured never comes near it.
HANG_GUARD_SECONDS = 30


@pytest.fixture(params=[False, True], ids=["2026", "handshake-era"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[FakeMcpServer]:
    """The fake, speaking either protocol: the 2026-07-28 one (`server/discover`, no
    session), or only the handshake-era one (sessions, closed with a DELETE)."""
    async with FakeMcpServer(token=TOKEN, legacy=request.param) as fake:
        yield fake


def source(
    server: FakeMcpServer,
    *,
    name: str = "docs",
    token: str | None = TOKEN,
    allow: frozenset[str] = EVERYTHING,
    timeout: float = 10,
) -> McpServer:
    return McpServer(name, server.url, token=token, allow=allow, timeout=timeout)


def client_tasks() -> list[str]:
    """The SDK client's tasks (anyio names a task after its function): none once an
    operation is over."""
    return [
        name for task in asyncio.all_tasks() if (name := task.get_name()).startswith("mcp.client.")
    ]


async def test_the_catalogue_has_the_allowed_tools_under_the_prefix(
    server: FakeMcpServer, caplog: pytest.LogCaptureFixture
) -> None:
    docs = source(server, allow=frozenset({"lookup", "create_note", "not_offered"}))
    assert docs.problem == "not read yet"
    assert await docs.state() == "not read yet"

    tools = await docs.tools()

    assert sorted(tools) == ["docs_create_note", "docs_lookup"]
    lookup, note = tools["docs_lookup"], tools["docs_create_note"]
    assert (lookup.source, lookup.name, lookup.read_only) == ("docs", "lookup", True)
    # Not declared read-only: it needs the asker's approval.
    assert (note.name, note.read_only) == ("create_note", False)
    assert lookup.input_schema["required"] == ["term"]
    assert "contains `term`" in lookup.description
    assert docs.problem is None
    assert docs.known_tools == tools
    assert await docs.state() == "answers, 2 tools"
    assert docs.label == "the MCP server docs"

    assert "mcp server=docs does not offer allowed tools: not_offered" in caplog.text

    everything = await source(server, name="crm").tools()
    # odd_schema is left out: its arguments could not be checked.
    assert sorted(everything) == ["crm_create_note", "crm_lookup", "crm_wait_forever"]
    assert "mcp server=crm tool odd_schema left out: its input schema is invalid" in caplog.text
    assert not everything["crm_wait_forever"].read_only  # declares nothing


async def test_a_read_only_call_answers_the_structured_records(
    server: FakeMcpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    docs = source(server)
    lookup = (await docs.tools())["docs_lookup"]

    answer = await docs.call(lookup, docs.check(lookup, {"term": "an"}))

    assert answer == {"result": [RECORDS[0], RECORDS[1]]}
    assert (docs.stats.calls, docs.stats.failures) == (1, 0)
    assert 'mcp call server=docs tool=lookup params={"term": "an"} outcome=ok' in caplog.text
    assert TOKEN not in caplog.text
    assert "Traceback" not in caplog.text


async def test_a_changing_call_runs_once(server: FakeMcpServer) -> None:
    docs = source(server)
    note = (await docs.tools())["docs_create_note"]
    arguments = docs.check(note, {"title": "Standup", "body": "Moved to 10:00"})

    assert docs.preview(note, arguments) == (
        f"tools/call create_note on {server.url}\n"
        '{\n  "title": "Standup",\n  "body": "Moved to 10:00"\n}'
    )
    answer = await docs.call(note, arguments)

    assert answer == {"result": "Note 1 saved: Standup"}
    assert server.notes == [{"title": "Standup", "body": "Moved to 10:00"}]


async def test_a_hanging_tool_is_cut_off_at_the_timeout_and_the_next_call_works(
    server: FakeMcpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    docs = source(server, timeout=1)
    tools = await docs.tools()

    async with asyncio.timeout(HANG_GUARD_SECONDS):
        with pytest.raises(SourceTimeout) as timed_out:
            await docs.call(tools["docs_wait_forever"], {})
    assert timed_out.value.seconds == 1
    assert client_tasks() == []
    assert docs.stats.failures == 1
    assert "tool=wait_forever params={} outcome=SourceTimeout" in caplog.text

    async with asyncio.timeout(HANG_GUARD_SECONDS):
        answer = await docs.call(tools["docs_lookup"], {"term": "grace"})
    assert answer == {"result": [RECORDS[2]]}
    assert "Traceback" not in caplog.text


async def test_a_cancelled_call_leaves_nothing_behind(server: FakeMcpServer) -> None:
    docs = source(server, timeout=60)
    tools = await docs.tools()
    call = asyncio.create_task(docs.call(tools["docs_wait_forever"], {}))
    await server.waiting.wait()
    assert client_tasks()  # what must not outlive the call

    call.cancel()
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        with pytest.raises(asyncio.CancelledError):
            await call

    assert client_tasks() == []
    assert await docs.call(tools["docs_lookup"], {"term": "ada"}) == {"result": [RECORDS[0]]}


async def test_a_server_down_at_start_is_read_once_it_is_up() -> None:
    server = FakeMcpServer(port=free_port())
    docs = source(server, token=None)

    with pytest.raises(SourceUnreachable) as unreachable:
        await docs.tools()
    assert str(unreachable.value) == "cannot connect (connection refused)"
    assert docs.problem == "cannot connect (connection refused)"
    assert (await docs.state()).startswith("not usable (cannot connect (connection refused))")

    async with server:
        tools = await docs.tools()
        assert sorted(tools) == ["docs_create_note", "docs_lookup", "docs_wait_forever"]
        assert docs.problem is None
        assert await docs.state() == "answers, 3 tools"

    # Down again: the catalogue read last is kept, and the reason is told.
    await docs.refresh()
    assert docs.problem == "cannot connect (connection refused)"
    assert await docs.tools() == tools
    assert "3 tools kept" in await docs.state()


@contextlib.asynccontextmanager
async def raw_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A TCP server on loopback that is no MCP server at all; its endpoint's URL."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/mcp"
    finally:
        server.close()
        await server.wait_closed()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Takes the connection and never answers, until the client goes away."""
    await reader.read()
    writer.close()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads a request, then closes the connection without an answer."""
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def test_a_server_that_never_answers_or_hangs_up_is_told() -> None:
    async with raw_server(silent) as url, asyncio.timeout(HANG_GUARD_SECONDS):
        mute = McpServer("mute", url, token=None, allow=EVERYTHING, timeout=1)
        await mute.refresh()
        assert mute.problem == "no answer within 1s"
        assert client_tasks() == []

    async with raw_server(hang_up) as url, asyncio.timeout(HANG_GUARD_SECONDS):
        rude = McpServer("rude", url, token=None, allow=EVERYTHING, timeout=10)
        await rude.refresh()
        assert rude.problem == "the connection broke (RemoteProtocolError)"


async def test_each_token_reaches_only_its_own_server() -> None:
    async with (
        FakeMcpServer(token="alpha-token") as alpha,
        FakeMcpServer(token="beta-token", legacy=True) as beta,
        FakeMcpServer() as open_server,
    ):
        for server, token in ((alpha, "alpha-token"), (beta, "beta-token"), (open_server, None)):
            reached = source(server, token=token)
            lookup = (await reached.tools())["docs_lookup"]
            await reached.call(lookup, {"term": "turing"})

    assert alpha.authorizations and set(alpha.authorizations) == {"Bearer alpha-token"}
    assert beta.authorizations and set(beta.authorizations) == {"Bearer beta-token"}
    assert open_server.authorizations and set(open_server.authorizations) == {None}


async def test_a_wrong_token_is_refused(server: FakeMcpServer) -> None:
    lookup = (await source(server).tools())["docs_lookup"]
    refused = source(server, token="not-the-token")

    with pytest.raises(SourceUnreachable) as unreachable:
        await refused.tools()
    assert str(unreachable.value) == "the server refused the bot's token (HTTP 401)"
    with pytest.raises(SourceRefused, match=r"HTTP 401"):
        await refused.call(lookup, {"term": "ada"})
    with pytest.raises(SourceRefused):
        await source(server, token=None).call(lookup, {"term": "ada"})
    assert refused.stats.last_failure == "lookup: SourceRefused"


async def test_what_the_server_rejects_or_fails_is_told(server: FakeMcpServer) -> None:
    docs = source(server)
    lookup = (await docs.tools())["docs_lookup"]

    with pytest.raises(ArgumentsError, match="`term` is required"):
        docs.check(lookup, {})
    # An MCP error response: the server's own check of the arguments.
    with pytest.raises(InputRejected) as rejected:
        await docs.call(lookup, {"term": "   "})
    assert rejected.value.problems == ["`term` must not be blank"]
    # A tool the server does not have answers as a failed call (the SDK's server says so).
    gone = Tool("docs", "gone", "docs_gone", "", {"type": "object"}, read_only=True)
    with pytest.raises(CallFailed, match="Unknown tool: gone"):
        await docs.call(gone, {})
    assert (docs.stats.calls, docs.stats.failures) == (2, 2)


async def test_the_query_of_the_url_is_neither_shown_nor_logged(
    server: FakeMcpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    docs = McpServer(
        "docs", server.url + "?key=query-secret", token=TOKEN, allow=EVERYTHING, timeout=10
    )
    note = (await docs.tools())["docs_create_note"]
    arguments = {"title": "t", "body": "b"}

    assert docs.preview(note, arguments).startswith(f"tools/call create_note on {server.url}\n")
    await docs.call(note, arguments)

    assert "query-secret" not in caplog.text
    assert TOKEN not in caplog.text
    # httpx2 logs each request with its URL, the SDK its failures with tracebacks.
    assert not [r for r in caplog.records if r.name.startswith(("httpx2", "mcp.client"))]


async def test_answers_are_bounded(server: FakeMcpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = source(server)
    note = (await docs.tools())["docs_create_note"]
    title = "x" * (300 * 1024)

    # Past what the model is given: the answer's text, cut.
    answer = await docs.call(note, {"title": title, "body": ""})
    assert isinstance(answer, str)
    assert answer.startswith('{"result": "Note 1 saved: xxx')
    assert answer.endswith("… (cut)")
    assert len(answer.encode()) < 257 * 1024

    # Past what is read of an HTTP answer at all: the call fails, and says why.
    monkeypatch.setattr(mcp_source, "MAX_HTTP_ANSWER_BYTES", 100 * 1024)
    with pytest.raises(SourceFailed, match="its answer is larger than 100 KB"):
        await docs.call(note, {"title": title, "body": ""})
    assert len(server.notes) == 2
