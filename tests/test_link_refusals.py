"""End to end: image links that aim inside the network are refused before any request.

The real bot runs with 127.0.0.2 standing in for the internet (tests/internet.py),
where a site serves images and redirects. Canaries count every request that reaches
them: one on 127.0.0.1 (this machine, as every numeric trick below spells it), on a
port the bot may use, and one on the internet stand-in, on a port it may not.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

import pytest
from aiohttp import web
from PIL import Image

from message_processor.files.link_policy import PRIVATE_ADDRESS, UNCLEAR_HOST
from message_processor.files.links import NOT_AN_IMAGE
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.inproc import InProcessBot, bot_reaching
from tests.internet import INTERNET, Server, internet_stand_in, serve_site
from tests.seen import wait_for_text

LOOPBACK = "127.0.0.1"


async def _anything(request: web.Request) -> web.Response:
    return web.Response(body=_PICTURE, content_type="image/png")


async def _go(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


async def _page(request: web.Request) -> web.Response:
    return web.Response(text="<html>", content_type="text/html")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG")
    return out.getvalue()


_PICTURE = _png()
_CATCH_ALL = [web.get("/{path:.*}", _anything)]


@pytest.fixture(scope="module")
async def canary() -> AsyncIterator[Server]:
    """This machine's loopback, serving an image to anything that reaches it."""
    async for server in serve_site(LOOPBACK, _CATCH_ALL):
        yield server


@pytest.fixture(scope="module")
async def unlisted() -> AsyncIterator[Server]:
    """A server on the internet stand-in, on a port LINK_FETCH_PORTS does not list."""
    async for server in serve_site(str(INTERNET), _CATCH_ALL):
        yield server


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[Server]:
    routes = [
        web.get("/cat.png", _anything),
        web.get("/go.png", _go),
        web.get("/page.png", _page),
    ]
    async for server in serve_site(str(INTERNET), routes):
        yield server


@pytest.fixture(scope="module")
async def link_bot(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
    canary: Server,
    unlisted: Server,
    site: Server,
) -> AsyncIterator[InProcessBot]:
    workdir = tmp_path_factory.mktemp("link-bot")
    # The canary's port is allowed: only the host checks stand between it and a link.
    env = {"LINK_FETCH_PORTS": f"80,443,{canary.port},{site.port}"}
    async with bot_reaching(slack, model, workdir, internet_stand_in, env) as running:
        yield running


def _redirect(site: Server, target: str) -> str:
    return f"{site.url}/go.png?to={quote(target, safe='')}"


async def _ask_about(slack: FakeSlack, new_id: Callable[[str], str], link: str) -> str:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, f"what is in <{link}|this picture>?")
    return await wait_for_text(slack, dm, ts, "this picture")


async def test_an_image_on_the_internet_is_seen_directly_and_through_a_redirect(
    slack: FakeSlack, link_bot: InProcessBot, site: Server, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    direct, redirected = f"{site.url}/cat.png", _redirect(site, f"{site.url}/cat.png?again")
    text = f"compare <{direct}> and <{redirected}>"
    ts = await slack.post_user_message(dm, user, text)
    answer = await wait_for_text(slack, dm, ts, "compare")
    assert "[saw 2 image(s): 10x10 PNG, 10x10 PNG]" in answer


# Each is this machine (127.0.0.1), written so that the C library would connect to it.
HOSTILE = [
    ("2130706433", UNCLEAR_HOST),
    ("017700000001", UNCLEAR_HOST),
    ("0177.0.0.1", UNCLEAR_HOST),
    ("127.1", UNCLEAR_HOST),
    ("0x7f.1", UNCLEAR_HOST),
    ("0x7f000001", UNCLEAR_HOST),
    ("0", UNCLEAR_HOST),
    ("[::ffff:127.0.0.1]", PRIVATE_ADDRESS),
    ("127.0.0.1", PRIVATE_ADDRESS),
    ("localhost", PRIVATE_ADDRESS),
]


@pytest.mark.parametrize("redirected", [False, True], ids=["pasted", "redirected"])
@pytest.mark.parametrize(("host", "reason"), HOSTILE, ids=[host for host, _ in HOSTILE])
async def test_a_link_into_this_machine_is_refused_before_any_request(
    slack: FakeSlack,
    link_bot: InProcessBot,
    canary: Server,
    site: Server,
    new_id: Callable[[str], str],
    host: str,
    reason: str,
    redirected: bool,
) -> None:
    target = f"http://{host}:{canary.port}/x.png"
    link = _redirect(site, target) if redirected else target
    answer = await _ask_about(slack, new_id, link)
    assert f"{link}: {reason}" in answer
    assert canary.seen == []


async def test_a_port_the_admin_did_not_list_is_refused_before_any_request(
    slack: FakeSlack,
    link_bot: InProcessBot,
    unlisted: Server,
    canary: Server,
    site: Server,
    new_id: Callable[[str], str],
) -> None:
    link = f"{unlisted.url}/x.png"
    answer = await _ask_about(slack, new_id, link)
    ports = ", ".join(str(p) for p in sorted({80, 443, canary.port, site.port}))
    assert f"{link}: it uses port {unlisted.port}; links are only fetched on ports {ports}" in (
        answer
    )
    assert unlisted.seen == []


@pytest.mark.parametrize(("path", "status"), [("/page.png", "200"), ("/missing.png", "404")])
async def test_what_a_site_answered_instead_of_an_image_is_logged_not_shown(
    slack: FakeSlack,
    link_bot: InProcessBot,
    site: Server,
    new_id: Callable[[str], str],
    path: str,
    status: str,
) -> None:
    link = f"{site.url}{path}"
    answer = await _ask_about(slack, new_id, link)
    assert f"{link}: {NOT_AN_IMAGE}" in answer
    assert "404" not in answer and "html" not in answer
    await link_bot.wait_for_output(f"host={INTERNET} status={status}")
