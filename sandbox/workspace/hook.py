"""The one hook into the workspace's answers: something attached (tests' fault injection)
may refuse a Web API call or a file request the way Slack sometimes does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sandbox.workspace.records import ApiCall, FileRequest


@dataclass(frozen=True)
class Refusal:
    """How the workspace answers instead: HTTP ``status`` 200 is Slack's ``{"ok": false,
    "error": error}``, 429 is rate limited (with ``Retry-After: retry_after``), anything
    else an outage with a non-JSON body, as Slack's load balancers send."""

    status: int
    error: str | None = None
    retry_after: int = 1


class Gatekeeper(Protocol):
    """Asked before the workspace answers; None lets the request through."""

    def refuse_call(self, call: ApiCall) -> Refusal | None:
        """For a Web API call that is authorised and in the app's scopes; a refused call
        changes nothing in the workspace."""

    def refuse_file(self, request: FileRequest) -> Refusal | None:
        """For a request of a hosted file, before its token is checked."""
