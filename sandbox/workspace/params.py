"""Reading a Web API request's parameters the way Slack does: query string and body (JSON,
urlencoded or multipart) in one dict, JSON-encoded arguments decoded, typed getters.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.workspace.errors import SlackError

# Parameters whose values Slack accepts as JSON-encoded strings inside forms and query strings.
# A whitelist, because free-text fields such as ``text`` may legitimately look like JSON.
JSON_ENCODED_PARAMS = frozenset(
    {
        "attachments",
        "blocks",
        "chunks",
        "loading_messages",
        "metadata",
        "prompts",
        "unfurls",
        "user_auth_blocks",
        "view",
    }
)
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def read_params(request: web.Request) -> dict[str, Any]:
    """Merge query string and body (JSON, urlencoded or multipart) into one dict."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await _json_body(request))
        elif request.content_type in FORM_CONTENT_TYPES:
            form = await request.post()
            params.update({key: _form_value(value) for key, value in form.items()})
    return {key: _decode_json_param(key, value) for key, value in params.items()}


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise SlackError("invalid_json") from None
    if not isinstance(body, dict):
        raise SlackError("invalid_json")
    return body


def _form_value(value: str | bytes | bytearray | web.FileField) -> Any:
    if isinstance(value, web.FileField):
        return {"filename": value.filename, "content": value.file.read()}
    return value


def _decode_json_param(key: str, value: Any) -> Any:
    if key not in JSON_ENCODED_PARAMS or not isinstance(value, str):
        return value
    if not value.lstrip().startswith(("[", "{")):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, list | dict) else value


def bearer_token(header: str | None) -> str | None:
    if header is None or not header.startswith("Bearer "):
        return None
    return header.removeprefix("Bearer ").strip() or None


def pop_token(params: dict[str, Any]) -> str | None:
    token = params.pop("token", None)
    return token if isinstance(token, str) and token else None


def str_param(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, bool) or value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def int_param(params: dict[str, Any], key: str) -> int | None:
    value = str_param(params, key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise SlackError("invalid_arguments") from None


def list_param(params: dict[str, Any], key: str) -> list[Any] | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise SlackError(f"invalid_{key}")
    return value


def csv_param(params: dict[str, Any], key: str) -> list[str]:
    return [item.strip() for item in (str_param(params, key) or "").split(",") if item.strip()]


def require_channel(params: dict[str, Any]) -> str:
    channel = str_param(params, "channel")
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise SlackError("msg_too_long")


def flag(value: Any) -> bool | None:
    """An optional boolean argument as sent (JSON true/false, or form text)."""
    return None if value is None else truthy(value)


def truthy(value: Any) -> bool:
    return value is True or value in ("true", "1")


def thread_key(params: dict[str, Any]) -> tuple[str, str]:
    channel = str_param(params, "channel_id")
    thread_ts = str_param(params, "thread_ts")
    if channel is None or thread_ts is None:
        raise SlackError("invalid_arguments", ["[ERROR] channel_id and thread_ts are required"])
    return channel, thread_ts
