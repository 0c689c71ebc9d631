"""The fake OpenAI server: routing, the API key check, request recording, streaming and holding
requests open; what it answers is its answer strategy's to decide (sandbox/model/answers.py).

Requests for reasoning models (o1, o3, o4-mini, gpt-5*) that carry `temperature` or `top_p`
are rejected with 400 `unsupported_parameter`, as the real API does, before the strategy is
asked. `hung_requests` / `stalled_requests` count requests held by a `Hang` reply / an answer's
`stall_after`, and `wait_for()` lets a test wait for such states without polling.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from aiohttp import web

from sandbox.loopback import LoopbackServer
from sandbox.model.answers import Answer, AnswerStrategy, Api, Failure, Hang, ModelRequest
from sandbox.model.errors import (
    api_error,
    image_error,
    invalid_url,
    missing_parameter,
    moderation_blocked,
    status_error,
    unsupported_parameter,
)
from sandbox.model.images import (
    DEFAULT_IMAGE_SIZE,
    ImageError,
    SeenImage,
    image_order,
    images_response,
)
from sandbox.model.incoming import EDITS_PATH, Incoming, read_incoming
from sandbox.model.prompts import dicts
from sandbox.model.wire import MODELS, WIRES, Wire, dumps, new_id

JsonDict = dict[str, Any]

# Images arrive as base64 data URLs; aiohttp's 1 MiB default body limit would answer 413.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. Header names are lower-cased; `at` is monotonic.

    `images` are the request's images in order: the image parts of its messages, or an edit's
    input files; `mask` is an edit's mask. A request rejected for a bad image records none.
    """

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    images: list[SeenImage] = field(default_factory=list)
    mask: SeenImage | None = None


_Route = Callable[[web.Request, Incoming], Awaitable[web.StreamResponse]]


