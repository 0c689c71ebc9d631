"""The scheduler of Slack calls on its own: order, dropping, learning, no head-of-line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

import slack_client.transport.scheduler as scheduler_module
from slack_client.transport.limits import (
    POSTING_IN_A_CHANNEL,
    POSTING_IN_A_WORKSPACE,
    TIER_2,
    TIER_3,
)
from slack_client.transport.scheduler import (
    NotSent,
    Priority,
    Refused,
    SlackScheduler,
)

# A method with a quick documented budget (ten a second), so that waiting is short.
QUICK = "auth.test"
# What goes at once in a channel Slack has not refused: the documented burst; past it,
# a probe at a time once those are answered.
AT_ONCE = POSTING_IN_A_CHANNEL.burst


class Slack:
    """Stands in for the Web API inside a turn: records what was sent, and answers 429
    when told to, reporting it to the scheduler as the client's rate-limit handler does."""

    def __init__(self, scheduler: SlackScheduler) -> None:
        self.scheduler = scheduler
        self.entered: list[str] = []
        self.sent: list[str] = []
        self.refuse_next = 0
        self.retry_after = 0.05

    async def call(
        self,
        name: str,
        method: str = "chat.postMessage",
        channel: str | None = "C1",
        *,
        priority: Priority = Priority.FIRST,
        key: object = None,
        owner: object = None,
        gives_up: bool = False,
        hold: asyncio.Event | None = None,
    ) -> str:
        async with self.scheduler.turn(
            method, channel, priority=priority, key=key, owner=owner, gives_up=gives_up
        ):
            self.entered.append(name)
            while self.refuse_next:
                self.refuse_next -= 1
                await self.scheduler.rate_limited(self.retry_after)
            if hold is not None:
                await hold.wait()
            self.sent.append(name)
        return name


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def started(coroutines: list[Awaitable[str]]) -> list[asyncio.Task[str]]:
    return [asyncio.ensure_future(c) for c in coroutines]


async def test_waiting_calls_go_by_priority_then_arrival() -> None:
    slack = Slack(SlackScheduler())
    slack.refuse_next, slack.retry_after = 1, 0.2
    refused = asyncio.ensure_future(slack.call("refused once", QUICK))
    await settle()
    calls = started(
        [
            slack.call("status", QUICK, priority=Priority.STATUS),
            slack.call("first post a", QUICK),
            slack.call("finish", QUICK, priority=Priority.FINISH),
            slack.call("first post b", QUICK),
        ]
    )
    await asyncio.gather(refused, *calls)
    # The answer's end first; the refused call kept its place among the first posts;
    # the status last.
    assert slack.sent == ["finish", "refused once", "first post a", "first post b", "status"]


async def test_an_edit_superseded_while_waiting_is_not_sent() -> None:
    slack = Slack(SlackScheduler())
    # Answers finished with edits spent the documented budget: optional edits wait.
    await asyncio.gather(*(slack.call(f"final {i}", "chat.update") for i in range(TIER_3.burst)))
    older = asyncio.ensure_future(
        slack.call("older", "chat.update", priority=Priority.EDIT, key="message")
    )
    await settle()
    newer = slack.call("final", "chat.update", priority=Priority.FINISH, key="message")
    assert await newer == "final"
    with pytest.raises(NotSent):
        await older
    assert "older" not in slack.entered


async def test_an_owner_withdraws_its_optional_calls_only() -> None:
    scheduler = SlackScheduler()
    slack = Slack(scheduler)
    reply = object()
    slack.refuse_next = 1
    await slack.call("refused once", QUICK)
    status = asyncio.ensure_future(
        slack.call("status", QUICK, priority=Priority.STATUS, owner=reply)
    )
    answer = asyncio.ensure_future(slack.call("answer", QUICK, owner=reply))
    await settle()
    scheduler.withdraw(reply)
    with pytest.raises(NotSent):
        await status
    assert await answer == "answer"
    assert "status" not in slack.entered


async def test_a_withdrawn_call_may_already_hold_its_channels_turn() -> None:
    scheduler = SlackScheduler()
    slack = Slack(scheduler)
    reply = object()
    # Posts in twenty channels spend the documented budget across the workspace.
    await asyncio.gather(
        *(slack.call("answer", channel=f"C{i}") for i in range(POSTING_IN_A_WORKSPACE.burst))
    )
    status = asyncio.ensure_future(
        slack.call("status", channel="CX", priority=Priority.STATUS, owner=reply)
    )
    await settle()
    scheduler.withdraw(reply)
    with pytest.raises(NotSent):
        await status
    # The channel's turn it held is free again.
    assert await slack.call("answer", channel="CX") == "answer"


