"""Failures of the model API, as this project names them.

The SDK's exceptions are translated here so that the rest of the bot depends on these
few kinds only; `message_processor` turns each into one honest line for the user.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base class: the model call did not produce a complete answer."""


class ModelTimeoutError(ModelError):
    """The call ran past OPENAI_TIMEOUT_SECONDS."""


class ModelRateLimitError(ModelError):
    """The API answered 429 after the SDK's own retries."""


class ModelUnavailableError(ModelError):
    """5xx, connection refused or reset: the service is down or overloaded."""


class ModelAuthError(ModelError):
    """The API rejected the key (401/403)."""


class ModelRequestError(ModelError):
    """The API rejected the request itself (400/404/422): model name, parameters, size."""


class ContentRefusedError(ModelError):
    """The API refused the prompt under its content policy; the message says why."""
