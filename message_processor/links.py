"""Fetching the image links people paste, without letting a link reach inside our network.

A link is fetched with no token, within a size and a time cap, and only from public
addresses. The address check runs where the connection is made, on the addresses the
name resolved to (so a name that resolves to 127.0.0.1, or changes its answer between a
check and the connection, is still refused), and again on every redirect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from slack_client import read_at_most

LINK_TIMEOUT_SECONDS = 10.0
MAX_LINK_BYTES = 20 * 2**20
MAX_REDIRECTS = 3
# Slack writes links as <url> or <url|label>.
# No `<` inside a link: each match attempt stops at the next one (linear time).
_SLACK_LINK = re.compile(r"<(https?://[^|<>\s]+)(?:\|[^<>]*)?>")
IMAGE_LINK_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
# NAT64 embeds an IPv4 address in IPv6; the embedded one is what gets reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_CARRIERS = tuple(
    ipaddress.IPv6Network(network)
    for network in ("::/96", "::ffff:0:0:0/96", "2002::/16", "2001::/32", "64:ff9b:1::/48")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]


class LinkRefused(Exception):
    """The link was not fetched, or not used; the message says why, fit for a user."""


def may_link_images(text: str) -> bool:
    """A cheap first look: only text with a link can link an image."""
    return "<http" in text


def image_links(text: str) -> list[str]:
    """Links in a Slack message whose path names an image file, in order, once each."""
    found: dict[str, None] = {}  # ordered, and a set: a message may hold thousands
    for match in _SLACK_LINK.finditer(text):
        url = match.group(1).replace("&amp;", "&")
        try:
            path = urlsplit(url).path
        except ValueError:
            continue  # not a link anyone could open
        if path.lower().endswith(IMAGE_LINK_SUFFIXES):
            found[url] = None
    return list(found)


def is_public_address(address: IPAddress) -> bool:
    """Refuses loopback, private, link-local (cloud metadata), carrier-grade NAT,
    multicast and reserved ranges, in IPv4 and IPv6, including IPv4 inside IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        # Forms that carry an IPv4 address some other way (IPv4-compatible, translated,
        # 6to4, Teredo, local NAT64): no image host needs them, so none is trusted.
        if any(address in network for network in _IPV4_CARRIERS):
            return False
    return address.is_global and not address.is_multicast


class GuardedResolver(AbstractResolver):
    """Resolves names, then refuses the whole name if any address it gives is not allowed."""

    def __init__(self, allowed: AddressPolicy) -> None:
        self._inner = DefaultResolver()
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not self._allowed(ipaddress.ip_address(result["host"].split("%")[0])):
                raise LinkRefused("it points to a private or local address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def build_link_session(allowed: AddressPolicy = is_public_address) -> aiohttp.ClientSession:
    """A session of its own for links: no proxy from the environment, no cookies kept."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allowed))
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        timeout=aiohttp.ClientTimeout(total=LINK_TIMEOUT_SECONDS),
    )


class LinkFetcher:
    def __init__(
        self, session: aiohttp.ClientSession, allowed: AddressPolicy = is_public_address
    ) -> None:
        self._session = session
        self._allowed = allowed

    async def fetch(self, url: str, *, content_types: frozenset[str]) -> bytes:
        try:
            async with asyncio.timeout(LINK_TIMEOUT_SECONDS):
                return await self._follow(url, content_types)
        except TimeoutError as error:
            raise LinkRefused(f"it took longer than {LINK_TIMEOUT_SECONDS:g} s") from error

    async def _follow(self, url: str, content_types: frozenset[str]) -> bytes:
        try:
            for _ in range(MAX_REDIRECTS + 1):
                target = self._checked(url)
                async with self._session.get(target, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = urljoin(url, response.headers.get("Location", ""))
                        continue
                    return await _read(response, content_types)
        except ValueError as error:  # a redirect to something that is not a URL
            raise LinkRefused("it redirects to an invalid address") from error
        except aiohttp.ClientError as error:
            cause = error.__cause__ or error.__context__
            if isinstance(cause, LinkRefused):
                raise cause from None
            raise LinkRefused("it could not be fetched") from error
        raise LinkRefused("it redirects too many times")

    def _checked(self, url: str) -> URL:
        """The URL exactly as aiohttp will use it, once its host passed the checks.

        The host is read by yarl, as aiohttp reads it: a check on a differently parsed
        host (full-width digits, ideographic dots) could pass what then connects to
        127.0.0.1.
        """
        try:
            parsed = URL(url)
        except ValueError as error:
            raise LinkRefused("it is not a valid link") from error
        host = parsed.host
        if parsed.scheme not in ("http", "https") or not host:
            raise LinkRefused("only http and https links are fetched")
        if not host.isascii():
            raise LinkRefused("its host name is not plain ASCII")
        try:
            literal = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return parsed  # a name: the resolver checks what it resolves to
        # An address written in the link never reaches the resolver.
        if not self._allowed(literal):
            raise LinkRefused("it points to a private or local address")
        return parsed


async def _read(response: aiohttp.ClientResponse, content_types: frozenset[str]) -> bytes:
    if response.status != 200:
        raise LinkRefused(f"the site answered HTTP {response.status}")
    if response.content_type not in content_types:
        raise LinkRefused(f"it is not an image ({response.content_type or 'no content type'})")
    data = await read_at_most(response, MAX_LINK_BYTES)
    if data is None:
        raise LinkRefused(f"it is larger than {MAX_LINK_BYTES // 2**20} MB")
    return data