async def test_channels_do_not_wait_on_each_other() -> None:
    slack = Slack(SlackScheduler())
    hold = asyncio.Event()
    # One channel full of posts Slack has not answered yet.
    stuck = started([slack.call(f"c1 {i}", hold=hold) for i in range(AT_ONCE + 3)])
    await settle()
    assert await slack.call("c2", channel="C2") == "c2"
    assert slack.sent == ["c2"]
    hold.set()
    await asyncio.gather(*stuck)
    assert len(slack.sent) == AT_ONCE + 4


async def test_past_the_documented_budget_a_new_lane_probes_a_call_at_a_time() -> None:
    slack = Slack(SlackScheduler())
    budget, probes = asyncio.Event(), asyncio.Event()
    calls = started(
        [slack.call(f"post {i}", hold=budget if i < AT_ONCE else probes) for i in range(10)]
    )
    await settle()
    assert slack.entered == [f"post {i}" for i in range(AT_ONCE)]
    budget.set()
    await settle()
    assert len(slack.entered) == AT_ONCE + 1
    probes.set()
    await asyncio.gather(*calls)
    assert slack.sent == [f"post {i}" for i in range(10)]


async def test_a_429_pauses_only_what_it_was_about_and_the_call_goes_once() -> None:
    scheduler = SlackScheduler()
    slack = Slack(scheduler)
    slack.refuse_next, slack.retry_after = 1, 0.5
    waiting = asyncio.ensure_future(slack.call("refused once"))
    await settle()
    # The channel's posting pauses; another channel and another method go on.
    assert await slack.call("other channel", channel="C2") == "other channel"
    assert await slack.call("an edit", "chat.update") == "an edit"
    assert not waiting.done()
    await waiting
    assert slack.sent == ["other channel", "an edit", "refused once"]
    assert scheduler.refusals == 1


async def test_a_caller_that_gives_up_is_told_at_once() -> None:
    slack = Slack(SlackScheduler())
    slack.refuse_next, slack.retry_after = 1, 30.0
    with pytest.raises(Refused):
        await slack.call("refused", "chat.startStream", gives_up=True)
    assert slack.entered == ["refused"]
    assert slack.sent == []


async def test_reserving_takes_the_documented_budget_all_or_nothing() -> None:
    scheduler = SlackScheduler()
    for _ in range(TIER_3.burst):
        assert scheduler.reserve("chat.update")
    assert not scheduler.reserve("chat.update")
    # Refused: nothing of chat.startStream was taken either.
    assert not scheduler.reserve("chat.startStream", "chat.update")
    for _ in range(TIER_2.burst):
        assert scheduler.reserve("chat.startStream")
    assert not scheduler.reserve("chat.startStream")
    # Past the budget, a method Slack has not refused may still open optimistically.
    assert scheduler.reserve("chat.startStream", optimistic=True)


async def test_once_slack_refused_an_opening_openings_keep_to_the_budget() -> None:
    scheduler = SlackScheduler()
    slack = Slack(scheduler)
    # Openings in three channels spend the documented burst across the workspace;
    # Slack refusing the fourth is then the method's limit, not the channel's.
    for channel in ("C1", "C2", "C3"):
        await slack.call("open", "chat.startStream", channel)
    slack.refuse_next, slack.retry_after = 1, 30.0
    with pytest.raises(Refused):
        await slack.call("refused", "chat.startStream", "C4", gives_up=True)
    assert not scheduler.reserve("chat.startStream", optimistic=True)


async def test_a_cancelled_wait_frees_its_place() -> None:
    slack = Slack(SlackScheduler())
    slack.refuse_next = 1
    await slack.call("refused once", QUICK)
    gone = asyncio.ensure_future(slack.call("cancelled", QUICK))
    stays = asyncio.ensure_future(slack.call("stays", QUICK))
    await settle()
    gone.cancel()
    assert await stays == "stays"
    assert "cancelled" not in slack.entered


async def test_quiet_lanes_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_module, "SWEEP_SECONDS", 0.0)
    scheduler = SlackScheduler()
    slack = Slack(scheduler)
    await slack.call("check", QUICK)
    await slack.call("react", "reactions.add")
    assert len(scheduler) == 2
    # Long enough for the quick budget to refill (a tenth of a second), not Tier 3's.
    await asyncio.sleep(0.2)
    await slack.call("react again", "reactions.add")
    assert len(scheduler) == 1
