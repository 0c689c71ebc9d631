"""A fake Slack that speaks Slack's real wire protocols over loopback.

``FakeSlack`` serves the Web API (``/api/{method}``) and a Socket Mode WebSocket
(``/socket-mode``) from one aiohttp server bound to 127.0.0.1. The bot under test talks
to it through the unmodified slack-sdk / slack-bolt clients: point ``AsyncWebClient``'s
``base_url`` at :attr:`FakeSlack.api_url` and ``apps.connections.open`` hands out the
WebSocket URL. Tests drive Slack's side (users posting, disconnects, faults) through the
async helper methods, and inspect what the bot did through the recorded state.

Protocol details were checked against slack-sdk 3.47 / slack-bolt 1.30:

* Socket Mode clients ping with ``sdk-ping-pong:<time>`` and treat the connection as stale
  unless the pong echoes that payload; aiohttp's ``autoping`` echoes ping payloads.
* Acks are ``{"envelope_id": ..., "payload": ...}`` text frames; Bolt only acks events that
  some listener matched.
* On a ``disconnect`` message the client closes the old socket *before* opening a new one,
  so envelopes sent in between must be queued, as Slack does.
* Bolt's per-request client adds ``team_id`` to every call's parameters.

Files, as Slack hosts them:

* Shared files are served from ``/files-pri/{team}-{file}/[download/]{name}`` on the same
  server. Only ``Authorization: Bearer <bot token>`` opens them; without it (or with any
  other token) Slack answers **200** with an HTML login page, not 401.
* ``files_upload_v2`` (slack-sdk 3.47) makes three requests: ``files.getUploadURLExternal``
  (``filename``, ``length``, ``alt_txt``, ``snippet_type`` in the query string), a POST of
  the raw bytes to the returned ``upload_url`` *without* an Authorization header, whose
  answer must be HTTP 200 (Slack's is ``text/plain`` "OK - <length>"), then
  ``files.completeUploadExternal`` (``files`` as a JSON string of ``{"id", "title"}``,
  plus ``channel_id``, ``thread_ts``, ``initial_comment``). ``alt_txt`` travels only in
  the first call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import json
import mimetypes
import re
import secrets
import string
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.typedefs import Handler
from PIL import Image, UnidentifiedImageError

__all__ = ["ApiCall", "FakeSlack", "FileRequest", "Message", "Upload", "UploadedFile"]

APP_ID = "A0TEST"
SOCKET_HOST = "applink-fake-1"
MAX_MESSAGE_CHARS = 40_000
MAX_STREAM_MARKDOWN_CHARS = 12_000

# Parameters whose values Slack accepts as JSON-encoded strings inside forms and query strings.
# A whitelist, because free-text fields such as ``text`` may legitimately look like JSON.
JSON_ENCODED_PARAMS = frozenset(
    {"attachments", "blocks", "chunks", "metadata", "prompts", "unfurls", "user_auth_blocks"}
)
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
WORKSPACE_URL = "https://test.slack.com/"
FILE_ID_ALPHABET = string.ascii_uppercase + string.digits
# What Slack's file host answers, with HTTP 200, to a request it does not authorise.
LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Slack</title></head>
<body><h1>Sign in to Test Team</h1>
<form action="/signin" method="post"><input type="email" name="email"></form></body>
</html>
"""
PRETTY_TYPES = {
    "csv": "CSV",
    "docx": "Word Document",
    "gif": "GIF",
    "heic": "HEIC",
    "html": "HTML",
    "jpeg": "JPEG",
    "jpg": "JPEG",
    "json": "JSON",
    "md": "Markdown (raw)",
    "pdf": "PDF",
    "png": "PNG",
    "py": "Python",
    "text": "Plain Text",
    "txt": "Plain Text",
    "webp": "WebP",
    "xlsx": "Excel Spreadsheet",
    "zip": "Zip",
}

ApiMethod = Callable[[dict[str, Any]], dict[str, Any]]


class SlackError(Exception):
    """Raised by Web API method implementations; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class ApiCall:
    """One Web API request as the fake received it (``token`` is removed from ``params``)."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float  # time.monotonic(), comparable with FakeSlack.sent_at / FakeSlack.acks
    status: int = 200
    error: str | None = None  # the "error" field of the answer, if it was not ok


@dataclass
class Message:
    """A message stored in the fake workspace. ``thread_ts`` is None for top-level messages."""

    channel: str
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[Any] | None = None
    client_msg_id: str | None = None
    subtype: str | None = None
    streaming: bool = False
    versions: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)  # see FakeSlack.file()

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(frozen=True)
class UploadedFile:
    """A file a user shares. ``filetype`` defaults to the name's lower-cased extension."""

    name: str
    mimetype: str
    content: bytes
    filetype: str | None = None

    def __post_init__(self) -> None:
        if self.filetype is None:
            object.__setattr__(self, "filetype", _extension(self.name))


