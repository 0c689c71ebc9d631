"""Event listeners known by the event type they handle, and the catch-all for the rest.

Slack delivers an event again unless it is acknowledged, and Bolt acknowledges an event
only when a listener matches it: so every type needs a listener, and a catch-all takes
the types nobody handles. Bolt runs the first listener that matches, in the order
registered; a catch-all matching every type would take the events of any listener
registered after it. Registered here, the catch-all matches only the types no listener
here handles, at dispatch time, so the order of registration does not matter. Every
event listener of slack_client is registered through `EventListeners.on`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

Listener = Callable[..., Awaitable[BoltResponse | None]]


class EventListeners:
    def __init__(self, app: AsyncApp) -> None:
        self._app = app
        self._handled: set[str] = set()

    def on(self, event_type: str) -> Callable[[Listener], Listener | None]:
        """`app.event(event_type)`, with the type kept from the catch-all."""
        self._handled.add(event_type)
        return self._app.event(event_type)

    def catch_all(self) -> None:
        """Acknowledge, and ignore, events of every type no listener here handles."""

        async def unhandled(body: dict[str, Any]) -> bool:
            return body.get("event", {}).get("type") not in self._handled

        @self._app.event(re.compile(".*"), matchers=[unhandled])
        async def on_other_event() -> None:
            """Acknowledged and ignored."""
