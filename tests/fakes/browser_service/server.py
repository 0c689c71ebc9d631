"""The fake service on loopback: its server's life (a port reserved before it starts, down()
and up() on the same port) and a request's way through the checks to its route."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping

from aiohttp import web

from tests.fakes.browser_service.data import JsonDict
from tests.fakes.browser_service.openapi import openapi_document
from tests.fakes.browser_service.operations import OPENAPI_OPERATION, Operation, route
from tests.fakes.browser_service.routes import ROUTES
from tests.fakes.browser_service.state import ServiceRequest, ServiceState
from tests.fakes.browser_service.validation import (
    InvalidJson,
    Validated,
    decode_body,
    validate,
)

NOT_LOGGED_IN = "not logged in: waiting for login"


class FakeBrowserService(ServiceState):
    """The fake service. `start()` it (or `reserve_port()` first), use `base_url`, `stop()` it.

    It is its state (which a test reads and sets on it directly) served on the state's
    :class:`sandbox.loopback.LoopbackServer`.
    """

    @property
    def port(self) -> int | None:
        """The port reserved or listened on (kept while down()), None before either."""
        return self._loopback.port if self._loopback.has_port else None

    @property
    def base_url(self) -> str:
        return self._loopback.base_url

    @property
    def is_up(self) -> bool:
        return self._loopback.is_up

    def reserve_port(self) -> int:
        """Choose the port now, so `base_url` is known before the service is up."""
        return self._loopback.reserve_port()

    async def start(self, port: int | None = None) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._serve)
        # handler_cancellation: a held request learns that its client went away.
        await self._loopback.start(app, port=port, handler_cancellation=True)
        self.started_at = time.monotonic()  # uptime restarts, as with a restarted service
        self.notify()

    async def stop(self) -> None:
        """Close every connection, held requests included, and forget the port."""
        await self._loopback.stop()
        self.notify()

    async def down(self) -> None:
        """Stop listening and cut off requests in flight; the port and state are kept."""
        await self._loopback.stop(keep_port=True)
        self.notify()

    async def up(self) -> None:
        """Listen again on the port used before down() (or the reserved one)."""
        if not self._loopback.has_port:
            raise RuntimeError("FakeBrowserService.up(): no port yet; use start()")
        await self.start()

    def openapi(self) -> JsonDict:
        """The document /openapi.json serves."""
        return openapi_document(secured=self.token is not None)

    # ----- request handling

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        content_type = request.headers.get("Content-Type")
        invalid_json: InvalidJson | None = None
        try:
            body = decode_body(raw, content_type)
        except InvalidJson as error:
            invalid_json, body = error, raw.decode("utf-8", errors="replace")
        # Like Starlette's QueryParams, the last of repeated values counts.
        query = {name: value for name, value in request.query.items()}
        op, path_values, allowed = route(request.method, request.path)
        self._record(request, query, body, op)
        if op is None:
            if allowed:
                return _detail(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
            return _detail(404, "Not Found")
        # FastAPI reads and parses the body only for routes that take one.
        if invalid_json is not None and op.body_model is not None:
            return _detail(422, invalid_json.detail())
        if not self._authorized(request):
            return _detail(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        if op is OPENAPI_OPERATION:
            return self._take_failure(op.path) or _json(self.openapi())
        validated = validate(op, path_values, query, body, has_body=bool(raw))
        if validated.errors:
            return _detail(422, validated.errors)
        return await self._run(op, validated)

    def _record(
        self,
        request: web.Request,
        query: dict[str, str],
        body: object | None,
        op: Operation | None,
    ) -> None:
        self.requests.append(
            ServiceRequest(
                method=request.method,
                path=request.path,
                query=query,
                body=body,
                authorization=request.headers.get("Authorization"),
                at=time.monotonic(),
                route=None if op is None else op.path,
            )
        )
        self.notify()

    def _authorized(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and credentials.strip() == self.token

    async def _run(self, op: Operation, validated: Validated) -> web.Response:
        if op.business:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.notify()
        try:
            delay = self.delays.get(op.path, self.delay)
            if delay > 0:
                await asyncio.sleep(delay)
            failure = self._take_failure(op.path)
            if failure is not None:
                return failure
            if op.business and not self.logged_in:
                await self._login_wait()
                if not self.logged_in:
                    return _json({"success": False, "details": NOT_LOGGED_IN})
            details = self._business_failures.get(op.path)
            if details is not None:
                return _json({"success": False, "details": details})
            return _json(ROUTES[op.operation_id](self, validated.values, validated.body))
        finally:
            if op.business:
                self.in_flight -= 1
                self.notify()

    def _take_failure(self, path_template: str) -> web.Response | None:
        queue = self._failures.get(path_template)
        if not queue:
            return None
        status, detail = queue.pop(0)
        self.notify()
        return _detail(status, detail)

    async def _login_wait(self) -> None:
        if self.login_wait_seconds > 0:
            await self._loopback.wait_for(lambda: self.logged_in, self.login_wait_seconds)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _json(
    value: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(value, status=status, headers=headers, dumps=_dumps)


def _detail(status: int, detail: object, headers: Mapping[str, str] | None = None) -> web.Response:
    return _json({"detail": detail}, status, headers)
