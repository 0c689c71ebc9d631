"""Slack's HTTP delivery (the Events API, interactivity and slash commands as requests to
the app's request URLs), for apps that run in HTTP mode rather than Socket Mode.

The envelopes are Socket Mode's (built by :class:`SocketMode`, so payloads, subscription
rules and the envelope records are the same); only their way out differs. Each goes out
as Slack sends it: a POST signed with the signing secret (``X-Slack-Request-Timestamp``,
``X-Slack-Signature`` = ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``), events as the
event_callback JSON, interactions as the form field ``payload=<json>``, slash commands as
form fields. An HTTP 200 within the ack deadline (3 s) is the ack; its body is the ack's
payload (JSON, or a slash command's plain text). A retry carries ``X-Slack-Retry-Num``
and ``X-Slack-Retry-Reason`` (``http_timeout``, ``http_error``, ``connection_failed``):
a test redelivers, or sets :attr:`HttpDelivery.retry_delays` for Slack's own retries of
failed events.

Requests go to the request URLs in turn (instances behind a load balancer), or all to
the one a test aims at (:meth:`HttpDelivery.aim`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from sandbox.workspace.socket_mode import AckHandler, SocketMode
from sandbox.workspace.state import VERIFICATION_TOKEN, WorkspaceState

# Slack's own bound on retries of one event.
MAX_RETRIES = 3


@dataclass
class Delivery:
    """One request Slack made: where, which attempt, and what came of it."""

    envelope_id: str
    url: str
    retry_num: int
    sent_at: float
    # HTTP status, or None when no answer came within the ack deadline.
    status: int | None = None
    answered_at: float | None = None
    body: str = ""
    # Slack's X-Slack-Retry-Reason for this attempt's failure; "" when it was acked.
    failure: str = ""


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature of `body` sent at `timestamp`."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class HttpDelivery(SocketMode):
    """Envelopes posted to the app's request URLs; see the module's text."""

    def __init__(
        self,
        state: WorkspaceState,
        on_first_ack: AckHandler,
        urls: Sequence[str],
        signing_secret: str,
    ) -> None:
        super().__init__(state, on_first_ack)
        self._secret = signing_secret
        self.route(urls)
        # Seconds before each retry of an event Slack saw fail (Slack's own: 0, 60, 300);
        # empty: none unless a test redelivers.
        self.retry_delays: tuple[float, ...] = ()
        # Every request made, oldest first.
        self.deliveries: list[Delivery] = []
        self._session: aiohttp.ClientSession | None = None
        self._posting: set[asyncio.Task[None]] = set()

    def route(self, urls: Sequence[str]) -> None:
        """Send requests to `urls` in turn from now on (instances joining or leaving)."""
        if not urls:
            raise ValueError("HTTP delivery needs at least one request URL")
        self.urls = list(urls)
        self._turns = itertools.cycle(self.urls)
        self._aimed: str | None = None

    def aim(self, url: str | None) -> None:
        """Send every request to `url` (one of the request URLs), or in turn again (None)."""
        if url is not None and url not in self.urls:
            raise ValueError(f"{url} is not one of the request URLs")
        self._aimed = url

    def deliveries_of(self, envelope_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.envelope_id == envelope_id]

    def answered(self, envelope_id: str) -> bool:
        """Whether a request for the envelope has its outcome (an answer, or none in time)."""
        return any(d.answered_at is not None for d in self.deliveries_of(envelope_id))

    def signed_headers(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        """The headers Slack signs `body` with (a test may alter them)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(self._secret, stamp, body),
        }

    async def verify_url(self, url: str | None = None) -> tuple[str, int, str]:
        """Slack's check of a request URL when an admin saves it: a url_verification
        challenge. Returns (the challenge, the HTTP status, the answer's body)."""
        challenge = secrets.token_urlsafe(24)
        body = json.dumps(
            {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        )
        headers = {"Content-Type": "application/json", **self.signed_headers(body)}
        session = self._client()
        async with session.post(url or self.urls[0], data=body, headers=headers) as response:
            return challenge, response.status, await response.text()

    async def send_envelope(
        self, type: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Send any envelope's payload as Slack's request (a retry if `retry_attempt`)."""
        reason = "http_timeout" if retry_attempt > 0 else ""
        return await self._send_envelope(self._envelope(type, payload, retry_attempt, reason))

    async def redeliver(self, envelope_id: str) -> str:
        """Send an envelope's payload again (same event_id) as Slack retries: the next
        X-Slack-Retry-Num, and the reason the last attempt failed (a timeout if none did)."""
        original = self.state.envelopes[envelope_id]
        attempt = int(original.get("retry_attempt", 0)) + 1
        if attempt > MAX_RETRIES:
            raise AssertionError(f"Slack retries a delivery {MAX_RETRIES} times at most")
        last = self.deliveries_of(envelope_id)
        reason = (last[-1].failure if last else "") or "http_timeout"
        envelope = self._envelope(original["type"], original["payload"], attempt, reason)
        return await self._send_envelope(envelope)

    async def close(self) -> None:
        """Cut off requests in flight and close the client."""
        for task in self._posting:
            task.cancel()
        await asyncio.gather(*self._posting, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send_envelope(self, envelope: dict[str, Any]) -> str:
        envelope_id: str = envelope["envelope_id"]
        self.state.envelopes[envelope_id] = envelope
        url = self._aimed or next(self._turns)
        # Stamped before the request: the app may answer before the task runs on.
        self.state.sent_at[envelope_id] = time.monotonic()
        task = asyncio.create_task(self._post(envelope, url))
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)
        self.state.notify()
        return envelope_id

    async def _post(self, envelope: dict[str, Any], url: str) -> None:
        envelope_id: str = envelope["envelope_id"]
        body, content_type = _body(envelope)
        headers = {"Content-Type": content_type, **self.signed_headers(body)}
        attempt = int(envelope.get("retry_attempt", 0))
        if attempt:
            headers["X-Slack-Retry-Num"] = str(attempt)
            headers["X-Slack-Retry-Reason"] = str(envelope.get("retry_reason", ""))
        delivery = Delivery(envelope_id, url, attempt, time.monotonic())
        self.deliveries.append(delivery)
        try:
            async with asyncio.timeout(self.state.ack_deadline):
                async with self._client().post(url, data=body, headers=headers) as response:
                    delivery.body = await response.text()
                    delivery.status = response.status
            if response.status != 200:
                delivery.failure = "http_error"
        except TimeoutError:
            delivery.failure = "http_timeout"
        except (aiohttp.ClientError, OSError):
            delivery.failure = "connection_failed"
        delivery.answered_at = time.monotonic()
        if delivery.status == 200:
            self._acked(envelope_id, _ack_payload(delivery.body))
        self.state.notify()
        if delivery.status != 200 and envelope["type"] == "events_api":
            await self._retry_later(envelope_id, attempt)

    async def _retry_later(self, envelope_id: str, attempt: int) -> None:
        """Slack's own retries of a failed event, when retry_delays asks for them."""
        if attempt < min(len(self.retry_delays), MAX_RETRIES):
            await asyncio.sleep(self.retry_delays[attempt])
            await self.redeliver(envelope_id)

    def _acked(self, envelope_id: str, payload: Any) -> None:
        first = envelope_id not in self.state.acks
        self.state.acks.setdefault(envelope_id, time.monotonic())
        if payload is not None:
            self.state.ack_payloads[envelope_id] = payload
        if first:
            self._on_first_ack(envelope_id, payload)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No proxy from the environment: the app is on loopback. No bound on
            # connections either: Slack opens as many as its deliveries need, and a
            # request queued here behind aiohttp's default 100 would spend the app's 3 s
            # to answer before it was even sent (a burst of 600 lost hundreds that way).
            self._session = aiohttp.ClientSession(
                trust_env=False, connector=aiohttp.TCPConnector(limit=0)
            )
        return self._session


def _body(envelope: dict[str, Any]) -> tuple[str, str]:
    payload = envelope["payload"]
    kind = envelope["type"]
    if kind == "events_api":
        return json.dumps(payload), "application/json"
    form = "application/x-www-form-urlencoded"
    if kind == "slash_commands":
        return urlencode({key: str(value) for key, value in payload.items()}), form
    return urlencode({"payload": json.dumps(payload)}), form


def _ack_payload(body: str) -> Any:
    """What Slack takes from a 200's body: JSON, else a slash command's plain text reply."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return {"text": body}
