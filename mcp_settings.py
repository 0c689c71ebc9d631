"""`MCP_SERVERS`: the MCP servers whose tools the model may use, read from the
environment or from a JSON file, checked once at start (see config.py).

Two forms:
- `MCP_SERVERS=docs=https://mcp.example.com/mcp,tickets=https://…` (name=URL, comma
  separated); each server's bearer token from `MCP_TOKEN_<NAME>` (upper case, `-` as
  `_`), every tool allowed, offered to `MCP_USERS` in `MCP_CHANNELS`;
- `MCP_SERVERS=/path/to/mcp.json`: `{"servers": {"docs": {"url": …, "token_env": …,
  "tools": [names] or "*", "users": [ids] or "*", "channels": [ids] or "*",
  "timeout_seconds": …}}}`, where `users`/`channels` default to the two variables.

A token never travels in clear to another host: a server with a token must be https
unless it is on this machine.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# A name is the prefix of its tools' names (`docs_search`): no `_`, so the prefix up to
# the first `_` always names one source. "browser" is the browser service's; the others
# begin the bot's own tools' names (generate_image, edit_image, read_open_conversation),
# which a server's tool must not take.
_NAME = re.compile(r"[A-Za-z0-9-]{1,24}")
RESERVED_NAMES = frozenset({"browser", "generate", "edit", "read"})
DEFAULT_TIMEOUT_SECONDS = 30.0
EVERYTHING = frozenset({"*"})
_SERVER_KEYS = frozenset(
    {"url", "token", "token_env", "tools", "users", "channels", "timeout_seconds"}
)


class McpSettingsError(ValueError):
    """One line naming what is wrong, never a value that may be secret."""


@dataclass(frozen=True)
class McpServerSettings:
    name: str
    url: str
    token: str | None = field(default=None, repr=False)
    # Tool names as the server gives them, or "*" for all.
    tools: frozenset[str] = EVERYTHING
    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


# Reads a Slack-id list variable the way config.py does (checked, "*" allowed).
ReadIds = Callable[[str, str, str], frozenset[str]]


def read_mcp_servers(env: Mapping[str, str], ids: ReadIds) -> tuple[McpServerSettings, ...]:
    raw = env.get("MCP_SERVERS", "").strip()
    if not raw:
        return ()
    users = ids("MCP_USERS", "UW", "U0123ABCD")
    channels = ids("MCP_CHANNELS", "CGD", "C0123ABCD")
    timeout = _timeout(env.get("MCP_TIMEOUT_SECONDS", "").strip() or None, "MCP_TIMEOUT_SECONDS")
    if raw.endswith(".json") and "=" not in raw:
        servers = _from_file(Path(raw), env, users, channels, timeout)
    else:
        servers = _from_list(raw, env, users, channels, timeout)
    names = [server.name.lower() for server in servers]
    if len(set(names)) != len(names):
        raise McpSettingsError("MCP_SERVERS names each server once")
    return servers


def _from_list(
    raw: str,
    env: Mapping[str, str],
    users: frozenset[str],
    channels: frozenset[str],
    timeout: float,
) -> tuple[McpServerSettings, ...]:
    servers = []
    for entry in (part.strip() for part in raw.split(",") if part.strip()):
        name, sep, url = entry.partition("=")
        if not sep:
            raise McpSettingsError(
                "MCP_SERVERS must be name=URL entries separated by commas (a URL with a comma "
                "goes in a .json file), or a .json file"
            )
        name = _name(name.strip())
        token_name = "MCP_TOKEN_" + name.upper().replace("-", "_")
        token = env.get(token_name, "").strip() or None
        servers.append(
            _checked(
                McpServerSettings(name, url.strip(), token, EVERYTHING, users, channels, timeout)
            )
        )
    return tuple(servers)


def _from_file(
    path: Path,
    env: Mapping[str, str],
    users: frozenset[str],
    channels: frozenset[str],
    timeout: float,
) -> tuple[McpServerSettings, ...]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise McpSettingsError(f"MCP_SERVERS: {path} cannot be read ({error.strerror})") from None
    except ValueError:
        raise McpSettingsError(f"MCP_SERVERS: {path} is not valid JSON") from None
    entries = document.get("servers") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise McpSettingsError(f'MCP_SERVERS: {path} must hold {{"servers": {{name: {{…}}}}}}')
    servers = []
    for name, spec in entries.items():
        where = f"MCP_SERVERS: server {str(name)[:24]!r}"
        if not isinstance(spec, dict) or not isinstance(spec.get("url"), str):
            raise McpSettingsError(f"{where} needs a url")
        unknown = set(spec) - _SERVER_KEYS
        if unknown:
            raise McpSettingsError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        token = spec.get("token")
        if isinstance(spec.get("token_env"), str):
            token = env.get(spec["token_env"], "").strip() or None
        servers.append(
            _checked(
                McpServerSettings(
                    name=_name(str(name)),
                    url=spec["url"].strip(),
                    token=token if isinstance(token, str) and token else None,
                    tools=_names(spec.get("tools", "*"), f"{where}: tools"),
                    users=_ids(spec["users"], f"{where}: users", "UW")
                    if "users" in spec
                    else users,
                    channels=(
                        _ids(spec["channels"], f"{where}: channels", "CGD")
                        if "channels" in spec
                        else channels
                    ),
                    timeout_seconds=_timeout(spec.get("timeout_seconds"), f"{where}: timeout"),
                )
            )
        )
    return tuple(servers)


def _name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.lower() in RESERVED_NAMES:
        raise McpSettingsError(
            "MCP_SERVERS: a server's name is 1-24 letters, digits or hyphens, and not "
            + ", ".join(sorted(RESERVED_NAMES))
        )
    return name


def _names(value: Any, where: str) -> frozenset[str]:
    if value == "*":
        return EVERYTHING
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise McpSettingsError(f'{where} must be "*" or a list of names')
    return frozenset(value)


def _ids(value: Any, where: str, kinds: str) -> frozenset[str]:
    """Slack ids whose first letter is one of `kinds`, or "*": checked, so a typo does
    not open the gate."""
    ids = _names(value, where)
    for one in ids - EVERYTHING:
        if not (one.isalnum() and one.isupper() and one[0] in kinds):
            raise McpSettingsError(f'{where} must be "*" or a list of Slack ids')
    return ids


def _timeout(value: object, where: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise McpSettingsError(f"{where} must be a number of seconds") from None
    if not 0 < seconds <= 3600:
        raise McpSettingsError(f"{where} must be between 0 and 3600 seconds")
    return seconds


def _checked(server: McpServerSettings) -> McpServerSettings:
    where = f"MCP_SERVERS: server {server.name!r}"
    try:
        parts = urlsplit(server.url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise McpSettingsError(f"{where} needs an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise McpSettingsError(f"{where} needs an http(s) URL")
    if parts.username or parts.password:
        raise McpSettingsError(f"{where}: put the token in its own setting, not in the URL")
    if server.token and parts.scheme == "http" and not _on_this_machine(host):
        raise McpSettingsError(f"{where} has a token, so its URL must be https")
    return server


def _on_this_machine(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