class FakeOpenAI:
    """The fake API server. `start()` it, point the SDK at `base_url`, `stop()` it.

    It serves on a :class:`sandbox.loopback.LoopbackServer`, whose stop() cuts off held
    requests and whose notifications wake wait_for().

    `answers` decides what it answers; with no `api_key` any key is accepted, with one, other
    keys get 401 as from the real API.
    """

    def __init__(self, answers: AnswerStrategy, *, api_key: str | None) -> None:
        self.answers = answers
        self.api_key = api_key
        self.latency = 0.0  # seconds before the first byte of every answer
        self.responses_enabled = True  # False: /v1/responses is 404, like servers without it
        self.requests: list[RecordedRequest] = []
        self._held: Counter[str] = Counter()
        self._loopback = LoopbackServer()
        self._routes: dict[tuple[str, str], _Route] = {
            ("POST", "/v1/responses"): self._responses,
            ("POST", "/v1/chat/completions"): self._chat_completions,
            ("GET", "/v1/models"): self._models,
            ("POST", "/v1/images/generations"): self._image_generations,
            ("POST", EDITS_PATH): self._image_edits,
        }

    # ----- public API

    @property
    def base_url(self) -> str:
        return f"{self._loopback.base_url}/v1"

    @property
    def hung_requests(self) -> int:
        """Requests currently held open by a `Hang` reply."""
        return self._held["hang"]

    @property
    def stalled_requests(self) -> int:
        """Streams currently held open by an answer's `stall_after`."""
        return self._held["stall"]

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.on_response_prepare.append(_stamp_request_id)
        app.router.add_route("*", "/{path:.*}", self._serve)
        # Without handler_cancellation aiohttp lets a handler run on after its client has gone,
        # so a held request would never learn that the client disconnected.
        await self._loopback.start(app, port=port, handler_cancellation=True)

    async def stop(self) -> None:
        """Close every connection, including held ones; aiohttp would wait for them otherwise."""
        await self._loopback.stop()

    def reset(self) -> None:
        """Forget recorded requests; restore latency and responses_enabled. Requests still in
        flight are left alone."""
        self.requests.clear()
        self.latency = 0.0
        self.responses_enabled = True
        self._loopback.notify()

    # A timeout argument (rather than the caller's asyncio.timeout) lets the failure say what
    # was awaited and what the fake saw instead.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 30.0,
        what: str = "",
    ) -> None:
        """Wait until `predicate()` holds; it is re-checked whenever a request arrives or the
        fake's state changes. Raises AssertionError after `timeout` seconds."""
        await self._loopback.expect(
            predicate,
            timeout=timeout,
            what=what,
            fake="FakeOpenAI",
            state=lambda: (
                f"{len(self.requests)} requests recorded, {self.hung_requests} hung, "
                f"{self.stalled_requests} stalled"
            ),
        )

    # ----- request handling

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        # Images are decoded before the request is recorded, so whoever wait_for()s a request
        # sees its images too.
        incoming = await read_incoming(request)
        self._record(request, incoming)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if not self._authorized(request):
            return self._auth_error(request)
        if incoming.body is None:
            what = "multipart form" if incoming.form else "JSON body"
            message = f"We could not parse the {what} of your request."
            return api_error(400, message, kind="invalid_request_error", code=None)
        route = self._routes.get((request.method, request.path))
        if route is None:
            return invalid_url(request)
        return await route(request, incoming)

    def _record(self, request: web.Request, incoming: Incoming) -> None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        recorded = RecordedRequest(
            request.path,
            incoming.body or {},
            headers,
            time.monotonic(),
            list(incoming.images),
            incoming.mask,
        )
        self.requests.append(recorded)
        self._loopback.notify()

    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _auth_error(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and len(header) > len("Bearer "):
            key = header.removeprefix("Bearer ")
            message = f"Incorrect API key provided: {key[:3]}***{key[-4:]}."
        else:
            message = "You didn't provide an API key (Authorization: Bearer YOUR_KEY)."
        return api_error(401, message, kind="invalid_request_error", code="invalid_api_key")

    async def _responses(self, request: web.Request, incoming: Incoming) -> web.StreamResponse:
        if not self.responses_enabled:
            return invalid_url(request)
        return await self._model_call(request, incoming, "responses", image_param="input")

    async def _chat_completions(
        self, request: web.Request, incoming: Incoming
    ) -> web.StreamResponse:
        return await self._model_call(request, incoming, "chat", image_param="messages")

    async def _models(self, request: web.Request, incoming: Incoming) -> web.StreamResponse:
        created = int(time.time())
        data = [
            {"id": model, "object": "model", "created": created, "owned_by": "openai"}
            for model in MODELS
        ]
        return web.json_response({"object": "list", "data": data}, dumps=dumps)

    async def _model_call(
        self, request: web.Request, incoming: Incoming, api: Api, *, image_param: str
    ) -> web.StreamResponse:
        if incoming.rejection is not None:
            return image_error(incoming.rejection, image_param)
        body, prompt = incoming.body or {}, incoming.prompt
        rejection = unsupported_parameter(body)
        if rejection is not None:
            return rejection
        tools = tuple(dicts(body.get("tools")))
        reply = await self.answers.model_reply(ModelRequest(api, body, prompt, tools))
        if isinstance(reply, Hang):
            await self._hold("hang")
        if isinstance(reply, Failure):
            return status_error(reply.status, reply.message)
        wire = WIRES[api](body, prompt, reply)
        if body.get("stream") is True:
            return await self._stream(request, wire, reply)
        return web.json_response(wire.final(), dumps=dumps)

    async def _image_generations(
        self, request: web.Request, incoming: Incoming
    ) -> web.StreamResponse:
        return await self._image_call(incoming, DEFAULT_IMAGE_SIZE)

    async def _image_edits(self, request: web.Request, incoming: Incoming) -> web.StreamResponse:
        if not incoming.form:
            message = (
                f"Invalid Content-Type header ({request.content_type}), expected "
                "multipart/form-data."
            )
            return api_error(400, message, kind="invalid_request_error", code=None)
        if incoming.rejection is not None:
            return image_error(incoming.rejection, "image")
        if not incoming.images:
            return missing_parameter("image")
        first = incoming.images[0]
        return await self._image_call(incoming, (first.width, first.height))

    async def _image_call(
        self, incoming: Incoming, default_size: tuple[int, int]
    ) -> web.StreamResponse:
        body = incoming.body or {}
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return missing_parameter("prompt")
        reply = await self.answers.image_reply(prompt)
        if isinstance(reply, Hang):
            await self._hold("hang")
        if isinstance(reply, Failure):
            return status_error(reply.status, reply.message)
        try:
            order = image_order(body, prompt, default_size)
        except ImageError as error:
            return image_error(error)
        if reply == "refuse":
            return moderation_blocked()
        return web.json_response(images_response(order, incoming.images), dumps=dumps)

    async def _stream(self, request: web.Request, wire: Wire, answer: Answer) -> web.StreamResponse:
        response = web.StreamResponse(headers=_SSE_HEADERS)
        pieces = answer.pieces
        stall_at = None if answer.stall_after is None else min(answer.stall_after, len(pieces))
        try:
            await response.prepare(request)
            await response.write(wire.opening())
            for index, piece in enumerate(pieces):
                if index == stall_at:
                    await self._hold("stall")
                if index and answer.piece_delay:
                    await asyncio.sleep(answer.piece_delay)
                await response.write(wire.delta(piece))
            if stall_at == len(pieces):
                await self._hold("stall")
            await response.write(wire.closing())
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away mid-stream; nothing left to tell it
        return response

    async def _hold(self, reason: str) -> NoReturn:
        """Send nothing more until the client disconnects (aiohttp then cancels the handler)
        or stop() cancels it."""
        self._held[reason] += 1
        self._loopback.notify()
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            self._held[reason] -= 1
            self._loopback.notify()
        raise AssertionError("unreachable: a held request ends only by cancellation")


async def _stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
    # The SDK copies x-request-id into APIStatusError.request_id.
    response.headers.setdefault("x-request-id", new_id("req_"))
