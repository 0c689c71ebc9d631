"""Error responses in OpenAI's shape, which the `openai` SDK turns into its exceptions:
`{"error": {"message", "type", "param", "code"}}` with the status the real API uses."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from sandbox.model.images import ImageError
from sandbox.model.wire import dumps

JsonDict = dict[str, Any]

_REASONING_MODEL = re.compile(r"o\d|gpt-([5-9]|\d\d)(?!.*chat)")
_SAMPLING_PARAMETERS = ("temperature", "top_p")
# status -> (type, code) where the real API is more specific than its status class.
_STATUS_KINDS: dict[int, tuple[str, str | None]] = {
    401: ("invalid_request_error", "invalid_api_key"),
    429: ("requests", "rate_limit_exceeded"),
}


def api_error(
    status: int,
    message: str,
    *,
    kind: str,
    code: str | None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in OpenAI's shape; the SDK turns `error` into the exception's body."""
    error = {"message": message, "type": kind, "param": param, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers, dumps=dumps)


def status_error(status: int, message: str) -> web.Response:
    """An error of HTTP `status` with the type and code the real API gives it."""
    generic = ("server_error" if status >= 500 else "invalid_request_error", None)
    kind, code = _STATUS_KINDS.get(status, generic)
    # The SDK reads retry-after for its backoff; "0" means "no server-directed delay" to it.
    headers = {"retry-after": "0"} if status == 429 else None
    return api_error(status, message, kind=kind, code=code, headers=headers)


def image_error(error: ImageError, param: str | None = None) -> web.Response:
    """A refused image: 400 with the error's code; `param` names where the image was when the
    error does not say."""
    return api_error(
        400, str(error), kind="invalid_request_error", code=error.code, param=error.param or param
    )


def invalid_url(request: web.Request) -> web.Response:
    message = f"Invalid URL ({request.method} {request.path})"
    return api_error(404, message, kind="invalid_request_error", code=None)


def missing_parameter(name: str) -> web.Response:
    message = f"Missing required parameter: '{name}'."
    return api_error(
        400, message, kind="invalid_request_error", code="missing_required_parameter", param=name
    )


def moderation_blocked() -> web.Response:
    message = (
        "Your request was rejected as a result of our safety system. Your request may contain "
        "content that is not allowed by our safety system."
    )
    return api_error(400, message, kind="image_generation_user_error", code="moderation_blocked")


def unsupported_parameter(body: JsonDict) -> web.Response | None:
    """Reasoning models reject sampling parameters; the bot must not send them."""
    model = body.get("model")
    if not isinstance(model, str) or not _REASONING_MODEL.match(model):
        return None
    for name in _SAMPLING_PARAMETERS:
        if body.get(name) is not None:
            message = f"Unsupported parameter: '{name}' is not supported with this model."
            return api_error(
                400, message, kind="invalid_request_error", code="unsupported_parameter", param=name
            )
    return None
