"""Slack's published rate limits: the one table the write scheduler plans with.

Limits count per app per workspace (https://docs.slack.dev/apis/web-api/rate-limits):
each Web API method has a tier, counted over a minute across the workspace, and the
methods that post a message are also limited per channel. A call past a limit gets
HTTP 429 with `Retry-After` (seconds).

The per-minute figures are Slack's; each method's tier is on its reference page
(https://docs.slack.dev/reference/methods/<method>). Slack publishes no burst sizes
("a small amount of burst behavior is tolerated" for Tier 1, "occasional bursts" for
Tier 2, "sporadic bursts are welcome" for Tier 3, "generous burst behavior" for Tier 4,
"short bursts >1 allowed" for posting in a channel): the bursts below are our estimate,
kept small so that planning on them is safe. The scheduler plans optional writes
(intermediate edits, loading states) on these figures, and learns the rest from 429s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """A token bucket: `per_minute` on average, up to `burst` at once."""

    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60


# https://docs.slack.dev/apis/web-api/rate-limits ("Web API Tier 1..4").
TIER_1 = Rate(per_minute=1, burst=1)
TIER_2 = Rate(per_minute=20, burst=3)
TIER_3 = Rate(per_minute=50, burst=5)
TIER_4 = Rate(per_minute=100, burst=10)
# https://docs.slack.dev/reference/methods/chat.postMessage ("Rate limiting"): "one
# message per second per channel", short bursts allowed, and a workspace-wide limit of
# "several hundred messages per minute" (the lowest reading of "several hundred").
POSTING_IN_A_CHANNEL = Rate(per_minute=60, burst=3)
POSTING_IN_A_WORKSPACE = Rate(per_minute=300, burst=20)


@dataclass(frozen=True)
class MethodLimit:
    """A method's limit across the workspace, and, for methods limited per channel
    too, the name of the per-channel budget it draws from (methods that post a message
    share one) with that budget's rate."""

    workspace: Rate
    channel_budget: str | None = None
    per_channel: Rate | None = None


POSTING = "posting"
LOADING_STATE = "loading state"

METHOD_LIMITS: dict[str, MethodLimit] = {
    # Special tier: one a second per channel, several hundred a minute per workspace.
    "chat.postMessage": MethodLimit(POSTING_IN_A_WORKSPACE, POSTING, POSTING_IN_A_CHANNEL),
    # Special tier: its page says it is limited like chat.postMessage. A budget of its
    # own per channel, so that a loading state never takes an answer's turn.
    "assistant.threads.setStatus": MethodLimit(
        POSTING_IN_A_WORKSPACE, LOADING_STATE, POSTING_IN_A_CHANNEL
    ),
    # Tier 2, and each opens a message in the channel, so it is posting there too.
    "chat.startStream": MethodLimit(TIER_2, POSTING, POSTING_IN_A_CHANNEL),
    "chat.stopStream": MethodLimit(TIER_2),
    "chat.appendStream": MethodLimit(TIER_4),
    "chat.update": MethodLimit(TIER_3),
    "chat.delete": MethodLimit(TIER_3),
    "chat.postEphemeral": MethodLimit(TIER_4),
    "reactions.add": MethodLimit(TIER_3),
    "conversations.replies": MethodLimit(TIER_3),
    "conversations.history": MethodLimit(TIER_3),
    "conversations.info": MethodLimit(TIER_3),
    "conversations.members": MethodLimit(TIER_4),
    "users.info": MethodLimit(TIER_4),
    "team.info": MethodLimit(TIER_3),
    "files.info": MethodLimit(TIER_4),
    "files.getUploadURLExternal": MethodLimit(TIER_4),
    # Tier 4; sharing a file into a channel posts a message there.
    "files.completeUploadExternal": MethodLimit(TIER_4, POSTING, POSTING_IN_A_CHANNEL),
    "views.open": MethodLimit(TIER_4),
    "views.push": MethodLimit(TIER_4),
    "views.update": MethodLimit(TIER_4),
    "views.publish": MethodLimit(TIER_4),
    "assistant.threads.setTitle": MethodLimit(TIER_4),
    "assistant.threads.setSuggestedPrompts": MethodLimit(TIER_4),
    # Agent messaging (2026): no figure published yet; planned as the common tier.
    "agents.sessions.setStatus": MethodLimit(TIER_3),
    # Special tier: "hundreds of requests per minute".
    "auth.test": MethodLimit(Rate(per_minute=600, burst=20)),
}
# A method not in the table is planned as the common tier.
DEFAULT_LIMIT = MethodLimit(TIER_3)


def limit_of(method: str) -> MethodLimit:
    return METHOD_LIMITS.get(method, DEFAULT_LIMIT)
