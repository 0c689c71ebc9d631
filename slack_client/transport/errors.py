"""Slack's failures as the rest of the bot sees them, and their codes read safely.

Every Web API call Slack refuses raises `SlackRefused` (slack_client.transport.web); a
call or a file Slack never answers (the connection failed or timed out) raises
`SlackUnreachable`: the pipeline catches these and never a slack_sdk or aiohttp type.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError, SlackClientError


def slack_error(error: SlackApiError) -> str:
    """Slack's error code; a 5xx with a plain-text body has none."""
    data = error.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{error.response.status_code}"


class SlackRefused(SlackApiError):
    """Slack answered a Web API call with an error: `code` says which. A SlackApiError
    still, so Bolt and slack-sdk handle it as their own."""

    def __init__(self, method: str, error: SlackApiError) -> None:
        # slack-sdk's constructor is untyped.
        super().__init__(f"Slack refused {method}", error.response)  # type: ignore[no-untyped-call]
        self.method = method
        self.code = slack_error(error)


class SlackUnreachable(SlackClientError):
    """A call to Slack got no answer: the connection failed or timed out. A
    SlackClientError, so Bolt and slack-sdk handle it as their own."""


def loggable(error: BaseException) -> str:
    """An error as a log line may show it: Slack's code, or the type of anything else.

    Not repr(): aiohttp's response errors carry the request's headers, and with them
    the bot token.
    """
    if isinstance(error, SlackApiError):
        return slack_error(error)
    return type(error).__name__
