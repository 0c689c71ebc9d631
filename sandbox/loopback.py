"""An aiohttp server on loopback for a fake service: start, stop, address, and waiting on
its state. What the fake Slack, the fake model server and the fake browser service share.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

__all__ = ["LoopbackServer", "free_port"]

# How long stop() lets aiohttp close connections once the requests in flight are cut off.
SHUTDOWN_TIMEOUT_SECONDS = 1.0


class LoopbackServer:
    """One aiohttp Application served on ``host:port`` (127.0.0.1, any free port by default).

    The port can be chosen before the server starts (:meth:`reserve_port`) and kept across a
    stop (``stop(keep_port=True)``), so a client can be pointed at a service that is not up
    yet, or that is down for a while and comes back where it was.

    Requests still in flight at :meth:`stop` are cut off (their handlers cancelled), so a
    fake that holds requests open or sleeps in a latency never holds up its own shutdown.
    The owner calls :meth:`notify` whenever its state may have changed; :meth:`wait_for`
    waits for a predicate on those notifications, never by polling.
    """

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        # The port listened on, or reserved or kept for the next start().
        self._port: int | None = None
        self._host = "127.0.0.1"
        self._in_flight: set[asyncio.Task[object]] = set()
        # Futures of the waiters of the current round; notify() resolves them all.
        self._waiters: set[asyncio.Future[None]] = set()
        # Counts notifications: a watcher compares it with what it saw last (see wait_for).
        self.change_count = 0

    async def start(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        handler_cancellation: bool = False,
    ) -> None:
        """Serve ``app`` on ``host:port``. ``port`` None: the reserved or kept port if there
        is one, else any free port, as with 0.

        ``handler_cancellation`` cancels a handler whose client went away: a fake that
        holds requests open needs it to learn that; one that applies a request whatever
        its client does must not have it.
        """
        if self._runner is not None:
            raise RuntimeError("the server is already listening")
        if port is None:
            port = self._port or 0
        # The innermost middleware, so requests the owner's middlewares refuse are not in it.
        app.middlewares.append(self._track)
        runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=handler_cancellation,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, backlog=4096).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner, self._host = runner, host
        self._port = int(runner.addresses[0][1])

    def reserve_port(self) -> int:
        """Choose the port now (a free one, unless one is already chosen), so
        :attr:`base_url` is known before :meth:`start` listens on it."""
        if self._port is None:
            self._port = free_port()
        return self._port

    async def stop(self, *, keep_port: bool = False) -> None:
        """Cut off the requests in flight and stop listening. The port is forgotten, unless
        ``keep_port``: then the next :meth:`start` listens on it again, as a restarted
        service would."""
        runner, self._runner = self._runner, None
        if runner is not None:
            handlers = list(self._in_flight)
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await runner.cleanup()
        if not keep_port:
            self._port = None

    @property
    def is_up(self) -> bool:
        return self._runner is not None

    @property
    def has_port(self) -> bool:
        """Whether the port is known: listened on, reserved or kept."""
        return self._port is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has no port: start() it or reserve_port() first")
        return self._port

    @property
    def url_host(self) -> str:
        """Where clients reach the server: loopback when it listens on every address."""
        if self._host in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{self._host}]" if ":" in self._host else self._host

    @property
    def base_url(self) -> str:
        return f"http://{self.url_host}:{self.port}"

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return len(self._in_flight)

    @web.middleware
    async def _track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            return await handler(request)
        finally:
            self._in_flight.discard(task)

    def notify(self) -> None:
        """Wake every wait_for() to re-check its predicate: the state may have changed.

        Synchronous, so a property setter or a handler being cancelled can call it too.
        """
        self.change_count += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def expect(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float,
        what: str,
        fake: str,
        state: Callable[[], str],
    ) -> None:
        """`wait_for`, for a test: past `timeout` it fails with what was awaited and what
        the fake `state` shows instead."""
        if not await self.wait_for(predicate, timeout):
            wanted = what or getattr(predicate, "__name__", "the condition")
            raise AssertionError(f"{fake}: {wanted} not reached in {timeout:g}s; {state()}")

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds, checking it now and after each notify().

        False if ``timeout`` seconds pass first. The futures belong to the running loop,
        so one server object serves waiters of successive event loops.
        """
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    waiter = loop.create_future()
                    self._waiters.add(waiter)
                    try:
                        await waiter
                    finally:
                        self._waiters.discard(waiter)
        except TimeoutError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
