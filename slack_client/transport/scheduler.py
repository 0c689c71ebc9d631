"""One scheduler for every Slack Web API call: Slack's budgets, priorities, no head-of-line.

Every call draws from its method's budget across the workspace and, for the methods
limited per channel (posting a message, a loading state), from that channel's budget
too; each budget is a `_Lane`, planned with the figures of slack_client.transport.limits.

- **Optimistic start.** Slack grants more than it documents, so a lane that has not
  been refused sends within the documented budget at once, and past it goes on probing
  as fast as Slack answers: one call in flight at first, one more for every probe Slack
  takes (TCP's slow start), up to `MAX_PROBES`. That bounds what discovering the real
  limit costs: a 429 or a few.
- **Learning from 429s.** A 429 pauses its lane for exactly `Retry-After`; the call
  waits for its turn again (a 429 means Slack did nothing, so even a post is safe to
  resend) and the lane is then paced at Slack's documented rate with a burst of one,
  which grows back by a token every `RECOVERY_SECONDS_PER_TOKEN`; another 429 starts
  that over. A minute without one makes the lane optimistic again. A 429 on a
  channel's posting also paces every channel's posting for that minute (Slack enforces
  it in this workspace), and is put on the method across the workspace as well when
  the documented workspace budget is spent by our own count. A caller that had rather
  do without (opening a stream) gives up at once instead (`Refused`).
- **Priorities.** Waiting calls go by `Priority`, then by arrival. Optional calls (an
  intermediate streaming edit, a loading state) never exceed the documented budget,
  whatever is learned, and take only what required calls leave of it.
- **Dropping.** A waiting call is dropped (`NotSent`) when a newer one with the same
  `key` (the same message) supersedes it, or when its `owner` withdraws it (a reply
  whose answer overtook its status).
- Calls to different channels and different methods never wait on each other except
  through a budget they share.
- **Several instances.** Slack's budgets are the workspace's and the channel's, whichever
  process calls: with N instances running (`share`, from the store's heartbeat), each
  plans with an Nth of every documented budget.

The Web API client (slack_client.transport.web) schedules every call itself; `turn()`
lets a caller wait for its turn first and decide what to send when it comes (the latest
text of a streaming answer).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum

from slack_client.transport.limits import MethodLimit, Rate, limit_of


class Priority(IntEnum):
    # A trigger_id expires three seconds after the click.
    INTERACTIVE = 0
    # The write that completes an answer: nothing should wait longer than it must.
    FINISH = 1
    # An answer's first message, a notice, a read an answer waits on. The default.
    FIRST = 2
    # Optional from here on: a loading state or status message.
    STATUS = 3
    # An intermediate edit of a streaming answer.
    EDIT = 4


OPTIONAL = Priority.STATUS
DEFAULT_PRIORITY = {
    "views.open": Priority.INTERACTIVE,
    "views.push": Priority.INTERACTIVE,
    "views.update": Priority.INTERACTIVE,
}
# Calls in flight past the documented budget of a lane Slack has not refused yet.
MAX_PROBES = 8
RECOVERY_SECONDS_PER_TOKEN = 10.0
# A lane (and a kind of per-channel budget) with no 429 for this long is optimistic again.
FORGET_SECONDS = 60.0
# Paced a little under the documented rate: at exactly the limit, clock jitter between
# us and Slack earns 429s.
PACED_SHARE = 0.9
SWEEP_SECONDS = 30.0


class NotSent(Exception):
    """The call was dropped before it was sent: superseded by a newer call for the same
    message, or withdrawn because the answer overtook it."""


class Refused(NotSent):
    """Slack refused the call (429) and its caller had rather do without than wait."""


@dataclass
class _Learned:
    """When Slack last refused a call on a lane, or on any lane of a kind."""

    limited_at: float = -math.inf


@dataclass(eq=False)
class _Ticket:
    method: str
    priority: Priority
    seq: int
    lanes: tuple[_Lane, ...]
    key: Hashable | None
    owner: object | None
    future: asyncio.Future[None]
    # The lanes that count this call in flight (granted so far).
    held: list[_Lane] = field(default_factory=list)
    # Passed on to the client's own call (turn()), which then does not wait again.
    used: bool = False
    # On a 429, raise Refused instead of waiting for another turn.
    gives_up: bool = False
    # The lanes that let it go past their documented budget, as a probe.
    probing: list[_Lane] = field(default_factory=list)

    @property
    def optional(self) -> bool:
        return self.priority >= OPTIONAL


class _Lane:
    """One budget: a method across the workspace, or one channel's posting."""

    def __init__(self, documented: Rate, instances: int, kind: _Learned, now: float) -> None:
        self.documented = documented
        rate = self.rate = _part(documented, instances)
        # How many calls may be in flight past the documented budget while optimistic.
        self.probes = 1
        self.kind = kind
        self.learned = _Learned()
        self.tokens = float(rate.burst)
        # The documented budget, which optional calls never exceed; required calls may
        # take it into debt (bounded) so that optional ones yield to them.
        self.planned = float(rate.burst)
        self.refilled_at = now
        self.paused_until = -math.inf
        self.in_flight = 0
        self.waiting: list[tuple[int, int, _Ticket]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf

    def paced(self, now: float) -> bool:
        last = max(self.learned.limited_at, self.kind.limited_at)
        return now - last < FORGET_SECONDS

    def _allowance(self, now: float) -> float:
        since = now - self.learned.limited_at
        return min(float(self.rate.burst), 1 + since / RECOVERY_SECONDS_PER_TOKEN)

    def refill(self, now: float) -> None:
        elapsed, self.refilled_at = now - self.refilled_at, now
        per_second = self.rate.per_second
        paced_rate = per_second * PACED_SHARE
        self.tokens = min(self._allowance(now), self.tokens + elapsed * paced_rate)
        self.planned = min(float(self.rate.burst), self.planned + elapsed * per_second)

    def delay(self, ticket: _Ticket, now: float) -> float:
        """Seconds until `ticket` may go (0: now; inf: when a call in flight ends)."""
        self.refill(now)
        wait = max(0.0, self.paused_until - now)
        per_second = self.rate.per_second
        if self.paced(now):
            wait = max(wait, (1 - self.tokens) / (per_second * PACED_SHARE))
        elif self.tokens < 1 and self.in_flight >= self.probes:
            return math.inf
        if ticket.optional:
            wait = max(wait, (1 - self.planned) / per_second)
        return wait

    def grant(self, ticket: _Ticket, now: float) -> None:
        if self.tokens < 1 and not self.paced(now):
            ticket.probing.append(self)
        self.tokens = max(0.0, self.tokens - 1)
        self.planned = max(-float(self.rate.burst), self.planned - 1)
        self.in_flight += 1
        ticket.held.append(self)

    def refused(self, retry_after: float, now: float) -> None:
        self.learned.limited_at = self.kind.limited_at = now
        self.probes = 1
        self.paused_until = max(self.paused_until, now + retry_after)
        self.tokens, self.refilled_at = 0.0, now

    def idle(self, now: float) -> bool:
        self.refill(now)
        return (
            not self.waiting
            and self.in_flight == 0
            and now >= self.paused_until
            and self.timer is None
            and self.tokens >= self.rate.burst
            and self.planned >= self.rate.burst
            and now - self.learned.limited_at >= FORGET_SECONDS
        )


def _part(rate: Rate, instances: int) -> Rate:
    """One of `instances` processes' part of a budget they share."""
    if instances <= 1:
        return rate
    return Rate(per_minute=rate.per_minute / instances, burst=max(1, rate.burst // instances))


# The call the running task holds a turn for, if any.
_current: ContextVar[_Ticket | None] = ContextVar("slack_turn", default=None)


def _covering(method: str) -> _Ticket | None:
    """The turn this task holds for a call of `method` not yet made, if any."""
    held = _current.get()
    return held if held is not None and not held.used and held.method == method else None


class SlackScheduler:
    def __init__(self) -> None:
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._kinds: dict[str, _Learned] = {}
        self._keyed: dict[Hashable, _Ticket] = {}
        self._owned: dict[object, set[_Ticket]] = {}
        self._seq = itertools.count()
        self._swept_at = -math.inf
        self._instances = 1
        self.refusals = 0

    def __len__(self) -> int:
        return len(self._lanes)

    def share(self, instances: int) -> None:
        """`instances` processes (this one included) call Slack for this app now."""
        instances = max(1, instances)
        if instances == self._instances:
            return
        self._instances = instances
        for lane in self._lanes.values():
            lane.rate = _part(lane.documented, instances)
            lane.tokens = min(lane.tokens, float(lane.rate.burst))
            lane.planned = min(lane.planned, float(lane.rate.burst))

    def waiting(self) -> tuple[int, int]:
        """Calls waiting for their turn: for a channel's posting budget, and for a
        method's budget across the workspace (a call waits in one lane at a time)."""
        in_channels = in_methods = 0
        for (budget, _), lane in self._lanes.items():
            count = sum(not ticket.future.done() for *_, ticket in lane.waiting)
            if budget == "method":
                in_methods += count
            else:
                in_channels += count
        return in_channels, in_methods

    @asynccontextmanager
    async def turn(
        self,
        method: str,
        channel: str | None = None,
        *,
        priority: Priority | None = None,
        key: Hashable | None = None,
        owner: object | None = None,
        on_wait: Callable[[], None] | None = None,
        gives_up: bool = False,
        waits: bool = True,
    ) -> AsyncIterator[None]:
        """Wait until `method` may be called (in `channel`), then hold the turn while the
        block makes the call; raises NotSent if the call was dropped while waiting.
        `on_wait` is called if the call cannot go at once; with `gives_up`, a 429 raises
        Refused rather than waiting for another turn; without `waits`, a call that
        cannot go at once raises NotSent (a lookup the answer can do without)."""
        if _covering(method) is not None:
            yield  # the turn held already covers this call
            return
        outer = _current.get()
        if priority is None:
            inherited = outer.priority if outer is not None else Priority.FIRST
            priority = DEFAULT_PRIORITY.get(method, inherited)
        ticket = self._ticket(method, channel, priority, key, owner)
        ticket.gives_up = gives_up
        try:
            await self._admit(ticket, on_wait if waits else self._busy)
            token = _current.set(ticket)
            try:
                yield
            finally:
                _current.reset(token)
        finally:
            self._release(ticket)

    @asynccontextmanager
    async def call(self, method: str, channel: str | None) -> AsyncIterator[None]:
        """The Web API client's own wrapper of every call: the turn a caller already
        holds for this method, or a new one."""
        held = _covering(method)
        if held is not None:
            held.used = True
            yield
            return
        async with self.turn(method, channel):
            yield

    @staticmethod
    def _busy() -> None:
        raise NotSent("Slack's budget is spent for now")

    async def rate_limited(self, retry_after: float) -> None:
        """Slack refused the running call (429): learn, and wait for its turn again."""
        self.refusals += 1
        ticket = _current.get()
        if ticket is None:
            await asyncio.sleep(retry_after)
            return
        now = asyncio.get_running_loop().time()
        for lane in self._refused_lanes(ticket, now):
            lane.refused(retry_after, now)
        self._release(ticket)
        if ticket.gives_up:
            raise Refused("rate limited")
        ticket.future = asyncio.get_running_loop().create_future()
        await self._admit(ticket)

    def reserve(self, *methods: str, optimistic: bool = False) -> bool:
        """Take one call of each of `methods` from its documented budget across the
        workspace, without waiting: False (and nothing taken) when one has none to spare
        now. A streaming answer reserves the writes that will finish it before it opens:
        those are required, and must not wait long when the answer is complete.
        `optimistic`: a method Slack has not refused lately needs no budget to spare
        (whoever opens on that basis gives up when Slack refuses)."""
        now = asyncio.get_running_loop().time()
        lanes = [self._method_lane(m, limit_of(m).workspace, now) for m in methods]
        for lane in lanes:
            lane.refill(now)
        if any(now < lane.paused_until for lane in lanes):
            return False
        if any(lane.planned < 1 and (lane.paced(now) or not optimistic) for lane in lanes):
            return False
        for lane in lanes:
            lane.planned = max(-float(lane.rate.burst), lane.planned - 1)
        return True

    def refund(self, method: str) -> None:
        """Give back what reserve() took for `method`, unused."""
        now = asyncio.get_running_loop().time()
        lane = self._method_lane(method, limit_of(method).workspace, now)
        lane.refill(now)
        lane.planned = min(float(lane.rate.burst), lane.planned + 1)

    def withdraw(self, owner: object) -> None:
        """Drop the optional calls `owner` has waiting (its answer overtook them)."""
        for ticket in list(self._owned.get(owner, ())):
            # Not admitted yet (it may hold the channel's turn while it waits for the
            # method's), so not sent.
            if ticket.optional and not ticket.future.done():
                self._drop(ticket, "withdrawn")

    # ------------------------------------------------------------------ internals

    def _ticket(
        self,
        method: str,
        channel: str | None,
        priority: Priority,
        key: Hashable | None,
        owner: object | None,
    ) -> _Ticket:
        now = asyncio.get_running_loop().time()
        self._sweep(now)
        limit: MethodLimit = limit_of(method)
        lanes: list[_Lane] = []
        if channel and limit.channel_budget and limit.per_channel:
            budget = limit.channel_budget
            lanes.append(self._channel_lane(budget, channel, limit.per_channel, now))
        lanes.append(self._method_lane(method, limit.workspace, now))
        future = asyncio.get_running_loop().create_future()
        ticket = _Ticket(method, priority, next(self._seq), tuple(lanes), key, owner, future)
        if key is not None:
            previous = self._keyed.get(key)
            if previous is not None and not previous.future.done():
                self._drop(previous, "superseded")
            self._keyed[key] = ticket
        if owner is not None:
            self._owned.setdefault(owner, set()).add(ticket)
        return ticket

    def _channel_lane(self, budget: str, channel: str, rate: Rate, now: float) -> _Lane:
        lane = self._lanes.get((budget, channel))
        if lane is None:
            # What a 429 teaches about one channel's budget holds for every channel's.
            kind = self._kinds.setdefault(budget, _Learned())
            lane = self._lanes[budget, channel] = _Lane(rate, self._instances, kind, now)
        return lane

    def _method_lane(self, method: str, rate: Rate, now: float) -> _Lane:
        lane = self._lanes.get(("method", method))
        if lane is None:
            lane = _Lane(rate, self._instances, _Learned(), now)
            self._lanes["method", method] = lane
        return lane

    async def _admit(self, ticket: _Ticket, on_wait: Callable[[], None] | None = None) -> None:
        self._enter(ticket, ticket.lanes[0])
        try:
            if on_wait is not None and not ticket.future.done():
                on_wait()
            await ticket.future
        except BaseException:
            if not ticket.future.done():
                ticket.future.cancel()
            raise

    def _enter(self, ticket: _Ticket, lane: _Lane) -> None:
        heapq.heappush(lane.waiting, (ticket.priority, ticket.seq, ticket))
        self._pump(lane)

    def _pump(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        while lane.waiting:
            ticket = lane.waiting[0][2]
            if ticket.future.done():
                heapq.heappop(lane.waiting)
                continue
            now = loop.time()
            delay = lane.delay(ticket, now)
            if delay > 0:
                if now + delay < lane.timer_at:
                    if lane.timer is not None:
                        lane.timer.cancel()
                    lane.timer_at = now + delay
                    lane.timer = loop.call_at(lane.timer_at, self._wake, lane)
                return
            heapq.heappop(lane.waiting)
            lane.grant(ticket, now)
            following = ticket.lanes.index(lane) + 1
            if following < len(ticket.lanes):
                self._enter(ticket, ticket.lanes[following])
            else:
                ticket.future.set_result(None)

    def _wake(self, lane: _Lane) -> None:
        lane.timer, lane.timer_at = None, math.inf
        self._pump(lane)

    def _release(self, ticket: _Ticket) -> None:
        held, ticket.held = ticket.held, []
        probing, ticket.probing = ticket.probing, []
        for lane in probing:
            # Slack took the probe (a refusal has reset the window meanwhile).
            if not lane.paced(asyncio.get_running_loop().time()):
                lane.probes = min(MAX_PROBES, lane.probes + 1)
        for lane in held:
            lane.in_flight -= 1
            self._pump(lane)
        if ticket.key is not None and self._keyed.get(ticket.key) is ticket:
            del self._keyed[ticket.key]
        owned = self._owned.get(ticket.owner) if ticket.owner is not None else None
        if owned is not None:
            owned.discard(ticket)
            if not owned:
                del self._owned[ticket.owner]

    def _drop(self, ticket: _Ticket, why: str) -> None:
        ticket.future.set_exception(NotSent(why))
        self._release(ticket)

    def _refused_lanes(self, ticket: _Ticket, now: float) -> list[_Lane]:
        """Which budget a 429 was about: Slack does not say. A channel's posting budget,
        unless our own count says the method's budget across the workspace is spent too."""
        *channel, method = ticket.lanes
        if not channel:
            return [method]
        method.refill(now)
        return [*channel, method] if method.planned < 1 else channel

    def _sweep(self, now: float) -> None:
        if now - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = now
        for name in [name for name, lane in self._lanes.items() if lane.idle(now)]:
            del self._lanes[name]
