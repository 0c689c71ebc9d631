"""What can go wrong with the browser service beyond what any tool source may say
(`tool_sources.errors`); worded for people in message_processor/failures.py."""

from __future__ import annotations

from tool_sources import ToolSourceError


class NotLoggedIn(ToolSourceError):
    """The service's browser is waiting for someone to log in."""
