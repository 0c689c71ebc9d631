"""Per-channel pacing of Slack writes.

Slack allows about one new message per second per channel, with short bursts. Every
post and update for a channel goes through that channel's queue, one at a time, in
arrival order, and new messages also draw from a small token bucket (a burst of a few,
then one a second), so a burst in one channel is spread out instead of bouncing off
429s. A 429 that still comes back is retried by slack-sdk's rate-limit handler after
`Retry-After` while the call holds the queue, so the rest of the channel waits behind
it. Other channels are unaffected. Queues exist only while they have work or tokens
to refill.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

# Slightly under Slack's one a second: at exactly the limit, clock jitter earns 429s.
POSTS_PER_SECOND = 0.95
POST_BURST = 3
SWEEP_INTERVAL_SECONDS = 10.0


@dataclass
class _Channel:
    # asyncio.Lock wakes waiters in FIFO order, which makes it the channel's queue.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    tokens: float = POST_BURST
    refilled_at: float = field(default_factory=time.monotonic)
    rate_limited: bool = False

    def take_token(self, rate: float) -> float:
        """Take a token now; the bucket may go into debt. Returns how long to wait."""
        now = time.monotonic()
        self.tokens = min(POST_BURST, self.tokens + (now - self.refilled_at) * rate) - 1
        self.refilled_at = now
        return max(0.0, -self.tokens / rate)

    def full(self, rate: float) -> bool:
        return self.tokens + (time.monotonic() - self.refilled_at) * rate >= POST_BURST


# The channel whose call is running in this task, for the rate-limit retry handler.
_running: ContextVar[_Channel | None] = ContextVar("paced_channel", default=None)


class ChannelPacer:
    def __init__(
        self,
        posts_per_second: float = POSTS_PER_SECOND,
        sweep_interval: float = SWEEP_INTERVAL_SECONDS,
    ) -> None:
        self._rate = posts_per_second
        self._sweep_interval = sweep_interval
        self._channels: dict[str, _Channel] = {}
        self._swept_at = time.monotonic()

    def __len__(self) -> int:
        return len(self._channels)

    async def run(
        self, channel: str, call: Callable[[], Awaitable[T]], *, new_message: bool = False
    ) -> T:
        state = self._channels.setdefault(channel, _Channel())
        state.users += 1
        try:
            async with state.lock:
                if new_message and (delay := state.take_token(self._rate)) > 0:
                    await asyncio.sleep(delay)
                running = _running.set(state)
                try:
                    return await call()
                finally:
                    _running.reset(running)
                    if state.rate_limited:
                        # Slack's own bucket is empty: so is ours, from the moment the
                        # retry went through.
                        state.tokens, state.refilled_at = 0.0, time.monotonic()
                        state.rate_limited = False
        finally:
            state.users -= 1
            # A channel whose bucket is full again has nothing to remember.
            if state.users == 0 and state.full(self._rate):
                del self._channels[channel]
            if time.monotonic() - self._swept_at >= self._sweep_interval:
                self._forget_idle()

    def must_wait(self, channel: str) -> bool:
        """Whether a new message in `channel` would wait now: writes queued ahead of it,
        or the channel's posting budget spent."""
        state = self._channels.get(channel)
        if state is None:
            return False
        refilled = state.tokens + (time.monotonic() - state.refilled_at) * self._rate
        return state.users > 0 or refilled < 1

    def note_rate_limited(self) -> None:
        """Called (by the retry handler) when Slack answered 429 to the running call."""
        state = _running.get()
        if state is not None:
            state.rate_limited = True

    def _forget_idle(self) -> None:
        self._swept_at = time.monotonic()
        idle = [c for c, s in self._channels.items() if s.users == 0 and s.full(self._rate)]
        for channel in idle:
            del self._channels[channel]
