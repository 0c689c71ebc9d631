"""The workspace's HTTP server: routes for the Web API (tokens, scopes, latency, the
attached gatekeeper), Socket Mode, the file host, upload URLs and response URLs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox.guard import loopback_only
from sandbox.manifest import METHOD_SCOPES
from sandbox.workspace.answers import Answers
from sandbox.workspace.errors import SlackError
from sandbox.workspace.hook import Refusal
from sandbox.workspace.params import bearer_token, pop_token, read_params
from sandbox.workspace.records import ApiCall, ApiMethod, FileRequest
from sandbox.workspace.socket_mode import SocketMode
from sandbox.workspace.state import WorkspaceState

RESPONSE_URL_USES = 5
# What Slack's file host answers, with HTTP 200, to a request it does not authorise.
LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Slack</title></head>
<body><h1>Sign in to Test Team</h1>
<form action="/signin" method="post"><input type="email" name="email"></form></body>
</html>
"""


class WorkspaceServer:
    """Serves the workspace on loopback (see :class:`sandbox.loopback.LoopbackServer`)."""

    def __init__(
        self,
        state: WorkspaceState,
        methods: dict[str, ApiMethod],
        socket: SocketMode,
        answers: Answers,
    ) -> None:
        self.state = state
        self._methods = methods
        self._socket = socket
        self._answers = answers

    async def start(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        setup: Callable[[web.Application], None] | None = None,
    ) -> None:
        """Serve on ``host``:``port`` (0: any free port); ``setup`` may add routes."""
        self._socket.accept()
        # The guard first: a request it refuses reaches nothing, not even the records.
        app = web.Application(
            middlewares=[loopback_only, self._observe_request], client_max_size=16 * 2**20
        )
        app.router.add_get("/api/{method}", self._handle_api)
        app.router.add_post("/api/{method}", self._handle_api)
        app.router.add_get("/socket-mode", self._socket.handle_socket)
        # Registered before the plain form, which would also match "download/<name>".
        app.router.add_get("/files-pri/{team_file}/download/{name:.+}", self._handle_download)
        app.router.add_get("/files-pri/{team_file}/{name:.+}", self._handle_file)
        app.router.add_post("/upload/v1/{key}", self._handle_upload)
        app.router.add_post("/response/{id}", self._handle_response_url)
        if setup is not None:
            setup(app)
        await self.state.loopback.start(app, host=host, port=port)

    async def stop(self) -> None:
        await self._socket.close()
        await self.state.loopback.stop()

    @web.middleware
    async def _observe_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Every path, including the WebSocket upgrade, so tests can see where tokens went.
        self.state.auth_headers_seen.append((request.path, request.headers.get("Authorization")))
        return await handler(request)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        call = ApiCall(request.match_info["method"], {}, None, time.monotonic())
        self.state.calls.append(call)
        try:
            call.params = await read_params(request)
        except SlackError as exc:
            return _refuse(call, exc.error)
        call.token = bearer_token(request.headers.get("Authorization")) or pop_token(call.params)
        self.state.notify()  # lets tests observe calls that are still in flight
        delay = self.state.latency.get(call.method, 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        response = self._answer(call)
        self.state.notify()
        return response

    def _answer(self, call: ApiCall) -> web.Response:
        implementation = self._methods.get(call.method)
        if implementation is None:
            return _refuse(call, "unknown_method")
        auth_error = self._auth_error(call)
        if auth_error is not None:
            return _refuse(call, auth_error)
        needed = METHOD_SCOPES.get(call.method)
        if (
            self.state.app is not None
            and needed is not None
            and needed not in self.state.app.scopes
        ):
            call.error = "missing_scope"
            provided = ",".join(sorted(self.state.app.scopes))
            body = {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
            return web.json_response(body)
        gatekeeper = self.state.gatekeeper
        refusal = None if gatekeeper is None else gatekeeper.refuse_call(call)
        if refusal is not None:
            return _refused_call(call, refusal)
        try:
            body = implementation(call.params)
        except SlackError as exc:
            return _refuse(call, exc.error, exc.messages)
        return web.json_response({"ok": True, **body})

    def _auth_error(self, call: ApiCall) -> str | None:
        if not call.token:
            return "not_authed"
        expected = (
            self.state.app_token if call.method == "apps.connections.open" else self.state.bot_token
        )
        if call.token == expected:
            return None
        if call.token in (self.state.app_token, self.state.bot_token):
            return "not_allowed_token_type"  # what Slack says for a valid token of the wrong kind
        return "invalid_auth"

    # ------------------------------------------------------------------ file host

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_file(request, download=False)

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_file(request, download=True)

    async def _serve_file(self, request: web.Request, *, download: bool) -> web.StreamResponse:
        team, _, file_id = request.match_info["team_file"].partition("-")
        token = bearer_token(request.headers.get("Authorization"))
        record = FileRequest(
            file_id, token == self.state.bot_token, token, time.monotonic(), download
        )
        self.state.file_requests.append(record)
        self.state.notify()
        if self.state.file_latency > 0:
            await asyncio.sleep(self.state.file_latency)
        response = self._file_response(record, team)
        record.status = response.status
        self.state.notify()
        return response

    def _file_response(self, record: FileRequest, team: str) -> web.Response:
        gatekeeper = self.state.gatekeeper
        refusal = None if gatekeeper is None else gatekeeper.refuse_file(record)
        if refusal is not None:
            status = refusal.status
            headers = {"Retry-After": str(refusal.retry_after)} if status == 429 else None
            return web.Response(status=status, text=f"fake file host {status}", headers=headers)
        if not record.authorized:
            # The classic trap: no (or a wrong) token is not a 401 but a login page.
            return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
        hosted = self.state.files.get(record.file_id)
        if hosted is None or team != self.state.team_id:
            return web.Response(status=404, text="file not found")
        mimetype = hosted.file.mimetype or "application/octet-stream"
        return web.Response(body=hosted.file.content, headers={"Content-Type": mimetype})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """The pre-signed upload URL: no token needed, raw bytes or a multipart file."""
        pending = next(
            (p for p in self.state.pending_uploads.values() if p.key == request.match_info["key"]),
            None,
        )
        if pending is None:
            return web.Response(status=404, text="upload not found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            parts = [v.file.read() for v in form.values() if isinstance(v, web.FileField)]
            if not parts:
                return web.Response(status=400, text="no file in the form")
            content = parts[0]
        else:
            content = await request.read()
        pending.content = content
        self.state.notify()
        return web.Response(text=f"OK - {len(content)}")  # text/plain, as Slack answers

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        """A response_url: POST JSON, like Slack's hooks.slack.com/commands|actions/... URLs."""
        target = self.state.response_targets.get(request.match_info["id"])
        if target is None:
            return web.Response(status=404, text="no_service")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        if target.uses >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            response = self._answers.reply(target, body, "response_url")
        except SlackError as exc:
            return web.Response(status=400, text=exc.error)
        target.uses += 1
        self.state.responses.setdefault(target.envelope_id, []).append(response)
        self.state.notify()
        return web.Response(text="ok")  # text/plain, as Slack answers


def _refuse(call: ApiCall, error: str, messages: Sequence[str] = ()) -> web.Response:
    call.error = error
    body: dict[str, Any] = {"ok": False, "error": error}
    if messages:
        body["response_metadata"] = {"messages": list(messages)}
    return web.json_response(body)


def _refused_call(call: ApiCall, refusal: Refusal) -> web.Response:
    """A Web API call's answer as the gatekeeper's refusal says; the call records it."""
    if refusal.status == 200:
        return _refuse(call, refusal.error or "internal_error")
    call.status = refusal.status
    if refusal.status == 429:
        call.error = "ratelimited"
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(refusal.retry_after)},
        )
    # Slack's load balancers answer 5xx with a non-JSON body.
    return web.Response(status=refusal.status, text=f"fake upstream error {refusal.status}")
