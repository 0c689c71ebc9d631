"""Who the browser service is offered to, and where.

The logged-in browser account is not the asker's to share with everyone: an admin names
the people (`BROWSER_SERVICE_USERS`) and the conversations (`BROWSER_SERVICE_CHANNELS`),
both must match, and "*" is the explicit opt-in for everyone or everywhere. Empty means
nobody. People of other organisations (Slack Connect) never get it.
"""

from __future__ import annotations

from dataclasses import dataclass

EVERYONE = "*"
NOT_HERE = (
    "The browser service is not available to you here: an admin of this bot can allow "
    "it with BROWSER_SERVICE_USERS and BROWSER_SERVICE_CHANNELS."
)
NOT_EXTERNAL = "The browser service is not available to people from other organisations."


@dataclass(frozen=True)
class BrowserGate:
    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def refusal(self, user: str, channel: str, *, external: bool) -> str | None:
        """None if `user` may use the service in `channel`, else why not, in one line."""
        if external:
            return NOT_EXTERNAL
        if not (_names(self.users, user) and _names(self.channels, channel)):
            return NOT_HERE
        return None


def _names(allowed: frozenset[str], one: str) -> bool:
    return EVERYONE in allowed or one in allowed
