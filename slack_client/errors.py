"""Reading Slack's error codes safely."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError


def slack_error(error: SlackApiError) -> str:
    """Slack's error code; a 5xx with a plain-text body has none."""
    data = error.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{error.response.status_code}"


def loggable(error: BaseException) -> str:
    """An error as a log line may show it: Slack's code, or the type of anything else.

    Not repr(): aiohttp's response errors carry the request's headers, and with them
    the bot token.
    """
    if isinstance(error, SlackApiError):
        return slack_error(error)
    return type(error).__name__
