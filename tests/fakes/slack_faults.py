"""Faults and rate limits for the fake Slack workspace, which tests attach to it:
``faults = attach_faults(slack)``, then ``faults.fail_next(...)``, ``faults.rate_limit(...)``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.workspace import ApiCall, FakeSlack, FileRequest, Refusal
from slack_client.transport.limits import DEFAULT_LIMIT, METHOD_LIMITS, MethodLimit
from tests.fakes.slack_rate_limits import RealisticLimits

__all__ = ["SlackFaults", "attach_faults"]


@dataclass
class _RateLimit:
    per_second: float
    burst: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


class SlackFaults:
    """What a test makes Slack refuse: a :class:`sandbox.workspace.Gatekeeper`.

    Asked before the workspace answers an authorised Web API call: queued failures
    (:meth:`fail_next`) first, then the limits (:meth:`rate_limit`,
    :meth:`realistic_limits`). Asked before it serves a hosted file: :meth:`fail_next_file`.
    """

    def __init__(self) -> None:
        self._failures: dict[str, deque[Refusal]] = {}
        self._file_failures: deque[int] = deque()
        self._rate_limits: dict[str, _RateLimit] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        # Slack's published limits, when a test turned them on (see realistic_limits).
        self._realistic: RealisticLimits | None = None
        # Calls answered 429, by method, whichever fault or limit refused them.
        self.rate_limited_count: dict[str, int] = {}

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
        failures = self._failures.setdefault(method, deque())
        failures.extend(Refusal(resolved, error, retry_after) for _ in range(count))

    def clear(self, method: str) -> None:
        """Drop the failures still queued for ``method`` by fail_next."""
        self._failures.pop(method, None)

    def fail_next_file(self, status: int, count: int = 1) -> None:
        """Make the next ``count`` hosted-file requests answer HTTP ``status`` (before auth)."""
        self._file_failures.extend([status] * count)

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

    def realistic_limits(
        self,
        limits: Mapping[str, MethodLimit] | None = METHOD_LIMITS,
        *,
        default: MethodLimit | None = DEFAULT_LIMIT,
    ) -> None:
        """Limit every Web API call like Slack does, with ``limits`` by method.

        Each call draws from its method's bucket across the workspace and, for a method
        with a ``channel_budget``, from that budget's bucket in the call's channel (shared
        by the methods naming the same budget). Past a limit: HTTP 429 with Retry-After,
        and nothing changes. ``default`` limits the methods the table leaves out (None:
        they are unlimited). ``limits=None`` turns the mode off and forgets the buckets.
        Works alongside :meth:`rate_limit`.
        """
        self._realistic = None if limits is None else RealisticLimits(limits, default)

    def rate_limited_total(self) -> int:
        """How many calls were answered 429, whichever limit or fault refused them."""
        return sum(self.rate_limited_count.values())

    def refuse_call(self, call: ApiCall) -> Refusal | None:
        refusal = self._refusal(call)
        if refusal is not None and refusal.status == 429:
            self.rate_limited_count[call.method] = self.rate_limited_count.get(call.method, 0) + 1
        return refusal

    def refuse_file(self, request: FileRequest) -> Refusal | None:
        return Refusal(self._file_failures.popleft()) if self._file_failures else None

    def _refusal(self, call: ApiCall) -> Refusal | None:
        failures = self._failures.get(call.method)
        if failures:
            return failures.popleft()
        # The realistic limits are only checked before rate_limit()'s bucket takes its
        # token, and drawn from after, so that a call either limit refuses takes nothing.
        now = time.monotonic()
        # The Socket Mode client opens connections with the app token: not a bot's call.
        realistic = None if call.method == "apps.connections.open" else self._realistic
        if realistic is not None:
            wait = realistic.wait(call.method, call.channel, now)
            if wait > 0:
                return Refusal(429, retry_after=realistic.retry_after(wait))
        if not self._take_rate_token(call):
            return Refusal(429, retry_after=1)
        if realistic is not None:
            realistic.take(call.method, call.channel, now)
        return None

    def _take_rate_token(self, call: ApiCall) -> bool:
        limit = self._rate_limits.get(call.method)
        if limit is None:
            return True
        now = time.monotonic()
        key = (call.method, call.channel)
        bucket = self._buckets.setdefault(key, _Bucket(tokens=float(limit.burst), updated=now))
        refill = (now - bucket.updated) * limit.per_second
        bucket.tokens = min(float(limit.burst), bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


def attach_faults(slack: FakeSlack) -> SlackFaults:
    """New faults, attached to ``slack`` in place of any attached before."""
    faults = SlackFaults()
    slack.attach(faults)
    return faults
