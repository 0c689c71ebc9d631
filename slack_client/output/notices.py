"""The messages the pipeline asks for by what they say, not by how Slack shows them:
a welcome, a refusal, and the approval of an action with its outcome."""

from __future__ import annotations

from dataclasses import dataclass

from slack_client.output.replies import SlackReplies
from slack_client.render.views import (
    NOT_ALLOWED,
    WELCOME,
    approval_blocks,
    decided_blocks,
    welcome_blocks,
)


@dataclass(frozen=True)
class ApprovalRequest:
    """An action `user` is asked to approve: `preview` is exactly what will be sent."""

    id: str
    user: str
    action: str
    # The source, as a sentence names it: "the browser service".
    source: str
    preview: str
    minutes: int
    # Why it needs approval when that is not plain (a reading action).
    why: str | None = None


class SlackNotices:
    def __init__(self, replies: SlackReplies) -> None:
        self._replies = replies

    async def welcome(self, channel: str, user: str, thread_ts: str | None) -> None:
        """The first time a person meets the bot: what it does, and their settings."""
        await self._replies.post_ephemeral(
            channel, user, WELCOME, thread_ts=thread_ts, blocks=welcome_blocks()
        )

    async def not_allowed(self, channel: str, user: str, thread_ts: str | None) -> None:
        """Told privately to someone the bot may not answer there."""
        await self._replies.post_ephemeral(channel, user, NOT_ALLOWED, thread_ts=thread_ts)

    async def ask_approval(
        self, channel: str, thread_ts: str | None, request: ApprovalRequest
    ) -> str:
        """Approve/Cancel buttons for `request.user`; the message's ts."""
        blocks = approval_blocks(
            request.user,
            request.action,
            request.source,
            request.preview,
            request.id,
            request.minutes,
            request.why,
        )
        text = f"Approve running {request.action} on {request.source}?"
        return await self._replies.post(channel, thread_ts, text, blocks)

    async def settle_approval(
        self, channel: str, ts: str, action: str, preview: str, outcome: str
    ) -> None:
        """The approval message without its buttons, saying what became of it."""
        await self._replies.update(channel, ts, outcome, decided_blocks(action, preview, outcome))
