"""Approve/Cancel for a call that waits for its asker's word.

The buttons show exactly what will be sent; only the person who asked can decide; a
decision is taken once, whichever instance the click reaches (the store decides); the
buttons expire, here by a timer and, for approvals asked on a process that has stopped
since, by a sweep. What runs an approved call is the desk's (`ApprovedCalls`): this
module knows approvals, not sources.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from slack_client import SlackReplies, loggable
from slack_client.output.notices import ApprovalRequest, SlackNotices
from storage import ApprovalStore, PendingApproval

logger = logging.getLogger(__name__)

HANDLED = "This request has expired or was already handled."
NOT_RECORDED = (
    ":warning: This request could not be recorded, so it cannot be approved. Nothing was sent."
)


@dataclass(frozen=True)
class Proposal:
    """A call to put to its asker: `preview` is exactly what it will send."""

    user: str
    channel: str
    thread_ts: str | None
    tool_name: str  # as the model calls it: the source's prefix, `_`, the tool's name
    source: str  # as a sentence names it: "the browser service"
    arguments: Mapping[str, object]
    preview: str
    # Why it needs approval when that is not plain (a reading call).
    why: str | None = None


class NotDone(Exception):
    """An approved call that did not work: `line` says why, in the thread."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


class ApprovedCalls(Protocol):
    def refusal(self, pending: PendingApproval) -> str | None:
        """Why its asker may no longer make this call (here, or at all), if so."""

    async def run(self, pending: PendingApproval) -> str:
        """Run an approved call once; what to post in the thread. NotDone otherwise."""


class Approvals:
    def __init__(
        self,
        replies: SlackReplies,
        notices: SlackNotices,
        store: ApprovalStore,
        *,
        seconds: float,
        calls: ApprovedCalls,
    ) -> None:
        self._replies = replies
        self._notices = notices
        self._store = store
        self._seconds = seconds
        self._calls = calls
        # This process's timers for the approvals it knows of, by id.
        self._expiries: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def propose(self, proposal: Proposal) -> None:
        """Post the buttons and store the approval; SlackRefused if Slack refuses them."""
        request = ApprovalRequest(
            id=secrets.token_urlsafe(12),
            user=proposal.user,
            action=_shown(proposal.tool_name),
            source=proposal.source,
            preview=proposal.preview,
            minutes=max(1, round(self._seconds / 60)),
            why=proposal.why,
        )
        message_ts = await self._notices.ask_approval(proposal.channel, proposal.thread_ts, request)
        approval = PendingApproval(
            id=request.id,
            user_id=proposal.user,
            channel=proposal.channel,
            thread_ts=proposal.thread_ts,
            message_ts=message_ts,
            action=proposal.tool_name,
            arguments=json.dumps(dict(proposal.arguments)),
            preview=proposal.preview,
            expires_at=time.time() + self._seconds,
        )
        try:
            await self._store.add_approval(approval)
        except Exception:
            # Buttons nobody could decide: they say so instead.
            await self._settle(approval, NOT_RECORDED)
            raise
        self._expire_at(request.id, self._seconds)

    async def resume(self) -> None:
        """Approvals asked for before a restart expire when they would have."""
        now = time.time()
        for pending in await self._store.pending_approvals():
            self._expire_at(pending.id, pending.expires_at - now)

    async def expire_due(self) -> None:
        """Approvals past their time that no timer of this process covers (asked on a
        process that has stopped since, say) expire all the same."""
        now = time.time()
        for pending in await self._store.pending_approvals():
            if pending.expires_at <= now:
                await self._expire(pending.id)

    async def decide(self, user: str, approval_id: str, approve: bool) -> str | None:
        """A click on Approve or Cancel; returns a private note for the clicker, if any."""
        pending = await self._store.approval(approval_id)
        if pending is None:
            return HANDLED
        if user != pending.user_id:
            return f"Only <@{pending.user_id}> can approve or cancel this request."
        if pending.expires_at <= time.time():
            await self._expire(approval_id)
            return HANDLED
        # Whoever takes it decides: a double click, even on two processes, runs it once.
        if not await self._store.take_approval(approval_id):
            return HANDLED
        expiry = self._expiries.pop(approval_id, None)
        if expiry is not None:
            expiry.cancel()
        if not approve:
            await self._settle(
                pending, f":no_entry_sign: Cancelled by <@{user}>. Nothing was sent."
            )
            return None
        # Asked again: the admin may have taken the source from them, or from there, since.
        refusal = self._calls.refusal(pending)
        if refusal is not None:
            await self._settle(pending, f":no_entry_sign: Not run. {refusal} Nothing was sent.")
            return None
        await self._settle(pending, f":hourglass: Approved by <@{user}>, running…")
        try:
            text = await self._calls.run(pending)
        except NotDone as error:
            await self._settle(pending, f"Approved by <@{user}>: it did not work.")
            await self._post(pending, error.line)
            return None
        await self._settle(pending, f":white_check_mark: Approved by <@{user}> and done.")
        await self._post(pending, text)
        return None

    def _expire_at(self, approval_id: str, delay: float) -> None:
        def expire() -> None:
            self._expiries.pop(approval_id, None)
            task = asyncio.create_task(self._expire(approval_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop = asyncio.get_running_loop()
        self._expiries[approval_id] = loop.call_later(max(0.0, delay), expire)

    async def _expire(self, approval_id: str) -> None:
        try:
            pending = await self._store.approval(approval_id)
            if pending is None or not await self._store.take_approval(approval_id):
                return
        except Exception as error:  # noqa: BLE001 - a click on it will still be answered
            logger.warning("approval not expired: %s", loggable(error))
            return
        await self._settle(pending, ":alarm_clock: Expired without a decision. Nothing was sent.")

    async def _settle(self, pending: PendingApproval, outcome: str) -> None:
        """The approval message without its buttons, saying what became of it."""
        try:
            await self._notices.settle_approval(
                pending.channel,
                pending.message_ts,
                _shown(pending.action),
                pending.preview,
                outcome,
            )
        except Exception as error:  # noqa: BLE001 - the outcome is posted anyway
            logger.warning("approval message not updated: %s", loggable(error))

    async def _post(self, pending: PendingApproval, text: str) -> None:
        await self._replies.post(pending.channel, pending.thread_ts or pending.message_ts, text)

    async def close(self) -> None:
        for expiry in self._expiries.values():
            expiry.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _shown(tool_name: str) -> str:
    """A stored tool name as the person reads it: without its source's prefix (source
    names hold no `_`)."""
    return tool_name.partition("_")[2] or tool_name
