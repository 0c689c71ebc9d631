"""The sandbox's web page: a person uses the embedded workspace (:class:`FakeSlack`) like Slack.

:func:`add_page` adds the page and its small JSON API to the workspace server's aiohttp
Application (``FakeSlack.start(setup=...)``). The page plays one person, :data:`SANDBOX_USER`,
in two channels and a DM with the bot; everything they do goes through the workspace's own
test-side senders, so the bot sees exactly what Slack would send it.

Routes (behind the server's guard, :mod:`sandbox.guard`). Each run has a random key, in the
address the sandbox prints: ``GET /?key=KEY`` sets it as a cookie (HttpOnly, SameSite=Strict)
and redirects to ``/``, so the page's own requests carry it and the key leaves the address
bar. Every route refuses a request without that cookie (403, saying where the right address
is): a program that can reach the port but never saw the terminal cannot use the page.

* ``GET /`` the page; ``GET /static/{name}`` its script and style sheet.
* ``GET /sandbox/info`` what :func:`add_page` was told (which model answers, ...).
* ``GET /sandbox/state[?since=V][&wait=S]`` everything the page shows, with a ``version``
  that grows whenever any of it changes. With ``since`` equal to the current version the
  answer waits (long poll, at most ``long_poll`` seconds, or ``wait`` if shorter) for a
  change and is 204 if none came.
* ``POST /sandbox/message`` JSON ``{channel, text, thread_ts?}``, or multipart with the same
  fields plus files: a message from the person (text in Slack's format: ``&``, ``<``,
  ``>`` escaped, mentions as ``<@U…>``; the page converts what was typed).
* ``POST /sandbox/command`` ``{channel, text}``: ``/ai text``.
* ``POST /sandbox/click`` ``{action_id, channel?, ts? | ephemeral_ts? | view_id?, value?,
  block_id?, values?}``: use an element of a message, an ephemeral message or a view;
  ``values`` (by action_id) are what the person entered in the view's other inputs.
* ``POST /sandbox/submit`` ``{view_id, values}`` answers ``{ok, closed, errors}``;
  ``POST /sandbox/close`` ``{view_id}``.
* ``POST /sandbox/shortcut`` ``{channel, ts, callback_id?}``, ``POST /sandbox/home``.
* ``POST /sandbox/assistant`` ``{context_channel?}``: for an agent app (``agent_view``,
  the project's manifest) the person opens the app's Messages tab beside that channel
  (``app_home_opened`` tab "messages", then ``app_context_changed``), answered
  ``{channel: DM, thread_ts: null}``; for an ``assistant_view`` app the assistant panel
  opens a thread, answered ``{channel, thread_ts}``.
* ``POST /sandbox/context`` ``{channel}``: the person now has that channel open beside the
  app (``app_context_changed`` when it changed; agent apps only, else a no-op).
* ``POST /sandbox/stop`` ``{channel, thread_ts}``: Slack's stop button on the answer being
  written there (``agent_session_stopped``).
* ``GET /sandbox/file/{file_id}[?download=1]`` a hosted file's bytes (bot uploads and the
  person's files alike).

POSTs answer ``{"ok": true, ...}``, or 400 ``{"ok": false, "error": ...}`` when the person
could not have done that (the workspace's AssertionError text says why).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from aiohttp import web

from sandbox.workspace import ApiCall, Ephemeral, FakeSlack, Message, UploadedFile, View

__all__ = ["CHANNELS", "DM", "SANDBOX_NAME", "SANDBOX_USER", "add_page"]

SANDBOX_USER = "USANDBOX"  # the person using the page, shown as "you"
SANDBOX_NAME = "you"
CHANNELS = {"C0GENERAL": "general", "C0RANDOM": "random"}
DM = "D0SANDBOX"  # the person's DM with the bot
# The app's message shortcuts (manifest.json), offered in each message's menu.
SHORTCUTS = (("thread_settings", "Thread settings"), ("summarize_thread", "Summarize thread"))
STATIC_DIR = Path(__file__).parent / "static"
LONG_POLL_SECONDS = 20.0
# How often a long poll re-reads the state even without a change notification.
RECHECK_SECONDS = 2.0
SUBMIT_TIMEOUT_SECONDS = 10.0
KEY_QUERY = "key"
# The port is in the cookie's name: cookies are shared by every port of a host, and two
# sandboxes on one computer must not overwrite each other's key.
COOKIE_PREFIX = "sandbox_key_"
NO_KEY = (
    "This sandbox page opens only from the address printed in the terminal where "
    "`python main.py sandbox` runs (it ends in ?key=…); each start prints a new one."
)
STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
STREAM_METHODS = frozenset({"chat.appendStream", "chat.stopStream"})
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# Files are shown as their own documents: a sandbox keeps an HTML or SVG file from running
# script in the page's origin.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Refused(Exception):
    """A request the person could not have made; becomes 400 {"ok": false, "error": ...}."""


def add_page(
    app: web.Application,
    workspace: FakeSlack,
    *,
    key: str,
    info: Mapping[str, str] | None = None,
    long_poll: float = LONG_POLL_SECONDS,
) -> None:
    """Serve the page and its API from ``app``, the workspace server's Application.

    Registers the sandbox user's name and the channels' names with the workspace and makes
    :data:`DM` the user's DM with the bot. ``key`` is the run's secret that the page's
    address carries (see the module docstring). ``info`` is shown in the page's banner (e.g.
    ``{"model": "gpt-5-mini"}``); ``long_poll`` caps how long ``/sandbox/state`` waits.
    """
    page = _Page(workspace, dict(info or {}), long_poll)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/", page.index),
        ("GET", "/static/{name}", page.static),
        ("GET", "/sandbox/info", page.info),
        ("GET", "/sandbox/state", page.state),
        ("GET", "/sandbox/file/{file_id}", page.file),
        ("POST", "/sandbox/message", page.message),
        ("POST", "/sandbox/command", page.command),
        ("POST", "/sandbox/click", page.click),
        ("POST", "/sandbox/submit", page.submit),
        ("POST", "/sandbox/close", page.close),
        ("POST", "/sandbox/shortcut", page.shortcut),
        ("POST", "/sandbox/home", page.home),
        ("POST", "/sandbox/assistant", page.assistant),
        ("POST", "/sandbox/context", page.context),
        ("POST", "/sandbox/stop", page.stop),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler, key))


def _guarded(handler: Handler, key: str) -> Handler:
    """Refuse requests without the run's key; turn refusals into 400."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        cookie = _cookie_name(request)
        offered = request.query.get(KEY_QUERY) if request.path == "/" else None
        if offered is not None and _is_key(offered, key):
            # Redirected so that the key leaves the address bar and the history.
            redirect = web.Response(status=303, headers={"Location": "/"})
            redirect.set_cookie(cookie, key, path="/", httponly=True, samesite="Strict")
            return redirect
        if not _is_key(request.cookies.get(cookie, ""), key):
            if request.path.startswith("/sandbox/"):  # the page shows the error's text
                return web.json_response({"ok": False, "error": NO_KEY}, status=403)
            return web.Response(status=403, text=NO_KEY)
        try:
            return await handler(request)
        except (_Refused, AssertionError) as refusal:
            # The first line says it; the workspace may add a debugging dump below.
            error = str(refusal).partition("\n")[0]
            return web.json_response({"ok": False, "error": error}, status=400)

    return guarded


