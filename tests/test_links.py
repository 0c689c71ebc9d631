"""Fetching pasted image links: which links, which addresses, and what is refused."""

from __future__ import annotations

import io
import ipaddress
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image

from message_processor.links import (
    MAX_LINK_BYTES,
    IPAddress,
    LinkFetcher,
    LinkRefused,
    build_link_session,
    image_links,
    is_public_address,
)

IMAGE_TYPES = frozenset({"image/png"})


def only_127_0_0_1(address: IPAddress) -> bool:
    """Stands in for "the public internet" on a machine whose only servers are local."""
    return address == ipaddress.ip_address("127.0.0.1")


@pytest_asyncio.fixture
async def site() -> AsyncIterator[str]:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG")
    picture = out.getvalue()

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        for _ in range(MAX_LINK_BYTES // 2**20 + 2):
            await response.write(b"\0" * 2**20)
        return response

    async def hop(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        raise web.HTTPFound(f"/hop/{left - 1}" if left else "/cat.png")

    async def cat(request: web.Request) -> web.Response:
        return web.Response(body=picture, content_type="image/png")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>", content_type="text/html")

    async def elsewhere(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.2:{request.url.port}/cat.png")

    app = web.Application()
    app.router.add_get("/cat.png", cat)
    app.router.add_get("/page.png", page)
    app.router.add_get("/big.png", big)
    app.router.add_get("/hop/{left}", hop)
    app.router.add_get("/elsewhere.png", elsewhere)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def test_image_links_are_the_links_whose_path_names_an_image() -> None:
    text = (
        "see <https://example.com/a/Cat.PNG|the cat>, <https://example.com/page> and "
        "<https://example.com/x.jpg?size=big&amp;v=2> and again <https://example.com/a/Cat.PNG>"
    )
    assert image_links(text) == [
        "https://example.com/a/Cat.PNG",
        "https://example.com/x.jpg?size=big&v=2",
    ]
    assert image_links("broken <http://[::1/x.png> link") == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("100.100.100.200", False),  # a cloud's metadata, inside carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # cloud metadata over IPv6
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::ffff:0:7f00:1", False),  # IPv4-translated
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378::1", False),  # Teredo
        ("64:ff9b:1::7f00:1", False),  # local-use NAT64
    ],
)
def test_only_public_addresses_are_allowed(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


# Full-width digits and ideographic dots: aiohttp reads both as 127.0.0.1.
@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "\uff11\uff12\uff17.0.0.1", "127\u30020\u30020\u30021"],
)
async def test_local_addresses_are_refused_written_or_resolved(site: str, host: str) -> None:
    port = site.rsplit(":", 1)[1]
    async with build_link_session() as session:
        with pytest.raises(LinkRefused, match="private or local address"):
            await LinkFetcher(session).fetch(
                f"http://{host}:{port}/cat.png", content_types=IMAGE_TYPES
            )


async def test_an_allowed_image_is_fetched_through_redirects(site: str) -> None:
    async with build_link_session(only_127_0_0_1) as session:
        fetcher = LinkFetcher(session, only_127_0_0_1)
        data = await fetcher.fetch(f"{site}/hop/2", content_types=IMAGE_TYPES)
    assert data.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/elsewhere.png", "private or local address"),  # checked again on the redirect
        ("/hop/9", "redirects too many times"),
        ("/page.png", "not an image (text/html)"),
        ("/missing.png", "HTTP 404"),
        ("/big.png", "larger than 20 MB"),
    ],
)
async def test_what_is_refused_says_why(site: str, path: str, reason: str) -> None:
    async with build_link_session(only_127_0_0_1) as session:
        with pytest.raises(LinkRefused, match=re.escape(reason)):
            await LinkFetcher(session, only_127_0_0_1).fetch(
                f"{site}{path}", content_types=IMAGE_TYPES
            )
