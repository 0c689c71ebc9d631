"""Reading Slack's error codes safely."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError


def slack_error(error: SlackApiError) -> str:
    """Slack's error code; a 5xx with a plain-text body has none."""
    data = error.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{error.response.status_code}"
