"""Who a tool source is offered to, and where.

A source acts with the bot's credentials (the browser service's logged-in account, an
MCP server's token), which are not the asker's to share with everyone: an admin names
the people and the conversations for each source, both must match, and "*" is the
explicit opt-in for everyone or everywhere. Empty means nobody. People of other
organisations (Slack Connect) never get a source.
"""

from __future__ import annotations

from dataclasses import dataclass

EVERYONE = "*"
NOT_EXTERNAL = "{label} is not available to people from other organisations."
NOT_HERE = "{label} is not available to you here: an admin of this bot can allow it with {how}."


@dataclass(frozen=True)
class ToolGate:
    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    # Where an admin allows more people and places, for the refusal to say.
    how: str = "BROWSER_SERVICE_USERS and BROWSER_SERVICE_CHANNELS"

    def refusal(self, label: str, user: str, channel: str, *, external: bool) -> str | None:
        """None if `user` may use the source in `channel`, else why not, in one line."""
        if external:
            return NOT_EXTERNAL.format(label=label.capitalize())
        if not (_names(self.users, user) and _names(self.channels, channel)):
            return NOT_HERE.format(label=label.capitalize(), how=self.how)
        return None


def _names(allowed: frozenset[str], one: str) -> bool:
    return EVERYONE in allowed or one in allowed
