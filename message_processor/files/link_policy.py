"""Where a pasted link may lead: its scheme, how its host is written, its port, and the
addresses it reaches (OWASP's SSRF guidance, applied to the links people paste).

A host must be a DNS name or an IP address written the one standard way. The legacy
numeric forms (`2130706433`, `0177.0.0.1`, `127.1`, `0x7f.1`, `0`) are addresses to the
C library but names to some checks, and aiohttp before 3.14.1 connected to them without
asking the resolver: refusing them here keeps the check and the connection in agreement
whatever the HTTP client does. Addresses must be public and not this host's own.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

import psutil
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

PRIVATE_ADDRESS = "it points to a private or local address"
UNCLEAR_HOST = "its host is neither a plain name nor a standard IP address"
MAX_HOST_CHARS = 253
# A DNS label (RFC 1123): ASCII letters, digits and hyphens, no hyphen at either end.
# Bounded repetition: linear in the label.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# NAT64 embeds an IPv4 address in IPv6; the embedded one is what gets reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_CARRIERS = tuple(
    ipaddress.IPv6Network(network)
    for network in ("::/96", "::ffff:0:0:0/96", "2002::/16", "2001::/32", "64:ff9b:1::/48")
)


class LinkRefused(Exception):
    """The link was not fetched, or not used; the message says why, fit for a user."""


def is_public_address(address: IPAddress) -> bool:
    """Refuses loopback, private, link-local (cloud metadata), carrier-grade NAT,
    multicast and reserved ranges, in IPv4 and IPv6, including IPv4 inside IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        # Forms that carry an IPv4 address some other way (IPv4-compatible, translated,
        # 6to4, Teredo, local NAT64): no image host needs them, so none is trusted.
        if any(address in network for network in _IPV4_CARRIERS):
            return False
    return address.is_global and not address.is_multicast


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 address reaches, if it is one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def written_address(host: str) -> IPAddress | None:
    """The address a URL's host names, or None for a DNS name; LinkRefused for anything
    else. `host` is the host as aiohttp connects to it (yarl's `raw_host`: IDNA-encoded,
    brackets removed)."""
    if ":" in host:  # only a bracketed IPv6 literal puts a colon in a host
        if "%" in host:  # a zone id names one of this host's interfaces
            raise LinkRefused(UNCLEAR_HOST)
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise LinkRefused(UNCLEAR_HOST) from None
    try:
        # Four decimal parts of 0-255 in ASCII digits, no leading zeros: nothing else.
        return ipaddress.IPv4Address(host)
    except ValueError:
        pass
    name = host.removesuffix(".")  # one trailing dot: a fully qualified name
    labels = name.split(".")
    if (
        len(name) > MAX_HOST_CHARS
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # 127.1, 0, 1.2.3.4. are numbers, never names
    ):
        raise LinkRefused(UNCLEAR_HOST)
    try:
        socket.inet_aton(name)
    except OSError:
        return None
    raise LinkRefused(UNCLEAR_HOST)  # hexadecimal forms such as 0x7f000001


def interface_addresses() -> frozenset[IPAddress]:
    """Every address of this host's interfaces: loopback, private and public ones alike,
    since a link to any of them reaches the bot's own services. One getifaddrs call:
    made once at start, off the event loop."""
    found: set[IPAddress] = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(ipaddress.ip_address(entry.address.split("%")[0]))
    return frozenset(found)


@dataclass(frozen=True)
class LinkPolicy:
    """What a link may reach. `public` says which addresses are the internet (tests let
    a loopback address stand in for it); this host's own addresses never are."""

    own_addresses: frozenset[IPAddress]
    ports: frozenset[int]
    public: AddressPolicy = is_public_address

    def check_url(self, url: URL) -> None:
        """Raises LinkRefused unless the URL may be requested. A name's addresses are
        checked later, where the connection is made (`check_address`)."""
        host = url.raw_host
        if url.scheme not in ("http", "https") or not host:
            raise LinkRefused("only http and https links are fetched")
        address = written_address(host)
        if address is not None:
            self.check_address(address)
        if url.port not in self.ports:
            shown = ", ".join(str(port) for port in sorted(self.ports))
            raise LinkRefused(f"it uses port {url.port}; links are only fetched on ports {shown}")

    def check_address(self, address: IPAddress) -> None:
        reached = address
        if isinstance(address, ipaddress.IPv6Address):
            reached = embedded_ipv4(address) or address
        if address in self.own_addresses or reached in self.own_addresses:
            raise LinkRefused(PRIVATE_ADDRESS)
        if not self.public(address):
            raise LinkRefused(PRIVATE_ADDRESS)
