"""Configuration read from the environment (and `.env`), validated once at start.

The environment-variable names are a public contract (DESIGN.md section 4); every
problem is reported as one line naming the variable, never its value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_MODEL = "gpt-5.4-mini"
DEFAULT_IMAGE_MODEL = "gpt-image-2.5-sunburst"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable only."""


@dataclass(frozen=True)
class BotConfig:
    slack_bot_token: str = field(repr=False)
    slack_app_token: str = field(repr=False)
    openai_api_key: str = field(repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    openai_base_url: str | None = None
    openai_model: str = DEFAULT_MODEL
    openai_image_model: str = DEFAULT_IMAGE_MODEL
    openai_api_style: str = "responses"
    openai_timeout_seconds: float = 305.0
    max_concurrent_requests: int = 100
    database_path: str = "data/bot.db"
    log_level: str = "INFO"
    # Bound on how long a shutdown waits for in-flight answers before cutting them off.
    shutdown_drain_seconds: float = 20.0


def _required(env: Mapping[str, str], name: str, prefix: str | None = None) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    if prefix and not value.startswith(prefix):
        raise ConfigError(f"{name} must start with {prefix!r}")
    return value


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0")
    return value


def _whole_number(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL")
    return raw


def load_config(env: Mapping[str, str]) -> BotConfig:
    api_style = env.get("OPENAI_API_STYLE", "responses").strip().lower() or "responses"
    if api_style not in ("responses", "chat"):
        raise ConfigError("OPENAI_API_STYLE must be 'responses' or 'chat'")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(log_level), int):
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
    slack_api_url = _url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL) or DEFAULT_SLACK_API_URL
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"
    return BotConfig(
        slack_bot_token=_required(env, "SLACK_BOT_TOKEN", "xoxb-"),
        slack_app_token=_required(env, "SLACK_APP_TOKEN", "xapp-"),
        openai_api_key=_required(env, "OPENAI_API_KEY"),
        slack_api_url=slack_api_url,
        openai_base_url=_url(env, "OPENAI_BASE_URL", None),
        openai_model=env.get("OPENAI_MODEL", "").strip() or DEFAULT_MODEL,
        openai_image_model=env.get("OPENAI_IMAGE_MODEL", "").strip() or DEFAULT_IMAGE_MODEL,
        openai_api_style=api_style,
        openai_timeout_seconds=_positive_number(env, "OPENAI_TIMEOUT_SECONDS", 305.0),
        max_concurrent_requests=_whole_number(env, "MAX_CONCURRENT_REQUESTS", 100, minimum=1),
        database_path=env.get("DATABASE_PATH", "").strip() or "data/bot.db",
        log_level=log_level,
        shutdown_drain_seconds=_positive_number(env, "SHUTDOWN_DRAIN_SECONDS", 20.0),
    )
