"""Fetching pasted image links: which links, which hosts, ports and addresses, and what
is refused. The sites are real servers on 127.0.0.2, standing in for the internet."""

from __future__ import annotations

import io
import ipaddress
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.typedefs import Handler
from PIL import Image
from yarl import URL

from config import ConfigError, load_config
from message_processor.files.link_policy import (
    PRIVATE_ADDRESS,
    UNCLEAR_HOST,
    IPAddress,
    LinkPolicy,
    LinkRefused,
    interface_addresses,
    is_public_address,
    written_address,
)
from message_processor.files.links import (
    MAX_LINK_BYTES,
    NOT_AN_IMAGE,
    LinkFetcher,
    build_link_session,
    image_links,
)
from tests.internet import INTERNET, internet_stand_in

IMAGE_TYPES = frozenset({"image/png"})
WEB_PORTS = frozenset({80, 443})


@dataclass
class Site:
    url: str
    port: int
    seen: list[str] = field(default_factory=list)  # paths asked for, in order

    def policy(self, own: frozenset[IPAddress]) -> LinkPolicy:
        """Production rules, with this site's port allowed and 127.0.0.2 public."""
        return LinkPolicy(
            own_addresses=own, ports=WEB_PORTS | {self.port}, public=internet_stand_in
        )


@pytest_asyncio.fixture
async def site() -> AsyncIterator[Site]:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG")
    picture = out.getvalue()
    seen: list[str] = []

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request.path)
        return await handler(request)

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

    async def go(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application(middlewares=[count])
    app.router.add_get("/cat.png", cat)
    app.router.add_get("/page.png", page)
    app.router.add_get("/big.png", big)
    app.router.add_get("/hop/{left}", hop)
    app.router.add_get("/go.png", go)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, str(INTERNET), 0)
    await server.start()
    port = runner.addresses[0][1]
    yield Site(f"http://{INTERNET}:{port}", port, seen)
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
async def test_local_addresses_are_refused_written_or_resolved(site: Site, host: str) -> None:
    policy = LinkPolicy(own_addresses=frozenset(), ports=WEB_PORTS | {site.port})
    async with build_link_session(policy) as session:
        with pytest.raises(LinkRefused, match=PRIVATE_ADDRESS):
            await LinkFetcher(session, policy).fetch(
                f"http://{host}:{site.port}/cat.png", content_types=IMAGE_TYPES
            )


async def test_an_allowed_image_is_fetched_through_redirects(site: Site) -> None:
    policy = site.policy(interface_addresses())
    async with build_link_session(policy) as session:
        fetched = await LinkFetcher(session, policy).fetch(
            f"{site.url}/hop/2", content_types=IMAGE_TYPES
        )
    assert fetched.data.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/go.png?to=http://127.0.0.1:{port}/cat.png", PRIVATE_ADDRESS),  # checked on redirect
        ("/go.png?to=http://2130706434:{port}/cat.png", UNCLEAR_HOST),  # 127.0.0.2 in disguise
        ("/go.png?to=http://127.0.0.2:1/cat.png", "it uses port 1; links are only fetched"),
        ("/go.png?to=file:///etc/passwd", "only http and https links are fetched"),
        ("/hop/9", "redirects too many times"),
        ("/page.png", NOT_AN_IMAGE),
        ("/missing.png", NOT_AN_IMAGE),
        ("/big.png", "larger than 20 MB"),
    ],
)
async def test_what_is_refused_says_why(site: Site, path: str, reason: str) -> None:
    policy = site.policy(interface_addresses())
    async with build_link_session(policy) as session:
        with pytest.raises(LinkRefused, match=re.escape(reason)) as refused:
            await LinkFetcher(session, policy).fetch(
                site.url + path.format(port=site.port), content_types=IMAGE_TYPES
            )
    # What the site answered stays in the log: told apart, it would map ports.
    assert not re.search(r"404|html", str(refused.value))
    assert "/cat.png" not in site.seen


