"""Socket Mode as Slack runs it: connection tickets (``apps.connections.open``), the
WebSocket with its hello, envelopes (queued while no client is connected), acks,
retries, and the ways connections end (disconnect messages, drops).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from sandbox.manifest import event_subscription
from sandbox.workspace.records import ApiMethod, Connection, ResponseTarget
from sandbox.workspace.state import APP_ID, VERIFICATION_TOKEN, WorkspaceState, new_event_id

SOCKET_HOST = "applink-fake-1"

# Called with an envelope id and the ack's payload when a client first acks an envelope.
AckHandler = Callable[[str, Any], None]


class SocketMode:
    """The Socket Mode side of the workspace; connections are recorded in the state."""

    def __init__(self, state: WorkspaceState, on_first_ack: AckHandler) -> None:
        self.state = state
        self._on_first_ack = on_first_ack
        self._tickets: set[str] = set()
        self._accepting = True

    def methods(self) -> dict[str, ApiMethod]:
        return {"apps.connections.open": self._connections_open}

    def accept(self) -> None:
        """Take new connections (again), as after the server (re)starts."""
        self._accepting = True

    async def close(self) -> None:
        """Close every connection; refuse new ones first, or clients would reconnect while
        the old ones close."""
        self._accepting = False
        await _close_all(list(self.state.connections), b"server shutdown")

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        server = self.state.loopback
        return {"url": f"ws://{server.url_host}:{server.port}/socket-mode?ticket={ticket}"}

    async def handle_socket(self, request: web.Request) -> web.StreamResponse:
        if not self._accepting:
            raise web.HTTPServiceUnavailable(text="shutting down")
        if request.query.get("ticket") not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid ticket")
        # autoping answers each ping with a pong carrying the same payload; the SDK parses
        # "sdk-ping-pong:<time>" back out of it to decide whether the link is stale.
        ws = web.WebSocketResponse(autoping=True, timeout=2.0)
        await ws.prepare(request)
        conn = Connection(ws, request.transport)
        try:
            await ws.send_str(json.dumps(self._hello()))
        except ConnectionError:
            return ws  # the client left during the handshake
        self.state.connections.append(conn)
        try:
            self.state.connection_count += 1
            self.state.notify()
            await self._flush_pending(conn)
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._on_client_text(frame.data)
        finally:
            self.state.connections.remove(conn)
            self.state.notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.state.connections) + 1,
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
        first = envelope_id not in self.state.acks
        # The first ack counts: a late duplicate must not hide a slow first answer.
        self.state.acks.setdefault(envelope_id, time.monotonic())
        if "payload" in frame:
            self.state.ack_payloads[envelope_id] = frame["payload"]
        if first:
            self._on_first_ack(envelope_id, frame.get("payload"))
        self.state.notify()

    def _active_connection(self) -> Connection | None:
        active = [c for c in self.state.connections if not c.retiring and not c.ws.closed]
        if not active:
            return None
        if not self.state.spread_envelopes:
            return active[-1]  # the newest
        self.state.next_connection = (self.state.next_connection + 1) % len(active)
        return active[self.state.next_connection]

    async def _send_envelope(self, envelope: dict[str, Any]) -> str:
        envelope_id: str = envelope["envelope_id"]
        self.state.envelopes[envelope_id] = envelope
        conn = self._active_connection()
        if conn is None or not await self._send_on(conn, envelope):
            self.state.pending_envelopes.append(
                envelope
            )  # delivered when a client connects, like Slack
        self.state.notify()
        return envelope_id

    async def _send_on(self, conn: Connection, envelope: dict[str, Any]) -> bool:
        envelope_id = envelope["envelope_id"]
        # Stamped before the write: the client may ack while send_str is still draining.
        self.state.sent_at[envelope_id] = time.monotonic()
        try:
            await conn.ws.send_str(json.dumps(envelope))
        except (ConnectionError, RuntimeError):  # closed between the check and the write
            del self.state.sent_at[envelope_id]
            return False
        return True

    async def _flush_pending(self, conn: Connection) -> None:
        while self.state.pending_envelopes and not conn.ws.closed:
            envelope = self.state.pending_envelopes.popleft()
            if not await self._send_on(conn, envelope):
                self.state.pending_envelopes.appendleft(envelope)
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
        context = json.dumps({"tid": self.state.team_id, "aid": APP_ID}).encode()
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.state.team_id,
            "context_team_id": self.state.team_id,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.state.team_id,
                    "user_id": self.state.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            # Slack Connect: the event comes from a channel shared with another team.
            "is_ext_shared_channel": event.get("user_team", self.state.team_id)
            != self.state.team_id,
            "event_context": "4-" + base64.urlsafe_b64encode(context).decode(),
        }

    async def send_envelope(
        self, type: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Send any Socket Mode envelope (events_api, slash_commands, interactive, ...)."""
        reason = "timeout" if retry_attempt > 0 else ""
        return await self._send_envelope(self._envelope(type, payload, retry_attempt, reason))

    async def send_interaction(
        self, payload: dict[str, Any], target: ResponseTarget | None, type_: str = "interactive"
    ) -> str:
        """Send like send_envelope, binding the response_url to the envelope id first."""
        envelope = self._envelope(type_, payload, 0, "")
        if target is not None:
            target.envelope_id = envelope["envelope_id"]
        return await self._send_envelope(envelope)

    async def deliver_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0
    ) -> str:
        """Wrap a raw event in an events_api envelope and send it; returns the envelope id.

        An event the installed app is not subscribed to, or a message in a conversation
        the bot is not in, is not sent (as in Slack): it is recorded in
        :attr:`undelivered` and the envelope id is "".
        """
        if self.state.app is not None and event_subscription(event) not in self.state.app.events:
            self.state.undelivered.append(event)
            return ""
        channel = event.get("channel")
        if event.get("type") in ("message", "app_mention") and isinstance(channel, str):
            known = self.state.channel_members.get(channel)
            if known is not None and self.state.bot_user_id not in known:
                # Slack sends an app the messages of conversations it is in, only.
                self.state.undelivered.append(event)
                return ""
        payload = self._event_callback(event, event_id or new_event_id())
        return await self.send_envelope("events_api", payload, retry_attempt=retry_attempt)

    async def redeliver(self, envelope_id: str) -> str:
        """Resend an envelope's payload (same event_id) the way Slack retries after a timeout."""
        original = self.state.envelopes[envelope_id]
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
        conns = list(self.state.connections)
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": SOCKET_HOST}}
        )
        for conn in conns:
            conn.retiring = True
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_str(message)
        await self.state.until(lambda: all(c not in self.state.connections for c in conns), grace)
        await _close_all(conns, reason.encode())

    async def drop_connections(self, *, abort: bool = True) -> None:
        """Close every socket without a disconnect message.

        ``abort=True`` kills the TCP connection (a network failure: the SDK notices through
        its ping/pong monitor); ``abort=False`` sends a WebSocket close frame instead.
        """
        conns = list(self.state.connections)
        if not abort:
            await _close_all(conns, b"dropped")
        for conn in conns:
            conn.retiring = True
            if abort and conn.transport is not None:
                conn.transport.abort()
        await self.state.until(lambda: all(c not in self.state.connections for c in conns), 2.0)

    # The timeout parameters below are part of the fake's API (a deadline in the test's terms).
    async def wait_connected(self, count: int = 1, timeout: float = 10) -> None:
        """Wait until ``count`` connections (in total since start) have received hello."""
        await self.state.wait_for(
            lambda: self.state.connection_count >= count,
            timeout=timeout,
            what=f"{count} socket mode connection(s), have {self.state.connection_count}",
        )


async def _close_all(conns: list[Connection], message: bytes) -> None:
    """Close sockets with a close frame, concurrently (each may wait for the client)."""
    for conn in conns:
        conn.retiring = True
    closes = (c.ws.close(code=WSCloseCode.GOING_AWAY, message=message) for c in conns)
    await asyncio.gather(*closes)