@dataclass
class FileRequest:
    """One GET of a hosted file (``url_private`` or ``url_private_download``)."""

    file_id: str
    authorized: bool  # carried ``Authorization: Bearer <bot token>``
    token_sent: str | None  # the bearer token, whatever it was
    at: float  # time.monotonic() on arrival
    download: bool = False  # the url_private_download form
    status: int = 200  # HTTP status answered; the login page is a 200 too


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded and completed (files.getUploadURLExternal + upload + complete).

    ``channel`` is None for a file completed without sharing it anywhere; a file shared to
    several ``channels`` is recorded once per channel.
    """

    file_id: str
    filename: str
    title: str
    alt_text: str | None
    channel: str | None
    thread_ts: str | None
    content: bytes
    mimetype: str  # guessed from the filename, as Slack does
    initial_comment: str | None = None
    message_ts: str | None = None  # the message that shared it


@dataclass
class _HostedFile:
    id: str
    file: UploadedFile
    user: str
    created: int
    title: str
    alt_txt: str | None = None
    dimensions: tuple[int, int] | None = None


@dataclass
class _PendingUpload:
    file_id: str
    key: str
    filename: str
    length: int
    alt_txt: str | None
    content: bytes | None = None  # None until the bytes are POSTed to the upload URL


@dataclass
class _User:
    id: str
    name: str
    is_bot: bool


@dataclass
class _Fault:
    status: int
    retry_after: int
    error: str | None


@dataclass
class _RateLimit:
    per_second: float
    burst: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    # Set once the fake has told the client to go away; new envelopes then avoid this socket.
    retiring: bool = False


class FakeSlack:
    """Slack's Web API and Socket Mode, faked in-process. See the module docstring."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed = asyncio.Condition()
        self._last_ts_micros = 0  # survives reset() so ts values stay unique per fake
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._accepting = True
        self.connection_count = 0  # hello-completed connections since start()
        self._methods: dict[str, ApiMethod] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "conversations.replies": self._conversations_replies,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "assistant.threads.setStatus": _accept,
            "assistant.threads.setTitle": _accept,
            "assistant.threads.setSuggestedPrompts": _accept,
        }
        self._init_state()

    def _init_state(self) -> None:
        """(Re)create everything a test can observe or configure."""
        self.calls: list[ApiCall] = []
        self.auth_headers_seen: list[tuple[str, str | None]] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.latency: dict[str, float] = {}
        self.rate_limited_count: dict[str, int] = {}
        self.streaming_supported = True
        self.close_streams_after_appends: int | None = None
        self.replies_page_size = 1000
        # Slack repeats the thread parent at the top of every conversations.replies page.
        self.replies_parent_on_every_page = True
        self.envelopes: dict[str, dict[str, Any]] = {}
        self.sent_at: dict[str, float] = {}
        self.acks: dict[str, float] = {}
        self.ack_payloads: dict[str, Any] = {}
        self.event_ids_for_ts: dict[str, list[str]] = {}
        # Envelope ids first delivered for a message ts (redeliver() adds none, so a test can
        # loop over this list while redelivering).
        self.envelopes_for_ts: dict[str, list[str]] = {}
        self._pending: deque[dict[str, Any]] = deque()
        self._faults: dict[str, deque[_Fault]] = {}
        self._rate_limits: dict[str, _RateLimit] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._stream_appends: dict[tuple[str, str], int] = {}
        self._users: dict[str, _User] = {
            self.bot_user_id: _User(self.bot_user_id, "assistant", is_bot=True)
        }
        self.file_requests: list[FileRequest] = []
        self.file_latency = 0.0  # seconds before answering each file request
        self.uploads: list[Upload] = []
        self._files: dict[str, _HostedFile] = {}
        self._pending_uploads: dict[str, _PendingUpload] = {}  # by file id
        self._file_faults: deque[int] = deque()

    def reset(self) -> None:
        """Forget messages, calls, envelopes and faults; live connections stay up."""
        self._init_state()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> None:
        self._accepting = True
        app = web.Application(middlewares=[self._observe_request], client_max_size=16 * 2**20)
        app.router.add_get("/api/{method}", self._handle_api)
        app.router.add_post("/api/{method}", self._handle_api)
        app.router.add_get("/socket-mode", self._handle_socket)
        # Registered before the plain form, which would also match "download/<name>".
        app.router.add_get("/files-pri/{team_file}/download/{name:.+}", self._handle_download)
        app.router.add_get("/files-pri/{team_file}/{name:.+}", self._handle_file)
        app.router.add_post("/upload/v1/{key}", self._handle_upload)
        # A short shutdown timeout so stop() is not held up by requests sleeping in latency.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=4096)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        # Refuse new sockets first, or clients would reconnect while we close the old ones.
        self._accepting = False
        await self._close_all(list(self._connections), b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack.start() has not been awaited")
        return self._port

    @property
    def base_url(self) -> str:
        """The server's root; the Web API, file host and upload URLs all live below it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        retry_after: int = 1,
        count: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail without touching state.

        Default is HTTP 429; with ``error`` alone it is HTTP 200 ``{"ok": false, "error": ...}``.
        """
        resolved = status if status is not None else (200 if error is not None else 429)
        faults = self._faults.setdefault(method, deque())
        faults.extend(_Fault(resolved, retry_after, error) for _ in range(count))

    def clear_faults(self, method: str) -> None:
        """Drop the failures still queued for ``method`` by fail_next."""
        self._faults.pop(method, None)

    def fail_next_file(self, status: int, count: int = 1) -> None:
        """Make the next ``count`` hosted-file requests answer HTTP ``status`` (before auth)."""
        self._file_faults.extend([status] * count)

    def rate_limit(self, method: str, *, per_channel_per_second: float, burst: int = 1) -> None:
        """Enforce a token bucket per (method, channel); excess calls get 429 Retry-After: 1.

        A rate of 0 (or less) removes the limit for ``method``.
        """
        for key in [k for k in self._buckets if k[0] == method]:
            del self._buckets[key]  # a new limit starts with full buckets
        if per_channel_per_second <= 0:
            self._rate_limits.pop(method, None)
        else:
            self._rate_limits[method] = _RateLimit(per_channel_per_second, burst)

    # ------------------------------------------------------------------ HTTP plumbing

    @web.middleware
    async def _observe_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Every path, including the WebSocket upgrade, so tests can see where tokens went.
        self.auth_headers_seen.append((request.path, request.headers.get("Authorization")))
        return await handler(request)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        call = ApiCall(request.match_info["method"], {}, None, time.monotonic())
        self.calls.append(call)
        try:
            call.params = await _read_params(request)
        except SlackError as exc:
            return self._refuse(call, exc.error)
        call.token = _bearer_token(request.headers.get("Authorization")) or _pop_token(call.params)
        await self._notify()  # lets tests observe calls that are still in flight
        delay = self.latency.get(call.method, 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        response = self._answer(call)
        await self._notify()
        return response

    def _answer(self, call: ApiCall) -> web.Response:
        implementation = self._methods.get(call.method)
        if implementation is None:
            return self._refuse(call, "unknown_method")
        auth_error = self._auth_error(call)
        if auth_error is not None:
            return self._refuse(call, auth_error)
        injected = self._injected_failure(call)
        if injected is not None:
            return injected
        try:
            body = implementation(call.params)
        except SlackError as exc:
            return self._refuse(call, exc.error)
        return web.json_response({"ok": True, **body})

    def _auth_error(self, call: ApiCall) -> str | None:
        if not call.token:
            return "not_authed"
        expected = self.app_token if call.method == "apps.connections.open" else self.bot_token
        if call.token == expected:
            return None
        if call.token in (self.app_token, self.bot_token):
            return "not_allowed_token_type"  # what Slack says for a valid token of the wrong kind
        return "invalid_auth"

    def _injected_failure(self, call: ApiCall) -> web.Response | None:
        faults = self._faults.get(call.method)
        if faults:
            return self._fault_response(call, faults.popleft())
        if not self._take_rate_token(call):
            return self._fault_response(call, _Fault(429, 1, None))
        return None

    def _take_rate_token(self, call: ApiCall) -> bool:
        limit = self._rate_limits.get(call.method)
        if limit is None:
            return True
        now = time.monotonic()
        key = (call.method, _channel_param(call.params))
        bucket = self._buckets.setdefault(key, _Bucket(tokens=float(limit.burst), updated=now))
        refill = (now - bucket.updated) * limit.per_second
        bucket.tokens = min(float(limit.burst), bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _fault_response(self, call: ApiCall, fault: _Fault) -> web.Response:
        if fault.status == 200:
            return self._refuse(call, fault.error or "internal_error")
        call.status = fault.status
        if fault.status == 429:
            call.error = "ratelimited"
            self.rate_limited_count[call.method] = self.rate_limited_count.get(call.method, 0) + 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        # Slack's load balancers answer 5xx with a non-JSON body.
        return web.Response(status=fault.status, text=f"fake upstream error {fault.status}")

    @staticmethod
    def _refuse(call: ApiCall, error: str) -> web.Response:
        call.error = error
        return web.json_response({"ok": False, "error": error})

    # ------------------------------------------------------------------ file host

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_file(request, download=False)

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_file(request, download=True)

    async def _serve_file(self, request: web.Request, *, download: bool) -> web.StreamResponse:
        team, _, file_id = request.match_info["team_file"].partition("-")
        token = _bearer_token(request.headers.get("Authorization"))
        record = FileRequest(file_id, token == self.bot_token, token, time.monotonic(), download)
        self.file_requests.append(record)
        await self._notify()
        if self.file_latency > 0:
            await asyncio.sleep(self.file_latency)
        response = self._file_response(record, team)
        record.status = response.status
        await self._notify()
        return response

    def _file_response(self, record: FileRequest, team: str) -> web.Response:
        if self._file_faults:
            status = self._file_faults.popleft()
            headers = {"Retry-After": "1"} if status == 429 else None
            return web.Response(status=status, text=f"fake file host {status}", headers=headers)
        if not record.authorized:
            # The classic trap: no (or a wrong) token is not a 401 but a login page.
            return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
        hosted = self._files.get(record.file_id)
        if hosted is None or team != self.team_id:
            return web.Response(status=404, text="file not found")
        mimetype = hosted.file.mimetype or "application/octet-stream"
        return web.Response(body=hosted.file.content, headers={"Content-Type": mimetype})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """The pre-signed upload URL: no token needed, raw bytes or a multipart file."""
        pending = next(
            (p for p in self._pending_uploads.values() if p.key == request.match_info["key"]),
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
        await self._notify()
        return web.Response(text=f"OK - {len(content)}")  # text/plain, as Slack answers

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://test.slack.com/",
            "team": "Test Team",
            "user": "assistant",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/socket-mode?ticket={ticket}"}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        text = _str_param(params, "text") or ""
        blocks = _list_param(params, "blocks")
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        _check_length(text, MAX_MESSAGE_CHARS)
        message = self._store(
            Message(
                channel=channel,
                ts=self._next_ts(),
                text=text,
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=_str_param(params, "thread_ts"),
                blocks=blocks,
            )
        )
        return {"channel": channel, "ts": message.ts, "message": self._message_dict(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "cant_update_message")
        text = _str_param(params, "text")
        blocks = _list_param(params, "blocks")
        if text is None and blocks is None:
            raise SlackError("no_text")
        if text is not None:
            _check_length(text, MAX_MESSAGE_CHARS)
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.versions.append(message.text)
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_dict(message),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "cant_delete_message")
        del self.messages[(message.channel, message.ts)]
        return {"channel": message.channel, "ts": message.ts}

    def _chat_start_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        channel = _require_channel(params)
        thread_ts = _str_param(params, "thread_ts")
        has_recipient = bool(params.get("recipient_user_id") and params.get("recipient_team_id"))
        if thread_ts is None or (not channel.startswith("D") and not has_recipient):
            raise SlackError("invalid_arguments")
        markdown = _stream_markdown(params)
        message = self._store(
            Message(
                channel=channel,
                ts=self._next_ts(),
                text=markdown,
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=thread_ts,
                streaming=True,
            )
        )
        return {"channel": channel, "ts": message.ts}

    def _chat_append_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        message = self._streaming_message(params)
        self._append_text(message, _stream_markdown(params))
        self._count_append(message)
        return {"channel": message.channel, "ts": message.ts}

    def _chat_stop_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        message = self._streaming_message(params)
        markdown = _stream_markdown(params)
        blocks = _list_param(params, "blocks")
        if blocks is not None:
            message.blocks = blocks
        message.streaming = False
        self._append_text(message, markdown)
        return {
            "channel": message.channel,
            "ts": message.ts,
            "message": self._message_dict(message),
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        ts = _str_param(params, "ts")
        if ts is None:
            raise SlackError("invalid_arguments")
        head = self.messages.get((channel, ts))
        if head is None:
            raise SlackError("thread_not_found")
        if head.is_reply:  # asking for a reply's ts returns just that reply
            return {"messages": [self._message_dict(head)], "has_more": False}
        replies = self.thread_messages(channel, ts)
        size = min(_int_param(params, "limit") or 1000, self.replies_page_size)
        if self.replies_parent_on_every_page:
            prefix, items, size = [head], replies, max(1, size - 1)
        else:
            prefix, items = [], [head, *replies]
        start = _page_start(items, _str_param(params, "cursor"), ascending=True)
        page = prefix + items[start : start + size]
        return self._page_body(page, items, start + size)

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        top_level = [m for m in self._sorted_messages(channel) if not m.is_reply]
        items = list(reversed(top_level))  # newest first, as Slack returns history
        size = max(1, min(_int_param(params, "limit") or 100, 1000))
        start = _page_start(items, _str_param(params, "cursor"), ascending=False)
        return self._page_body(items[start : start + size], items, start + size)

    def _page_body(self, page: list[Message], items: list[Message], end: int) -> dict[str, Any]:
        has_more = end < len(items)
        next_cursor = _encode_cursor(items[end].ts) if has_more else ""
        return {
            "messages": [self._message_dict(m) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(_str_param(params, "user") or "")
        if user is None:
            raise SlackError("user_not_found")
        profile = {"display_name": user.name, "real_name": user.name, "team": self.team_id}
        return {
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "real_name": user.name,
                "deleted": False,
                "tz": "UTC",
                "profile": profile,
                "is_bot": user.is_bot,
                "is_app_user": False,
            }
        }

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = _str_param(params, "filename")
        length = _int_param(params, "length")
        if filename is None or length is None:
            raise SlackError("invalid_arguments")
        file_id = self._new_file_id()
        key = secrets.token_urlsafe(24)
        alt_txt = _str_param(params, "alt_txt")
        self._pending_uploads[file_id] = _PendingUpload(file_id, key, filename, length, alt_txt)
        return {"upload_url": f"{self.base_url}/upload/v1/{key}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _file_entries(params.get("files"))
        channel_id = _str_param(params, "channel_id")
        channels = [channel_id] if channel_id else _csv_param(params, "channels")
        thread_ts = _str_param(params, "thread_ts")
        if thread_ts is not None and not channels:
            raise SlackError("invalid_arguments")
        comment = _str_param(params, "initial_comment")
        _check_length(comment or "", MAX_MESSAGE_CHARS)
        pendings = [self._pending_uploads.get(str(entry["id"])) for entry in entries]
        ready = [p for p in pendings if p is not None and p.content is not None]
        if len(ready) != len(entries):  # unknown, already completed or never uploaded
            raise SlackError("file_not_found")
        hosted: list[_HostedFile] = []
        for entry, pending in zip(entries, ready, strict=True):
            del self._pending_uploads[pending.file_id]
            mimetype = mimetypes.guess_type(pending.filename)[0] or "application/octet-stream"
            shared = UploadedFile(pending.filename, mimetype, pending.content or b"")
            title = entry.get("title")
            alt_txt = entry.get("alt_txt") or pending.alt_txt
            hosted.append(
                self._host(
                    shared,
                    self.bot_user_id,
                    file_id=pending.file_id,
                    title=title if isinstance(title, str) and title else None,
                    alt_txt=alt_txt if isinstance(alt_txt, str) else None,
                )
            )
        targets: list[str | None] = [*channels] or [None]
        for channel in targets:
            ts = None
            if channel is not None:  # one message shares all the files, like Slack's
                ts = self._store(
                    Message(
                        channel=channel,
                        ts=self._next_ts(),
                        text=comment or "",
                        user=self.bot_user_id,
                        bot_id=self.bot_id,
                        thread_ts=thread_ts,
                        file_ids=[h.id for h in hosted],
                    )
                ).ts
            self.uploads.extend(
                Upload(
                    file_id=h.id,
                    filename=h.file.name,
                    title=h.title,
                    alt_text=h.alt_txt,
                    channel=channel,
                    thread_ts=thread_ts,
                    content=h.file.content,
                    mimetype=h.file.mimetype,
                    initial_comment=comment,
                    message_ts=ts,
                )
                for h in hosted
            )
        return {"files": [self._file_object(h) for h in hosted]}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hosted = self._files.get(_str_param(params, "file") or "")
        if hosted is None:
            raise SlackError("file_not_found")
        return {"file": self._file_object(hosted)}

    # ------------------------------------------------------------------ Web API helpers

    def _next_ts(self) -> str:
        # Wall-clock based (bots may compare ts with time.time()) but strictly increasing.
        micros = max(time.time_ns() // 1000, self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _store(self, message: Message) -> Message:
        message.versions.append(message.text)
        self.messages[(message.channel, message.ts)] = message
        return message

    def _find_message(self, params: dict[str, Any]) -> Message:
        channel = _require_channel(params)
        message = self.messages.get((channel, _str_param(params, "ts") or ""))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _own_message(self, params: dict[str, Any], error: str) -> Message:
        message = self._find_message(params)
        if message.bot_id != self.bot_id:
            raise SlackError(error)
        return message

    def _require_streaming(self) -> None:
        if not self.streaming_supported:
            raise SlackError("unknown_method")

    def _streaming_message(self, params: dict[str, Any]) -> Message:
        message = self._find_message(params)
        if not message.streaming:
            raise SlackError("message_not_in_streaming_state")
        return message

    @staticmethod
    def _append_text(message: Message, markdown: str) -> None:
        message.text += markdown
        message.versions.append(message.text)

    def _count_append(self, message: Message) -> None:
        key = (message.channel, message.ts)
        self._stream_appends[key] = self._stream_appends.get(key, 0) + 1
        limit = self.close_streams_after_appends
        if limit is not None and self._stream_appends[key] >= limit:
            message.streaming = False  # Slack expiring the stream on its side

    def _new_file_id(self) -> str:
        while True:
            file_id = "F" + "".join(secrets.choice(FILE_ID_ALPHABET) for _ in range(10))
            if file_id not in self._files and file_id not in self._pending_uploads:
                return file_id

    def _host(
        self,
        file: UploadedFile,
        user: str,
        *,
        file_id: str | None = None,
        title: str | None = None,
        alt_txt: str | None = None,
    ) -> _HostedFile:
        hosted = _HostedFile(
            id=file_id or self._new_file_id(),
            file=file,
            user=user,
            created=int(time.time()),
            title=title or file.name,
            alt_txt=alt_txt,
            dimensions=_image_size(file),
        )
        self._files[hosted.id] = hosted
        return hosted

    def _file_object(self, hosted: _HostedFile) -> dict[str, Any]:
        """A file the way Slack shows it in messages, events and files.* answers."""
        file = hosted.file
        name = quote(file.name)
        base = f"{self.base_url}/files-pri/{self.team_id}-{hosted.id}"
        filetype = file.filetype or ""
        rendered: dict[str, Any] = {
            "id": hosted.id,
            "created": hosted.created,
            "timestamp": hosted.created,
            "name": file.name,
            "title": hosted.title,
            "mimetype": file.mimetype,
            "filetype": filetype,
            "pretty_type": PRETTY_TYPES.get(filetype, filetype.upper() or "Binary"),
            "user": hosted.user,
            "user_team": self.team_id,
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "size": len(file.content),
            "url_private": f"{base}/{name}",
            "url_private_download": f"{base}/download/{name}",
            "permalink": f"{WORKSPACE_URL}files/{hosted.user}/{hosted.id}/{name}",
        }
        if hosted.alt_txt is not None:
            rendered["alt_txt"] = hosted.alt_txt
        if hosted.dimensions is not None:
            rendered["original_w"], rendered["original_h"] = hosted.dimensions
        return rendered

    def _sorted_messages(self, channel: str) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.channel == channel), key=_ts_key)

    def _message_dict(self, message: Message) -> dict[str, Any]:
        """Render a stored message the way Slack's APIs and events show it."""
        rendered: dict[str, Any] = {"type": "message", "text": message.text, "ts": message.ts}
        if message.subtype is not None:
            rendered["subtype"] = message.subtype
        if message.user is not None:
            rendered["user"] = message.user
        if message.bot_id is not None:
            rendered.update(self._bot_fields(message.bot_id))
        if message.client_msg_id is not None:
            rendered["client_msg_id"] = message.client_msg_id
        if message.blocks is not None:
            rendered["blocks"] = message.blocks
        if message.file_ids:
            rendered["files"] = [
                self._file_object(self._files[f]) for f in message.file_ids if f in self._files
            ]
            rendered["upload"] = True
        rendered["team"] = self.team_id
        rendered.update(self._thread_fields(message))
        return rendered

    def _bot_fields(self, bot_id: str) -> dict[str, Any]:
        own = bot_id == self.bot_id
        app_id = APP_ID if own else "A0OTHER"
        profile = {
            "id": bot_id,
            "app_id": app_id,
            "name": "assistant" if own else bot_id.lower(),
            "team_id": self.team_id,
            "deleted": False,
            "icons": {},
        }
        return {"bot_id": bot_id, "app_id": app_id, "bot_profile": profile}

    def _thread_fields(self, message: Message) -> dict[str, Any]:
        if message.is_reply:
            parent = self.messages.get((message.channel, message.thread_ts or ""))
            fields: dict[str, Any] = {"thread_ts": message.thread_ts}
            if parent is not None and parent.user is not None:
                fields["parent_user_id"] = parent.user
            return fields
        replies = self.thread_messages(message.channel, message.ts)
        if not replies:
            return {}
        reply_users = sorted({r.user for r in replies if r.user is not None})
        return {
            "thread_ts": message.ts,
            "reply_count": len(replies),
            "reply_users_count": len(reply_users),
            "reply_users": reply_users,
            "latest_reply": replies[-1].ts,
            "is_locked": False,
            "subscribed": False,
        }

    # ------------------------------------------------------------------ Socket Mode

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if not self._accepting:
            raise web.HTTPServiceUnavailable(text="shutting down")
        if request.query.get("ticket") not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid ticket")
        # autoping answers each ping with a pong carrying the same payload; the SDK parses
        # "sdk-ping-pong:<time>" back out of it to decide whether the link is stale.
        ws = web.WebSocketResponse(autoping=True, timeout=2.0)
        await ws.prepare(request)
        conn = _Connection(ws, request.transport)
        try:
            await ws.send_str(json.dumps(self._hello()))
        except ConnectionError:
            return ws  # the client left during the handshake
        self._connections.append(conn)
        try:
            self.connection_count += 1
            await self._notify()
            await self._flush_pending(conn)
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._on_client_text(frame.data)
        finally:
            self._connections.remove(conn)
            await self._notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self._connections) + 1,
            "debug_info": {
                "host": SOCKET_HOST,
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }

    async def _on_client_text(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            return  # Slack ignores garbage from clients too
        if not isinstance(frame, dict) or "envelope_id" not in frame:
            return
        envelope_id = str(frame["envelope_id"])
        # The first ack counts: a late duplicate must not hide a slow first answer.
        self.acks.setdefault(envelope_id, time.monotonic())
        if "payload" in frame:
            self.ack_payloads[envelope_id] = frame["payload"]
        await self._notify()

    def _active_connection(self) -> _Connection | None:
        for conn in reversed(self._connections):  # newest first
            if not conn.retiring and not conn.ws.closed:
                return conn
        return None

    async def _send_envelope(self, envelope: dict[str, Any]) -> str:
        envelope_id: str = envelope["envelope_id"]
        self.envelopes[envelope_id] = envelope
        conn = self._active_connection()
        if conn is None or not await self._send_on(conn, envelope):
            self._pending.append(envelope)  # delivered when a client connects, like Slack
        await self._notify()
        return envelope_id

    async def _send_on(self, conn: _Connection, envelope: dict[str, Any]) -> bool:
        envelope_id = envelope["envelope_id"]
        # Stamped before the write: the client may ack while send_str is still draining.
        self.sent_at[envelope_id] = time.monotonic()
        try:
            await conn.ws.send_str(json.dumps(envelope))
        except (ConnectionError, RuntimeError):  # closed between the check and the write
            del self.sent_at[envelope_id]
            return False
        return True

    async def _flush_pending(self, conn: _Connection) -> None:
        while self._pending and not conn.ws.closed:
            envelope = self._pending.popleft()
            if not await self._send_on(conn, envelope):
                self._pending.appendleft(envelope)
                return

    def _envelope(
        self, type_: str, payload: dict[str, Any], retry_attempt: int, retry_reason: str
    ) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": type_,
            "accepts_response_payload": type_ != "events_api",
        }
        if type_ == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        return envelope

    def _event_callback(self, event: dict[str, Any], event_id: str) -> dict[str, Any]:
        context = json.dumps({"tid": self.team_id, "aid": APP_ID}).encode()
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + base64.urlsafe_b64encode(context).decode(),
        }

    async def send_envelope(
        self, type: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Send any Socket Mode envelope (events_api, slash_commands, interactive, ...)."""
        reason = "timeout" if retry_attempt > 0 else ""
        return await self._send_envelope(self._envelope(type, payload, retry_attempt, reason))

    async def deliver_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0
    ) -> str:
        """Wrap a raw event in an events_api envelope and send it; returns the envelope id."""
        payload = self._event_callback(event, event_id or _new_event_id())
        return await self.send_envelope("events_api", payload, retry_attempt=retry_attempt)

    async def redeliver(self, envelope_id: str) -> str:
        """Resend an envelope's payload (same event_id) the way Slack retries after a timeout."""
        original = self.envelopes[envelope_id]
        attempt = int(original.get("retry_attempt", 0)) + 1
        envelope = self._envelope(original["type"], original["payload"], attempt, "timeout")
        return await self._send_envelope(envelope)

    async def disconnect_clients(
        self, reason: str = "refresh_requested", *, grace: float = 2.0
    ) -> None:
        """Ask every client to reconnect, then close the sockets.

        Like Slack, the old socket stays open for up to ``grace`` seconds so the client can
        close it itself; new envelopes meanwhile go to a newer connection or the queue.
        """
        conns = list(self._connections)
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": SOCKET_HOST}}
        )
        for conn in conns:
            conn.retiring = True
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_str(message)
        await self._until(lambda: all(c not in self._connections for c in conns), grace)
        await self._close_all(conns, reason.encode())

    async def drop_connections(self, *, abort: bool = True) -> None:
        """Close every socket without a disconnect message.

        ``abort=True`` kills the TCP connection (a network failure: the SDK notices through
        its ping/pong monitor); ``abort=False`` sends a WebSocket close frame instead.
        """
        conns = list(self._connections)
        if not abort:
            await self._close_all(conns, b"dropped")
        for conn in conns:
            conn.retiring = True
            if abort and conn.transport is not None:
                conn.transport.abort()
        await self._until(lambda: all(c not in self._connections for c in conns), 2.0)

    @staticmethod
    async def _close_all(conns: list[_Connection], message: bytes) -> None:
        """Close sockets with a close frame, concurrently (each may wait for the client)."""
        for conn in conns:
            conn.retiring = True
        closes = (c.ws.close(code=WSCloseCode.GOING_AWAY, message=message) for c in conns)
        await asyncio.gather(*closes)

    # The timeout parameters below are part of the fake's API (a deadline in the test's terms).
    async def wait_connected(self, count: int = 1, timeout: float = 10) -> None:
        """Wait until ``count`` connections (in total since start) have received hello."""
        await self.wait_for(
            lambda: self.connection_count >= count,
            timeout=timeout,
            what=f"{count} socket mode connection(s), have {self.connection_count}",
        )

    # ------------------------------------------------------------------ test-side helpers

    async def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        files: Sequence[UploadedFile] | None = None,
    ) -> str:
        """Store a message from someone other than the bot and deliver its events.

        ``files`` are hosted by the fake (see :meth:`file`) and shared by the message, whose
        text may then be "".
        """
        human = bot_id is None
        file_ids = [self._host(f, user).id for f in files or ()]
        message = self._store(
            Message(
                channel=channel,
                ts=self._next_ts(),
                text=text,
                user=user,
                bot_id=bot_id,
                thread_ts=thread_ts,
                # A message that is only files has no rich text.
                blocks=_rich_text_blocks(text) if human and (text or not file_ids) else None,
                client_msg_id=str(uuid.uuid4()) if human else None,
                subtype=subtype,
                file_ids=file_ids,
            )
        )
        events = [self._message_event(message)]
        # Slack sends app_mention as a separate event, except in DMs.
        if f"<@{self.bot_user_id}>" in text and not channel.startswith("D"):
            events.append(self._app_mention_event(message))
        event_ids = self.event_ids_for_ts.setdefault(message.ts, [])
        envelope_ids = self.envelopes_for_ts.setdefault(message.ts, [])
        for event in events:
            event_id = _new_event_id()
            event_ids.append(event_id)
            envelope_ids.append(await self.deliver_event(event, event_id=event_id))
        return message.ts

    def _message_event(self, message: Message) -> dict[str, Any]:
        event = self._message_dict(message)
        event.update(
            channel=message.channel,
            event_ts=message.ts,
            channel_type=_channel_type(message.channel),
        )
        # Only the event says file_share; the stored message (history, replies) has no subtype.
        if message.file_ids and message.subtype is None:
            event["subtype"] = "file_share"
        return event

    def _app_mention_event(self, message: Message) -> dict[str, Any]:
        event = self._message_dict(message)
        event.update(type="app_mention", channel=message.channel, event_ts=message.ts)
        return event

    def add_user(self, user_id: str, name: str, *, is_bot: bool = False) -> None:
        self._users[user_id] = _User(user_id, name, is_bot)

    # ------------------------------------------------------------------ waiting

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait for ``predicate`` on state changes; False if ``within`` seconds pass first."""
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            return False
        return True

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 30.0,
        what: str = "",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking on every API call, ack or connection."""
        if not await self._until(predicate, timeout):
            raise AssertionError(f"timed out waiting for {what}\n{self._debug_dump()}")

    def _debug_dump(self, last: int = 15) -> str:
        lines = [
            f"  {c.method} status={c.status} error={c.error} params={_abbreviate(c.params)}"
            for c in self.calls[-last:]
        ]
        unacked = [e for e in self.sent_at if e not in self.acks]
        return "\n".join(
            [
                f"connections open={len(self._connections)} total={self.connection_count}, "
                f"queued envelopes={len(self._pending)}, unacked={len(unacked)}, "
                f"file requests={len(self.file_requests)}",
                f"last {len(lines)} of {len(self.calls)} API calls:",
                *(lines or ["  (none)"]),
            ]
        )

    # ------------------------------------------------------------------ queries

    def get_message(self, channel: str, ts: str) -> Message | None:
        return self.messages.get((channel, ts))

    def messages_in(self, channel: str) -> list[Message]:
        """Every message in a channel, threads included, oldest first."""
        return self._sorted_messages(channel)

    def thread_messages(self, channel: str, thread_ts: str) -> list[Message]:
        """Replies in a thread (not the parent), oldest first."""
        return [
            m for m in self._sorted_messages(channel) if m.is_reply and m.thread_ts == thread_ts
        ]

    def bot_replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.thread_messages(channel, thread_ts) if m.bot_id == self.bot_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def file(self, file_id: str) -> UploadedFile:
        """A hosted file (shared by a user or uploaded by the bot); KeyError if unknown."""
        return self._files[file_id].file

    @property
    def hosted_files(self) -> dict[str, UploadedFile]:
        """Every hosted file by id, oldest first."""
        return {file_id: hosted.file for file_id, hosted in self._files.items()}

    def file_requests_for(self, file_id: str) -> list[FileRequest]:
        return [r for r in self.file_requests if r.file_id == file_id]


# ---------------------------------------------------------------------- module helpers


def _accept(params: dict[str, Any]) -> dict[str, Any]:
    return {}


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Merge query string and body (JSON, urlencoded or multipart) into one dict."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await _json_body(request))
        elif request.content_type in FORM_CONTENT_TYPES:
            form = await request.post()
            params.update({key: _form_value(value) for key, value in form.items()})
    return {key: _decode_json_param(key, value) for key, value in params.items()}


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise SlackError("invalid_json") from None
    if not isinstance(body, dict):
        raise SlackError("invalid_json")
    return body


def _form_value(value: str | bytes | bytearray | web.FileField) -> Any:
    if isinstance(value, web.FileField):
        return {"filename": value.filename, "content": value.file.read()}
    return value


def _decode_json_param(key: str, value: Any) -> Any:
    if key not in JSON_ENCODED_PARAMS or not isinstance(value, str):
        return value
    if not value.lstrip().startswith(("[", "{")):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, list | dict) else value


def _bearer_token(header: str | None) -> str | None:
    if header is None or not header.startswith("Bearer "):
        return None
    return header.removeprefix("Bearer ").strip() or None


def _pop_token(params: dict[str, Any]) -> str | None:
    token = params.pop("token", None)
    return token if isinstance(token, str) and token else None


def _str_param(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, bool) or value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _int_param(params: dict[str, Any], key: str) -> int | None:
    value = _str_param(params, key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise SlackError("invalid_arguments") from None


def _list_param(params: dict[str, Any], key: str) -> list[Any] | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise SlackError(f"invalid_{key}")
    return value


def _csv_param(params: dict[str, Any], key: str) -> list[str]:
    return [item.strip() for item in (_str_param(params, key) or "").split(",") if item.strip()]


def _file_entries(raw: Any) -> list[dict[str, Any]]:
    """files.completeUploadExternal's ``files``: a JSON string (or list) of {"id", "title"}."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    if not isinstance(raw, list) or not raw:
        raise SlackError("invalid_arguments")
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise SlackError("invalid_arguments")
    return raw


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _image_size(file: UploadedFile) -> tuple[int, int] | None:
    """Pixel size of an image Pillow can read; Slack adds it as original_w / original_h."""
    if not file.mimetype.startswith("image/"):
        return None
    try:
        with Image.open(io.BytesIO(file.content)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _require_channel(params: dict[str, Any]) -> str:
    channel = _str_param(params, "channel")
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def _channel_param(params: dict[str, Any]) -> str:
    return _str_param(params, "channel") or _str_param(params, "channel_id") or ""


def _check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise SlackError("msg_too_long")


def _stream_markdown(params: dict[str, Any]) -> str:
    """The markdown a streaming call appends: ``markdown_text`` then markdown chunks.

    The SDK's chat_stream helper always sends text as ``markdown_text`` chunks, so the
    12,000 character limit applies to their sum, not only to the ``markdown_text`` field.
    """
    chunks = params.get("chunks")
    if chunks is not None and not isinstance(chunks, list):
        raise SlackError("invalid_arguments")
    parts = [_str_param(params, "markdown_text") or ""]
    for chunk in chunks or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            parts.append(str(chunk.get("text", "")))
    markdown = "".join(parts)
    _check_length(markdown, MAX_STREAM_MARKDOWN_CHARS)
    return markdown


def _ts_key(message: Message) -> tuple[int, int]:
    seconds, _, micros = message.ts.partition(".")
    return int(seconds), int(micros or 0)


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _page_start(items: list[Message], cursor: str | None, *, ascending: bool) -> int:
    """Index of the first item at or past the cursor's ts (robust to deleted messages)."""
    if cursor is None:
        return 0
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    prefix, _, ts = decoded.partition(":")
    if prefix != "next_ts" or not ts:
        raise SlackError("invalid_cursor")
    target = _ts_key(Message(channel="", ts=ts, text=""))
    for index, item in enumerate(items):
        key = _ts_key(item)
        if (key >= target) if ascending else (key <= target):
            return index
    return len(items)


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def _new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:10].upper()


def _rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to human messages, mentions included."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]


def _abbreviate(params: dict[str, Any], limit: int = 160) -> str:
    rendered = json.dumps(params, default=repr)
    return rendered if len(rendered) <= limit else rendered[: limit - 3] + "..."
