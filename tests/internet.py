"""The internet, on a test machine: 127.0.0.2 stands for it.

Link tests need a site the bot may fetch from, and the only servers here are local.
Only the answer to "is this address public?" is replaced, and only for one loopback
address that no interface lists: how hosts must be written, the ports
(LINK_FETCH_PORTS), this machine's own addresses (127.0.0.1 among them) and the checks
on every redirect are the production ones.
"""

from __future__ import annotations

import ipaddress

from message_processor.files.link_policy import IPAddress

INTERNET = ipaddress.IPv4Address("127.0.0.2")


def internet_stand_in(address: IPAddress) -> bool:
    return address == INTERNET