async def test_the_bots_own_addresses_are_refused_even_when_public(site: Site) -> None:
    policy = site.policy(frozenset({INTERNET}))
    async with build_link_session(policy) as session:
        with pytest.raises(LinkRefused, match=PRIVATE_ADDRESS):
            await LinkFetcher(session, policy).fetch(
                f"{site.url}/cat.png", content_types=IMAGE_TYPES
            )
    assert site.seen == []


def test_the_bots_own_addresses_are_its_interfaces() -> None:
    assert ipaddress.ip_address("127.0.0.1") in interface_addresses()


@pytest.mark.parametrize(
    "host",
    ["example.com", "a-b.example.co.uk", "xn--bcher-kva.de", "example.com.", "1e1", "a.0x7f"],
)
def test_names_are_names(host: str) -> None:
    assert written_address(host) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [("8.8.8.8", "8.8.8.8"), ("0.0.0.0", "0.0.0.0"), ("::ffff:7f00:1", "::ffff:127.0.0.1")],
)
def test_standard_addresses_are_addresses(host: str, address: str) -> None:
    assert written_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",  # 127.0.0.1 as one number
        "017700000001",  # ... in octal
        "0177.0.0.1",  # octal parts
        "127.1",  # two parts
        "0",
        "0x7f.1",
        "0x7f000001",  # hexadecimal
        "127.0.0.01",
        "1.2.3.4.",
        "1.2.3.256",
        "a_b.example",
        "-a.example",
        "a..example",
        "fe80::1%25eth0",  # a zone id names one of our interfaces
        "a" * 64 + ".example",
        ("a" * 60 + ".") * 5 + "com",
    ],
)
def test_every_other_host_is_refused(host: str) -> None:
    with pytest.raises(LinkRefused, match=UNCLEAR_HOST):
        written_address(host)


@pytest.mark.parametrize(
    "url",
    ["http://2130706433/x.png", "http://127.1/x.png", "http://0x7f.1/x.png", "http://0/x.png"],
)
def test_numeric_hosts_are_refused_whatever_counts_as_public(url: str) -> None:
    everything = LinkPolicy(own_addresses=frozenset(), ports=WEB_PORTS, public=lambda _: True)
    with pytest.raises(LinkRefused, match=UNCLEAR_HOST):
        everything.check_url(URL(url))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example.com/x.png", None),
        ("http://example.com:80/x.png", None),
        (
            "http://example.com:8080/x.png",
            "it uses port 8080; links are only fetched on ports 80, 443",
        ),
        ("https://example.com:22/x.png", "it uses port 22"),
        ("http://8.8.8.8/x.png", None),
        ("http://[2001:4860:4860::8888]/x.png", None),
        ("http://169.254.169.254/latest/meta-data.png", PRIVATE_ADDRESS),
        ("http://[::ffff:169.254.169.254]/x.png", PRIVATE_ADDRESS),
        ("http://9.9.9.9/x.png", PRIVATE_ADDRESS),  # one of our own, below
        ("http://[::ffff:9.9.9.9]/x.png", PRIVATE_ADDRESS),
        ("http://[64:ff9b::909:909]/x.png", PRIVATE_ADDRESS),
        ("ftp://example.com/x.png", "only http and https"),
    ],
)
def test_ports_and_addresses_written_in_links(url: str, reason: str | None) -> None:
    own = frozenset({ipaddress.ip_address("9.9.9.9")})
    policy = LinkPolicy(own_addresses=own, ports=WEB_PORTS)
    if reason is None:
        policy.check_url(URL(url))
    else:
        with pytest.raises(LinkRefused, match=re.escape(reason)):
            policy.check_url(URL(url))


def test_link_ports_are_80_and_443_unless_an_admin_lists_others() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "sk-1"}
    assert load_config(base).link_fetch_ports == {80, 443}
    assert load_config({**base, "LINK_FETCH_PORTS": "443, 8443"}).link_fetch_ports == {443, 8443}
    for bad in ("http", "0", "65536", "80;443", "9" * 5000):
        with pytest.raises(ConfigError, match="LINK_FETCH_PORTS") as error:
            load_config({**base, "LINK_FETCH_PORTS": bad})
        assert bad not in str(error.value)
