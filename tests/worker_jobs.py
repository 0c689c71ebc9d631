"""Jobs for the worker pool's own tests: ones that spin, allocate, crash or print."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable


class Refused(Exception):
    pass


REJECTIONS = (Refused,)


def preload() -> None:
    pass


def echo(data: bytes) -> bytes:
    print("library chatter on stdout")  # must not reach the protocol
    return data


def spin(data: bytes) -> None:
    while True:
        pass


def sleep(data: bytes) -> None:
    time.sleep(3600)


def allocate(data: bytes) -> int:
    hoard = [bytearray(2**20) for _ in range(100_000)]
    return len(hoard)


def crash(data: bytes) -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGSEGV)


def refuse(data: bytes) -> None:
    raise Refused("it is not welcome here")


def fail(data: bytes) -> None:
    raise KeyError("x")


def environment(data: bytes) -> list[str]:
    return sorted(os.environ)


def smuggle(data: bytes) -> object:
    return Refused("a class in the answer")


JOBS: dict[str, Callable[..., object]] = {
    job.__name__: job
    for job in (echo, spin, sleep, allocate, crash, refuse, fail, environment, smuggle)
}
