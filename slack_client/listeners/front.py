"""What the bot needs of the side that takes Slack's deliveries: the Socket Mode
connection (slack_client.listeners.socket) or the HTTP server (slack_client.listeners.http)."""

from __future__ import annotations

from typing import Protocol


class Front(Protocol):
    # Why the bot takes no messages while `connected()` is False (/readyz says it).
    unready: str
    # What the log says once Slack's deliveries can reach the bot.
    taking: str

    async def connect_async(self) -> None:
        """Take Slack's deliveries from now on."""

    async def close_async(self) -> None:
        """Take no more deliveries."""

    async def connected(self) -> bool:
        """Whether deliveries reach the bot now."""
