"""The real bot (`main.run`) on a test machine where 127.0.0.2 stands for the internet.

Link tests need a site the bot may fetch from, and the only servers here are local.
Only the answer to "is this address public?" is replaced, and only for one loopback
address that no interface lists: how hosts must be written, the ports
(LINK_FETCH_PORTS), this machine's own addresses (127.0.0.1 among them) and the checks
on every redirect are the production ones. Run as a script by tests/test_link_refusals.py.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys

import main
from config import load_config
from message_processor.files.link_policy import IPAddress

INTERNET = ipaddress.IPv4Address("127.0.0.2")


def internet_stand_in(address: IPAddress) -> bool:
    return address == INTERNET


def _run() -> int:
    config = load_config(os.environ)
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return main.run_until_stopped(
        lambda shutdown: main.run(config, shutdown, public=internet_stand_in)
    )


if __name__ == "__main__":
    sys.exit(_run())
