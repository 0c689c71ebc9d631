"""Fetching the links people paste (images, web pages), without letting a link reach
inside our network.

A link is fetched with no token, within a size and a time cap, and only as the link
policy allows (`link_policy`). The address check runs where the connection is made, on
the addresses the name resolved to (so a name that resolves to 127.0.0.1, or changes its
answer between a check and the connection, is still refused), and the whole policy runs
again on every redirect. What the site answered (status, content type) is logged, never
shown: told apart, those would let a link probe which ports answer what.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from message_processor.files.link_policy import LinkPolicy, LinkRefused
from slack_client import read_at_most

logger = logging.getLogger(__name__)

LINK_TIMEOUT_SECONDS = 10.0
MAX_LINK_BYTES = 20 * 2**20
MAX_REDIRECTS = 3
NOT_AN_IMAGE = "the site did not return an image"
NOT_A_PAGE = "the site did not return a readable page"
# Slack writes links as <url> or <url|label>.
# No `<` inside a link: each match attempt stops at the next one (linear time).
_SLACK_LINK = re.compile(r"<(https?://[^|<>\s]+)(?:\|[^<>]*)?>")
IMAGE_LINK_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def may_hold_links(text: str) -> bool:
    """A cheap first look: only text with a link can link an image or a page."""
    return "<http" in text


def pasted_links(text: str) -> list[tuple[str, str]]:
    """The http(s) links of a Slack message, in order, once each, as (link, its path)."""
    found: dict[str, str] = {}  # ordered, and a set: a message may hold thousands
    for match in _SLACK_LINK.finditer(text):
        url = match.group(1).replace("&amp;", "&")
        try:
            found[url] = urlsplit(url).path
        except ValueError:
            continue  # not a link anyone could open
    return list(found.items())


def image_links(text: str) -> list[str]:
    """Links in a Slack message whose path names an image file, in order, once each."""
    return [url for url, path in pasted_links(text) if _names_image(path)]


def page_links(text: str) -> list[str]:
    """Links in a Slack message that are not image links, in order, once each. Slack's
    own (a message's permalink, a file) are not pages to fetch: without a token they
    are its sign-in page, and the conversation and files are read another way."""
    return [
        url for url, path in pasted_links(text) if not _names_image(path) and not _is_slack(url)
    ]


def _is_slack(url: str) -> bool:
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    return host == "slack.com" or host.endswith(".slack.com")


def _names_image(path: str) -> bool:
    return path.lower().endswith(IMAGE_LINK_SUFFIXES)


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    charset: str | None  # as the site named it in its Content-Type header


class GuardedResolver(AbstractResolver):
    """Resolves names, then refuses the whole name if any address it gives is not allowed."""

    def __init__(self, policy: LinkPolicy) -> None:
        self._inner = DefaultResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self._policy.check_address(ipaddress.ip_address(result["host"].split("%")[0]))
        return results

    async def close(self) -> None:
        await self._inner.close()


def build_link_session(policy: LinkPolicy) -> aiohttp.ClientSession:
    """A session of its own for links: no proxy from the environment, no cookies kept."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(policy))
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        timeout=aiohttp.ClientTimeout(total=LINK_TIMEOUT_SECONDS),
    )


class LinkFetcher:
    def __init__(self, session: aiohttp.ClientSession, policy: LinkPolicy) -> None:
        self._session = session
        self._policy = policy

    async def fetch(
        self,
        url: str,
        *,
        content_types: frozenset[str],
        max_bytes: int = MAX_LINK_BYTES,
        otherwise: str = NOT_AN_IMAGE,
    ) -> Fetched:
        """What the link answers, if it is one of `content_types` within `max_bytes`;
        LinkRefused otherwise, with `otherwise` as the reason when the site answered
        something else (an error status, another type: told apart only in the log)."""
        wanted = _Wanted(content_types, max_bytes, otherwise)
        try:
            async with asyncio.timeout(LINK_TIMEOUT_SECONDS):
                return await self._follow(url, wanted)
        except TimeoutError as error:
            raise LinkRefused(f"it took longer than {LINK_TIMEOUT_SECONDS:g} s") from error

    async def _follow(self, url: str, wanted: _Wanted) -> Fetched:
        try:
            for _ in range(MAX_REDIRECTS + 1):
                target = self._checked(url)
                async with self._session.get(target, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = urljoin(url, response.headers.get("Location", ""))
                        continue
                    return await _read(response, wanted)
        except ValueError as error:  # a redirect to something that is not a URL
            raise LinkRefused("it redirects to an invalid address") from error
        except aiohttp.ClientError as error:
            cause = error.__cause__ or error.__context__
            if isinstance(cause, LinkRefused):
                raise cause from None
            raise LinkRefused("it could not be fetched") from error
        raise LinkRefused("it redirects too many times")

    def _checked(self, url: str) -> URL:
        """The URL exactly as aiohttp will use it, once it passed the link policy.

        The host is read by yarl, as aiohttp reads it: a check on a differently parsed
        host (full-width digits, ideographic dots) could pass what then connects to
        127.0.0.1.
        """
        try:
            parsed = URL(url)
        except ValueError as error:
            raise LinkRefused("it is not a valid link") from error
        self._policy.check_url(parsed)
        return parsed


@dataclass(frozen=True)
class _Wanted:
    content_types: frozenset[str]
    max_bytes: int
    otherwise: str


async def _read(response: aiohttp.ClientResponse, wanted: _Wanted) -> Fetched:
    if response.status != 200 or response.content_type not in wanted.content_types:
        logger.info(
            "link not used: host=%s status=%d content_type=%s",
            response.url.raw_host,
            response.status,
            response.content_type,
        )
        raise LinkRefused(wanted.otherwise)
    data = await read_at_most(response, wanted.max_bytes)
    if data is None:
        raise LinkRefused(f"it is larger than {wanted.max_bytes // 2**20} MB")
    return Fetched(data, response.content_type, response.charset)
