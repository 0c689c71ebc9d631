"""What can go wrong with the browser service, raised here and worded for people in
message_processor/failures.py."""

from __future__ import annotations


class BrowserServiceError(Exception):
    """Base: the action did not produce a result."""


class ServiceNotConfigured(BrowserServiceError):
    """BROWSER_SERVICE_URL is unset."""


class ServiceUnreachable(BrowserServiceError):
    """No connection, or no usable answer (its action list could not be read)."""


class ServiceTimeout(BrowserServiceError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g}s")
        self.seconds = seconds


class NotLoggedIn(BrowserServiceError):
    """The service's browser is waiting for someone to log in."""


class ServiceRefused(BrowserServiceError):
    """401/403: the service did not accept the bot's token."""


class ServiceFailed(BrowserServiceError):
    """A 5xx: the service or its browser broke."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class ActionFailed(BrowserServiceError):
    """The service carried the request and said it did not work (`success: false`)."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class InputRejected(BrowserServiceError):
    """422: the service rejected fields; each problem names its field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class UnknownAction(BrowserServiceError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
