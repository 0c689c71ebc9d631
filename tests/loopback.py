"""Traffic to the fakes stays on 127.0.0.1: no proxy from the environment may take it.

slack-sdk and httpx2 read HTTP(S)_PROXY themselves, and slack-sdk ignores NO_PROXY.
"""

from __future__ import annotations

import os

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def clear_proxies() -> None:
    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
