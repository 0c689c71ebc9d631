"""The error a Web API method answers with: ``{"ok": false, "error": ...}``."""

from __future__ import annotations

from collections.abc import Sequence


class SlackError(Exception):
    """Raised by Web API method implementations; becomes ``{"ok": false, "error": ...}``.

    ``messages`` become ``response_metadata.messages``, where Slack explains invalid blocks
    and views (``"[ERROR] ... [json-pointer:/view/title/text]"``).
    """

    def __init__(self, error: str, messages: Sequence[str] = ()) -> None:
        super().__init__(error, *messages)
        self.error = error
        self.messages = list(messages)
