"""The sandbox's server refuses what another web page could send it (sandbox/guard.py).

The server is composed as `python main.py sandbox` composes it (the workspace with its
page) and every route is taken from its aiohttp router, so a route added later is covered
without touching these tests. Each hostile request is compared with the same request
without the hostile header, which the guard lets through.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from sandbox.launch import ModelChoice, running_sandbox
from sandbox.page import add_page
from sandbox.workspace import FakeSlack
from tests.fakes.browser_service import free_port

KEY = "guard-test-key"
GENERAL = "C0GENERAL"
REFUSED = "the sandbox answers only"


@dataclass(frozen=True)
class Served:
    workspace: FakeSlack
    routes: list[tuple[str, str]]  # (method, a path the route matches)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.workspace.port}"

    @property
    def cookie(self) -> str:
        return f"sandbox_key_{self.workspace.port}={KEY}"


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[Served]:
    workspace = FakeSlack(bot_token="xoxb-guard-test", app_token="xapp-guard-test")
    apps: list[web.Application] = []

    def setup(app: web.Application) -> None:
        add_page(app, workspace, key=KEY)
        apps.append(app)

    await workspace.start(setup=setup)
    routes = [
        (route.method, re.sub(r"\{[^}]*\}", "x", route.resource.canonical))
        for route in apps[0].router.routes()
        if route.resource is not None
    ]
    yield Served(workspace, routes)
    await workspace.stop()


async def status_of(
    served: Served, method: str, path: str, headers: dict[str, str]
) -> tuple[int, str]:
    """One request as the page would make it (with its key), plus `headers`."""
    sent = {"Cookie": served.cookie, **headers}
    async with (
        aiohttp.ClientSession(base_url=served.workspace.base_url) as session,
        session.request(method, path, headers=sent, allow_redirects=False) as response,
    ):
        return response.status, await response.text()


async def refusals(served: Served, hostile: dict[str, str]) -> list[str]:
    """The routes that did not refuse a request carrying `hostile`, with what they did."""
    missed = []
    for method, path in served.routes:
        allowed, _ = await status_of(served, method, path, {})
        status, text = await status_of(served, method, path, hostile)
        refused = status == 403 and (method == "HEAD" or REFUSED in text)
        if allowed == 403 or not refused:
            missed.append(f"{method} {path}: {allowed} without, {status} with {hostile}")
    return missed


async def test_every_route_of_the_workspace_and_the_page_is_listed(served: Served) -> None:
    # The enumeration itself: the workspace's own routes and the page's are all there.
    paths = {path for _, path in served.routes}
    for expected in ("/api/x", "/socket-mode", "/upload/v1/x", "/response/x", "/"):
        assert expected in paths, paths
    assert {"/files-pri/x/x", "/files-pri/x/download/x", "/sandbox/message"} <= paths


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.2:{port}", "127.0.0.1:1", "localhost"],
)
async def test_a_foreign_host_is_refused_on_every_route(served: Served, host: str) -> None:
    """DNS rebinding: a page whose own name now points at 127.0.0.1 sends that name."""
    hostile = {"Host": host.format(port=served.workspace.port)}
    assert await refusals(served, hostile) == []
    assert served.workspace.messages_in(GENERAL) == []


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",  # a sandboxed document, such as a hosted file shown on its own
        "http://localhost:{port}",  # another origin, though the same server
        "http://127.0.0.1:1",
    ],
)
async def test_a_cross_origin_request_is_refused_on_every_route(
    served: Served, origin: str
) -> None:
    hostile = {"Origin": origin.format(port=served.workspace.port)}
    assert await refusals(served, hostile) == []
    assert served.workspace.messages_in(GENERAL) == []


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_a_fetch_from_another_site_is_refused_on_every_route(
    served: Served, site: str
) -> None:
    assert await refusals(served, {"Sec-Fetch-Site": site}) == []
    assert served.workspace.messages_in(GENERAL) == []


async def test_a_cross_site_page_cannot_take_over_the_event_stream(served: Served) -> None:
    workspace = served.workspace
    headers = {"Authorization": f"Bearer {workspace.app_token}"}
    connections = workspace.connection_count
    async with aiohttp.ClientSession() as session:
        for origin in ("http://evil.example", f"http://localhost:{workspace.port}"):
            async with session.post(
                workspace.api_url + "apps.connections.open", headers=headers
            ) as opened:
                url = (await opened.json())["url"]
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url, origin=origin)
            assert refused.value.status == 403
        assert workspace.connection_count == connections
        # The bot's own Socket Mode client sends no Origin: it connects.
        async with session.post(workspace.api_url + "apps.connections.open", headers=headers) as r:
            url = (await r.json())["url"]
        async with session.ws_connect(url) as socket:
            await workspace.wait_connected(connections + 1)
            await socket.close()


async def test_the_pages_own_requests_and_the_person_opening_it_pass(served: Served) -> None:
    port = served.workspace.port
    own = {"Sec-Fetch-Site": "same-origin"}
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        status, _ = await status_of(served, "GET", "/", {"Host": host, "Sec-Fetch-Site": "none"})
        assert status == 200
        page = {"Host": host, "Origin": f"http://{host}", "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession(base_url=served.workspace.base_url) as session,
            session.post(
                "/sandbox/message",
                json={"channel": GENERAL, "text": f"hello via {host}"},
                headers={"Cookie": served.cookie, **own, **page},
            ) as response,
        ):
            assert response.status == 200, await response.text()
    assert [m.text for m in served.workspace.messages_in(GENERAL)] == [
        f"hello via {name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")
    ]
    served.workspace.reset()


async def test_each_run_has_its_own_tokens_and_page_key() -> None:
    runs = []
    for _ in range(2):
        async with running_sandbox(free_port(), model=ModelChoice(None, "no key")) as sandbox:
            runs.append(sandbox)
    first, second = runs
    assert first.bot_token.startswith("xoxb-") and first.app_token.startswith("xapp-")
    assert first.bot_token != second.bot_token and first.app_token != second.app_token
    assert first.demo_model_key != second.demo_model_key
    assert "?key=" in first.page_url and first.page_url != second.page_url
