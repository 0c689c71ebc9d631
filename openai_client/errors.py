"""Failures of the model API, as this project names them.

The SDK's exceptions are translated here so that the rest of the bot depends on these
few kinds only; `message_processor` turns each into one honest line for the user.
"""

from __future__ import annotations

from typing import ClassVar


class ModelError(Exception):
    """Base class: the model call did not produce a complete answer."""

    # A few words for /ai status.
    brief: ClassVar[str] = "failed"


class ModelTimeoutError(ModelError):
    """The call ran past OPENAI_TIMEOUT_SECONDS."""

    brief: ClassVar[str] = "timed out"


class ModelRateLimitError(ModelError):
    """The API answered 429 after the SDK's own retries."""

    brief: ClassVar[str] = "rate-limited"


class ModelUnavailableError(ModelError):
    """The service answered with a server error (5xx) or reported one mid-answer."""

    brief: ClassVar[str] = "server error"


class ModelConnectionError(ModelError):
    """No usable connection to the API: `host` is where it was sought.

    The subclasses say why; this class itself is a connection that failed otherwise
    (reset, closed midway, TLS).
    """

    brief: ClassVar[str] = "connection failed"

    def __init__(self, host: str) -> None:
        super().__init__(f"{type(self).__name__} to {host}")
        self.host = host


class ModelConnectionRefusedError(ModelConnectionError):
    """Nothing listens there: the server is down, or OPENAI_BASE_URL names the wrong port."""

    brief: ClassVar[str] = "connection refused"


class ModelHostNotFoundError(ModelConnectionError):
    """The host name does not resolve (DNS): a typo in OPENAI_BASE_URL, or no network."""

    brief: ClassVar[str] = "host name not found"


class ModelConnectTimeoutError(ModelConnectionError):
    """The connection was not made within `seconds` (no answer to the connection attempt)."""

    brief: ClassVar[str] = "no connection"

    def __init__(self, host: str, seconds: float) -> None:
        super().__init__(host)
        self.seconds = seconds


class ModelAuthError(ModelError):
    """The API rejected the key: 401 (the key is wrong) or 403 (not allowed to do that)."""

    brief: ClassVar[str] = "key refused"

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class ModelRequestError(ModelError):
    """The API rejected the request itself (400/404/422): model name, parameters, size."""

    brief: ClassVar[str] = "request refused"


class ContentRefusedError(ModelError):
    """The API refused the prompt under its content policy; the message says why."""

    brief: ClassVar[str] = "content refused"