class _Page:
    def __init__(self, workspace: FakeSlack, info: dict[str, str], long_poll: float) -> None:
        self.ws = workspace
        self._info = info
        self._long_poll = max(0.0, long_poll)
        self._version = 0
        self._digest = ""
        self._snapshot: dict[str, Any] = {}
        # Messages written through Slack's streaming API hold markdown, not mrkdwn, and show their
        # blocks (chat.stopStream's) under it, until chat.update replaces both.
        self._streamed: set[tuple[str, str]] = set()
        self._calls_ref: list[ApiCall] | None = None
        # The channel the person last had open beside the app (agent apps).
        self._viewed: str | None = None
        self._calls_seen = 0
        workspace.add_user(SANDBOX_USER, SANDBOX_NAME)
        workspace.channel_names.update(CHANNELS)
        for channel in CHANNELS:
            workspace.add_channel(channel, [SANDBOX_USER])
        workspace.dm_channels[SANDBOX_USER] = DM

    # ------------------------------------------------------------------ page and files

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers=_page_headers())

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC_DIR / name
        if not STATIC_NAME.match(name) or not path.is_file():
            raise web.HTTPNotFound(text="no such file")
        return web.FileResponse(path, headers=_page_headers())

    async def info(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._info)

    async def file(self, request: web.Request) -> web.StreamResponse:
        file = self.ws.hosted_files.get(request.match_info["file_id"])
        if file is None:
            raise web.HTTPNotFound(text="no such file")
        disposition = "attachment" if request.query.get("download") else "inline"
        return web.Response(
            body=file.content,
            headers={
                "Content-Type": file.mimetype or "application/octet-stream",
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(file.name)}",
                "Content-Security-Policy": FILE_CSP,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, max-age=3600",
            },
        )

    # ------------------------------------------------------------------ state

    async def state(self, request: web.Request) -> web.StreamResponse:
        since = _int_query(request, "since")
        wait = self._long_poll
        asked = request.query.get("wait")
        if asked is not None:
            try:
                wait = min(wait, max(0.0, float(asked)))
            except ValueError:
                raise _Refused("wait must be a number of seconds") from None
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + wait
        while True:
            seen = self.ws.change_count
            snapshot = self._current()
            if since is None or since != self._version:
                return web.json_response(snapshot, headers={"Cache-Control": "no-store"})
            remaining = deadline - loop_time()
            if remaining <= 0:
                return web.Response(status=204, headers={"Cache-Control": "no-store"})
            await self.ws.wait_change(seen, min(remaining, RECHECK_SECONDS))

    def _current(self) -> dict[str, Any]:
        """The state, with a version bumped if anything in it changed since the last look."""
        body = self._build_state()
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if digest != self._digest:
            self._digest = digest
            self._version += 1
            self._snapshot = {"version": self._version, **body}
        return self._snapshot

    def _build_state(self) -> dict[str, Any]:
        ws = self.ws
        self._track_streams()
        users: dict[str, str] = {
            SANDBOX_USER: ws.user_name(SANDBOX_USER),
            ws.bot_user_id: ws.user_name(ws.bot_user_id),
        }
        conversations = [
            self._conversation(channel, name, "channel", users)
            for channel, name in CHANNELS.items()
        ]
        conversations.append(self._conversation(DM, users[ws.bot_user_id], "dm", users))
        ephemerals = [
            self._ephemeral(e, users)
            for e in ws.ephemerals_for(SANDBOX_USER)
            if e.channel in CHANNELS or e.channel == DM
        ]
        modals = [self._view(v) for v in ws.open_modals(SANDBOX_USER)]
        home = ws.home_view(SANDBOX_USER)
        return {
            "me": {"id": SANDBOX_USER, "name": users[SANDBOX_USER]},
            "bot": {"id": ws.bot_user_id, "name": users[ws.bot_user_id]},
            "conversations": conversations,
            "ephemerals": ephemerals,
            "modals": modals,
            "home": self._view(home) if home is not None else None,
            "assistant_threads": self._assistant_threads(),
            "agent": self._agent_app,
            "sessions": [
                {"channel": channel, "thread_ts": thread_ts, "status": status}
                for (channel, thread_ts), status in sorted(ws.sessions.items())
                if channel in CHANNELS or channel == DM
            ],
            "shortcuts": [{"callback_id": c, "name": n} for c, n in SHORTCUTS],
            "users": users,
        }

    def _track_streams(self) -> None:
        calls = self.ws.calls
        if calls is not self._calls_ref or len(calls) < self._calls_seen:  # reset()
            self._calls_ref, self._calls_seen = calls, 0
            self._streamed.clear()
        for call in calls[self._calls_seen :]:
            channel, ts = call.params.get("channel"), call.params.get("ts")
            if not (isinstance(channel, str) and isinstance(ts, str)):
                continue
            if call.method in STREAM_METHODS:
                self._streamed.add((channel, ts))
            elif call.method == "chat.update":  # new content replaces the streamed markdown
                self._streamed.discard((channel, ts))
        self._calls_seen = len(calls)

    def _conversation(
        self, channel: str, name: str, kind: str, users: dict[str, str]
    ) -> dict[str, Any]:
        messages = self.ws.messages_in(channel)
        top = [m for m in messages if not m.is_reply]
        threads: dict[str, list[dict[str, Any]]] = {}
        for reply in messages:
            if reply.is_reply and reply.thread_ts is not None:
                threads.setdefault(reply.thread_ts, []).append(self._message(reply, [], users))
        return {
            "id": channel,
            "name": name,
            "kind": kind,
            "messages": [self._message(m, threads.get(m.ts, []), users) for m in top],
            "threads": threads,
        }

    def _message(
        self, message: Message, replies: list[dict[str, Any]], users: dict[str, str]
    ) -> dict[str, Any]:
        ws = self.ws
        is_bot = message.bot_id is not None
        author = message.user or message.bot_id or ""
        if message.user is not None:
            users.setdefault(message.user, ws.user_name(message.user))
        self._note_mentions(message.text, users)
        streamed = message.streaming or (message.channel, message.ts) in self._streamed
        return {
            "ts": message.ts,
            "thread_ts": message.thread_ts if message.is_reply or replies else None,
            "user": author,
            "name": ws.user_name(message.user) if message.user else author.lower(),
            "is_bot": is_bot,
            "subtype": message.subtype,
            "text": message.text,
            "format": "markdown" if streamed else "mrkdwn",
            "blocks": message.blocks,
            "files": [self._file(file_id) for file_id in message.file_ids],
            "streaming": message.streaming,
            "tasks": list(message.tasks.values()),
            "reply_count": len(replies),
            "latest_reply": replies[-1]["ts"] if replies else None,
            "reply_users": sorted({r["user"] for r in replies}),
            "reactions": self._reactions(message, users),
        }

    def _reactions(self, message: Message, users: dict[str, str]) -> list[dict[str, Any]]:
        """As Slack's API lists them: each emoji once, in the order first added."""
        for reacted in message.reactions.values():
            for user in reacted:
                users.setdefault(user, self.ws.user_name(user))
        return [
            {"name": name, "count": len(reacted), "users": list(reacted)}
            for name, reacted in message.reactions.items()
            if reacted
        ]

    def _note_mentions(self, text: str, users: dict[str, str]) -> None:
        for user in MENTION.findall(text):
            users.setdefault(user, self.ws.user_name(user))

    def _file(self, file_id: str) -> dict[str, Any]:
        file = self.ws.hosted_files.get(file_id)
        if file is None:  # deleted: Slack shows a tombstone
            return {"id": file_id, "name": "(file not found)", "missing": True}
        upload = next((u for u in self.ws.uploads if u.file_id == file_id), None)
        return {
            "id": file_id,
            "name": file.name,
            "title": upload.title if upload is not None else file.name,
            "alt_text": upload.alt_text if upload is not None else None,
            "mimetype": file.mimetype,
            "filetype": file.filetype,
            "size": len(file.content),
            "is_image": file.mimetype.startswith("image/"),
            "url": f"/sandbox/file/{quote(file_id)}",
            "download_url": f"/sandbox/file/{quote(file_id)}?download=1",
        }

    def _ephemeral(self, ephemeral: Ephemeral, users: dict[str, str]) -> dict[str, Any]:
        self._note_mentions(ephemeral.text, users)
        return {
            "channel": ephemeral.channel,
            "ts": ephemeral.message_ts,
            "thread_ts": ephemeral.thread_ts,
            "text": ephemeral.text,
            "blocks": ephemeral.blocks,
            "via": ephemeral.via,
        }

    @staticmethod
    def _view(view: View) -> dict[str, Any]:
        return {
            "view_id": view.id,
            "type": view.type,
            "callback_id": view.callback_id,
            "hash": view.hash,
            "title": _plain(view.title),
            "submit": _plain(view.submit) if view.submit is not None else None,
            "close": _plain(view.close) if view.close is not None else None,
            "blocks": view.blocks,
            "errors": view.errors,
            "values": _entered_values(view.state_values),
        }

    def _assistant_threads(self) -> list[dict[str, Any]]:
        ws = self.ws
        shown = {*CHANNELS, DM}
        keys = {*ws.assistant_titles, *ws.assistant_status, *ws.suggested_prompts}
        panel = {
            (m.channel, m.ts)
            for m in ws.messages_in(DM)
            if m.subtype == "assistant_app_thread" and not m.is_reply
        }
        threads = []
        for channel, thread_ts in sorted(keys | panel, key=lambda k: (k[0], _ts_number(k[1]))):
            if channel not in shown:
                continue
            prompts = ws.suggested_prompts.get((channel, thread_ts))
            threads.append(
                {
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "panel": (channel, thread_ts) in panel,
                    "title": ws.assistant_titles.get((channel, thread_ts)),
                    "status": ws.assistant_status.get((channel, thread_ts)) or "",
                    "prompts": list(prompts.prompts) if prompts is not None else [],
                    "prompts_title": prompts.title if prompts is not None else None,
                }
            )
        return threads

    # ------------------------------------------------------------------ what the person does

    async def message(self, request: web.Request) -> web.StreamResponse:
        files: list[UploadedFile] = []
        if request.content_type == "multipart/form-data":
            form = await request.post()
            fields: dict[str, Any] = {}
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files.append(_uploaded(value))
                else:
                    fields[key] = value if isinstance(value, str) else None
        else:
            fields = await _json(request)
        channel = self._channel(fields)
        text = _optional_str(fields, "text") or ""
        thread_ts = _optional_str(fields, "thread_ts") or None
        if not text.strip() and not files:
            raise _Refused("the message is empty")
        if thread_ts is not None:
            parent = self.ws.get_message(channel, thread_ts)
            if parent is None or parent.is_reply:
                raise _Refused(f"no thread {thread_ts} in {channel}")
        ts = await self.ws.post_user_message(
            channel, SANDBOX_USER, text, thread_ts=thread_ts, files=files or None
        )
        posted = self.ws.get_message(channel, ts)
        file_ids = posted.file_ids if posted is not None else []
        return web.json_response({"ok": True, "channel": channel, "ts": ts, "files": file_ids})

    async def command(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        channel = self._channel(body)
        text = (_optional_str(body, "text") or "").strip()
        command = _optional_str(body, "command") or "/ai"
        envelope_id = await self.ws.slash_command(SANDBOX_USER, channel, text, command=command)
        return web.json_response({"ok": True, "envelope_id": envelope_id})

    async def click(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        action_id = _required_str(body, "action_id")
        block_id = _optional_str(body, "block_id") or None
        value = _value(body.get("value"))
        view_id = _optional_str(body, "view_id")
        ephemeral_ts = _optional_str(body, "ephemeral_ts")
        ts = _optional_str(body, "ts")
        if view_id:
            entered = body.get("values")
            if isinstance(entered, dict):
                self._enter(view_id, {k: v for k, v in entered.items() if k != action_id})
            envelope_id = await self.ws.click(
                SANDBOX_USER, action_id=action_id, view_id=view_id, value=value, block_id=block_id
            )
        elif ephemeral_ts:
            ephemeral = next(
                (e for e in self.ws.ephemerals_for(SANDBOX_USER) if e.message_ts == ephemeral_ts),
                None,
            )
            if ephemeral is None:
                raise _Refused(f"no ephemeral message {ephemeral_ts} is shown to you")
            envelope_id = await self.ws.click(
                SANDBOX_USER,
                action_id=action_id,
                ephemeral=ephemeral,
                value=value,
                block_id=block_id,
            )
        elif ts:
            message = self._find_message(_optional_str(body, "channel"), ts)
            envelope_id = await self.ws.click(
                SANDBOX_USER, action_id=action_id, message=message, value=value, block_id=block_id
            )
        else:
            raise _Refused("say what was clicked: ts, ephemeral_ts or view_id")
        return web.json_response({"ok": True, "envelope_id": envelope_id})

    async def submit(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        view_id = _required_str(body, "view_id")
        raw = body.get("values") or {}
        if not isinstance(raw, dict):
            raise _Refused("values must be an object by action_id")
        values = {k: _value(v) for k, v in raw.items() if isinstance(k, str)}
        envelope_id = await self.ws.submit_view(
            SANDBOX_USER, view_id, values, timeout=SUBMIT_TIMEOUT_SECONDS
        )
        view = self.ws.views.get(view_id)
        return web.json_response(
            {
                "ok": True,
                "envelope_id": envelope_id,
                "closed": view is None or view.closed,
                "errors": view.errors if view is not None else None,
            }
        )

    async def close(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        envelope_id = await self.ws.close_view(SANDBOX_USER, _required_str(body, "view_id"))
        return web.json_response({"ok": True, "envelope_id": envelope_id or None})

    async def shortcut(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        channel = self._channel(body)
        ts = _required_str(body, "ts")
        callback_id = _optional_str(body, "callback_id") or SHORTCUTS[0][0]
        envelope_id = await self.ws.message_shortcut(SANDBOX_USER, channel, ts, callback_id)
        return web.json_response({"ok": True, "envelope_id": envelope_id})

    async def home(self, request: web.Request) -> web.StreamResponse:
        envelope_id = await self.ws.open_home(SANDBOX_USER)
        return web.json_response({"ok": True, "envelope_id": envelope_id})

    async def assistant(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request) if request.can_read_body else {}
        context = _optional_str(body, "context_channel") or None
        if context is not None and context not in CHANNELS:
            raise _Refused(f"unknown channel {context!r}")
        if self._agent_app:
            await self.ws.open_messages_tab(SANDBOX_USER)
            await self._viewing(context)
            return web.json_response({"ok": True, "channel": DM, "thread_ts": None})
        channel, thread_ts = await self.ws.start_assistant_thread(
            SANDBOX_USER, context_channel=context
        )
        return web.json_response({"ok": True, "channel": channel, "thread_ts": thread_ts})

    async def context(self, request: web.Request) -> web.StreamResponse:
        channel = _required_str(await _json(request), "channel")
        if channel not in CHANNELS:
            raise _Refused(f"unknown channel {channel!r}")
        if self._agent_app:
            await self._viewing(channel)
        return web.json_response({"ok": True})

    async def stop(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        channel, thread_ts = self._channel(body), _required_str(body, "thread_ts")
        envelope_id = await self.ws.press_stop(SANDBOX_USER, channel, thread_ts)
        return web.json_response({"ok": True, "envelope_id": envelope_id})

    @property
    def _agent_app(self) -> bool:
        return self.ws.app is not None and self.ws.app.experience == "agent"

    async def _viewing(self, channel: str | None) -> None:
        """Tell the app what the person has open beside it, when that changed."""
        if channel == self._viewed:
            return
        self._viewed = channel
        entities = [{"type": "slack#/types/channel_id", "value": channel}] if channel else []
        await self.ws.change_context(SANDBOX_USER, entities)

    # ------------------------------------------------------------------ helpers

    def _channel(self, body: Mapping[str, Any]) -> str:
        channel = _required_str(body, "channel")
        if channel not in CHANNELS and channel != DM:
            raise _Refused(f"unknown conversation {channel!r}")
        return channel

    def _enter(self, view_id: str, values: Mapping[str, Any]) -> None:
        """Record what the person entered in a view's other inputs, one by one: one the
        workspace cannot hold (an element it does not model, a stale option) is left out
        rather than losing the click."""
        for action_id, raw in values.items():
            try:
                self.ws.enter_values(SANDBOX_USER, view_id, {action_id: _value(raw)})
            except (AssertionError, _Refused):
                continue

    def _find_message(self, channel: str | None, ts: str) -> Message:
        if channel:
            found = self.ws.get_message(channel, ts)
        else:  # ts values are unique across the workspace
            found = next((m for m in self.ws.messages.values() if m.ts == ts), None)
        if found is None:
            raise _Refused(f"no message {ts}")
        return found


def _cookie_name(request: web.Request) -> str:
    # The guard let only this server's own port through in Host.
    return f"{COOKIE_PREFIX}{request.url.port}"


def _is_key(offered: str, key: str) -> bool:
    # In constant time; as bytes, since compare_digest refuses non-ASCII text.
    return secrets.compare_digest(offered.encode(), key.encode())


def _page_headers() -> dict[str, str]:
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": PAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _int_query(request: web.Request, key: str) -> int | None:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise _Refused(f"{key} must be an integer") from None


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _Refused("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _Refused("the body must be a JSON object")
    return body


def _optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Refused(f"{key} must be a string")
    return value


def _required_str(body: Mapping[str, Any], key: str) -> str:
    value = _optional_str(body, key)
    if not value:
        raise _Refused(f"{key} is required")
    return value


def _value(raw: Any) -> str | list[str] | None:
    """A value as the workspace's senders take it: text, an option value or a list."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        raise _Refused("a value is a string, a list of strings or null")
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return list(raw)
    raise _Refused("a value is a string, a list of strings or null")


def _uploaded(field: web.FileField) -> UploadedFile:
    name = PurePath((field.filename or "").replace("\\", "/")).name or "file"
    mimetype = field.content_type or ""
    if not mimetype or mimetype == "application/octet-stream":
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return UploadedFile(name, mimetype, field.file.read())


def _plain(text: Any) -> str:
    if isinstance(text, dict):
        return str(text.get("text") or "")
    return text if isinstance(text, str) else ""


def _entered_values(state: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What the person entered in a view, by action_id, as the page's inputs hold it."""
    values: dict[str, Any] = {}
    for entries in state.values():
        for action_id, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            for key, value in entry.items():
                if key != "type":
                    values[action_id] = _plain_value(value)
    return values


def _plain_value(value: Any) -> Any:
    if isinstance(value, dict):  # an option
        return value.get("value")
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain_value(v) for v in value]
    return value


def _ts_number(ts: str) -> tuple[int, int]:
    whole, _, fraction = ts.partition(".")
    try:
        return int(whole), int((fraction + "000000")[:6])
    except ValueError:
        return 0, 0
