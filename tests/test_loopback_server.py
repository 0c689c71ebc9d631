"""The loopback server base the fakes share: serving, cutting off held requests at stop,
and waiting on change notifications."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from sandbox.loopback import LoopbackServer


async def test_serves_on_loopback_and_cuts_off_held_requests_at_stop() -> None:
    server = LoopbackServer()
    held = asyncio.Event()

    async def hold(request: web.Request) -> web.StreamResponse:
        held.set()
        await asyncio.get_running_loop().create_future()  # until cancelled
        raise AssertionError("unreachable: a held request ends only by cancellation")

    async def hello(request: web.Request) -> web.StreamResponse:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/hold", hold)
    app.router.add_get("/hello", hello)
    await server.start(app)
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.base_url}/hello") as response:
            assert await response.text() == "hi"
        request = asyncio.create_task(session.get(f"{server.base_url}/hold"))
        await held.wait()
        assert server.in_flight == 1
        await server.stop()
        with pytest.raises(aiohttp.ClientError):
            await request
    assert not server.is_up and server.in_flight == 0
    with pytest.raises(RuntimeError):
        _ = server.port


async def test_wait_for_wakes_on_notify_and_times_out() -> None:
    server = LoopbackServer()
    state = {"ready": False}
    waiting = asyncio.create_task(server.wait_for(lambda: state["ready"], timeout=10))
    await asyncio.sleep(0)  # let the waiter check the predicate and start waiting
    server.notify()  # a change that does not satisfy it
    await asyncio.sleep(0)
    assert not waiting.done()
    state["ready"] = True
    server.notify()
    assert await waiting is True
    assert server.change_count == 2
    assert await server.wait_for(lambda: False, timeout=0.01) is False


async def test_a_reserved_port_is_listened_on_and_kept_across_a_stop_that_keeps_it() -> None:
    server = LoopbackServer()

    async def hello(request: web.Request) -> web.StreamResponse:
        return web.Response(text="hi")

    def app() -> web.Application:
        application = web.Application()
        application.router.add_get("/hello", hello)
        return application

    port = server.reserve_port()
    assert server.has_port and server.base_url == f"http://127.0.0.1:{port}"
    assert server.reserve_port() == port and not server.is_up
    async with aiohttp.ClientSession() as session:
        await server.start(app())
        assert server.port == port
        await server.stop(keep_port=True)
        assert not server.is_up and server.port == port
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{server.base_url}/hello")
        await server.start(app())
        assert server.port == port
        async with session.get(f"{server.base_url}/hello") as response:
            assert await response.text() == "hi"
        await server.stop(keep_port=True)
    await server.stop()  # forgets the port a stopped server kept
    assert not server.has_port
