"""The one place where a failure becomes what the user reads in the thread.

Each line is short and honest: what happened and what to do. Nothing here ever
includes a token, a key or the raw text of a third-party error.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from openai_client import (
    ModelAuthError,
    ModelRateLimitError,
    ModelRequestError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from slack_client import slack_error

BUSY = (
    ":hourglass_flowing_sand: I'm still answering your previous message in this thread. "
    "Send this one again once that answer is done."
)
INTERRUPTED_BY_SHUTDOWN = (
    ":warning: _This answer was cut off because the bot is restarting. "
    "Ask again in a moment and I'll answer in full._"
)
INTERRUPTED_BY_CRASH = (
    ":warning: _This answer was interrupted when the bot restarted unexpectedly. "
    "Ask again and I'll answer._"
)
NEAR_BUDGET = (
    "_:information_source: This thread is getting long, so I'm leaving its oldest "
    "messages out of what I read. Start a new thread for a fresh context._"
)


def attachment_notice(unread: list[str], partly_read: list[str]) -> str:
    """What could not be used, or was cut, of what was attached: one line per file."""
    sections = []
    if unread:
        sections.append("_:paperclip: Not read:_\n" + "\n".join(f"• {line}" for line in unread))
    if partly_read:
        lines = "\n".join(f"• {line}" for line in partly_read)
        sections.append("_:paperclip: Partly read:_\n" + lines)
    return "\n".join(sections)


def describe_failure(error: BaseException, *, timeout: float) -> str:
    if isinstance(error, ModelTimeoutError):
        return (
            f":hourglass: _The model didn't finish within {timeout:g} seconds, so I stopped "
            "here. Please try again; a shorter question may help._"
        )
    if isinstance(error, ModelRateLimitError):
        return (
            ":warning: _The model API is rate-limiting this bot right now. "
            "Please try again in a minute._"
        )
    if isinstance(error, ModelUnavailableError):
        return (
            ":warning: _The model API is unavailable right now (server or connection "
            "error). Please try again shortly._"
        )
    if isinstance(error, ModelAuthError):
        return (
            ":warning: _The model API rejected this bot's credentials. "
            "An admin needs to check its API key._"
        )
    if isinstance(error, ModelRequestError):
        return (
            ":warning: _The model API rejected this request (unsupported model or "
            "parameters, or too much input). An admin can check the bot's logs._"
        )
    if isinstance(error, SlackApiError):
        return f":warning: _Slack refused one of my messages ({slack_error(error)})._"
    return ":warning: _Something went wrong on my side while answering. Please try again._"
