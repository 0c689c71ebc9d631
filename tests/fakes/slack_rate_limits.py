"""Slack's published rate limits, enforced on the fake workspace by SlackFaults.realistic_limits.

Each call draws one token from its method's bucket across the workspace and, for a method
limited per channel too, one from its channel budget's bucket in that channel: methods that
share a budget (those that post a message) share that bucket. A bucket starts full, holds at
most `burst` tokens and refills at the rate's average. A call is admitted only when every
bucket it draws from has a token, so a refused call takes nothing, like at Slack where a
429 answer counts against no limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from slack_client.transport.limits import MethodLimit, Rate

# A rate that never refills still answers a finite Retry-After: Slack counts limits over a
# minute, so a minute is the longest a caller is told to wait.
LONGEST_WAIT_SECONDS = 60.0


@dataclass
class TokenBucket:
    rate: Rate
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: Rate, now: float) -> TokenBucket:
        return cls(rate, float(rate.burst), now)

    def refill(self, now: float) -> None:
        gained = max(0.0, now - self.updated) * self.rate.per_second
        self.tokens = min(float(self.rate.burst), self.tokens + gained)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until this bucket has a token (0: it has one now)."""
        self.refill(now)
        missing = 1.0 - self.tokens
        if missing <= 0:
            return 0.0
        if self.rate.per_second <= 0:
            return LONGEST_WAIT_SECONDS
        return min(LONGEST_WAIT_SECONDS, missing / self.rate.per_second)


class RealisticLimits:
    """The buckets of a limits table, created full on a method's (or channel's) first call."""

    def __init__(self, limits: Mapping[str, MethodLimit], default: MethodLimit | None) -> None:
        self._limits = dict(limits)  # a copy: later edits to the caller's table change nothing
        self._default = default
        # By method (the workspace tier), or by (channel budget, channel).
        self._buckets: dict[str | tuple[str, str], TokenBucket] = {}

    def _buckets_for(self, method: str, channel: str, now: float) -> list[TokenBucket]:
        limit = self._limits.get(method, self._default)
        if limit is None:
            return []  # a method neither the table nor the default limits
        keyed: list[tuple[str | tuple[str, str], Rate]] = [(method, limit.workspace)]
        if limit.channel_budget is not None and limit.per_channel is not None:
            keyed.append(((limit.channel_budget, channel), limit.per_channel))
        return [self._buckets.setdefault(key, TokenBucket.full(rate, now)) for key, rate in keyed]

    def wait(self, method: str, channel: str, now: float) -> float:
        """Seconds until a call of `method` in `channel` would be admitted (0: now).

        Takes nothing: see take().
        """
        return max((b.wait(now) for b in self._buckets_for(method, channel, now)), default=0.0)

    def take(self, method: str, channel: str, now: float) -> None:
        """Draw the admitted call's tokens; call only after wait() said 0."""
        for bucket in self._buckets_for(method, channel, now):
            bucket.refill(now)
            bucket.tokens -= 1.0

    @staticmethod
    def retry_after(wait: float) -> int:
        """Slack's Retry-After: whole seconds, rounded up, at least 1."""
        return max(1, math.ceil(wait))
