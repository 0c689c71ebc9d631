"""Configuration read from the environment (and `.env`), validated once at start.

The environment-variable names are a public contract (the README lists them); every
problem is reported as one line naming the variable, never its value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlparse, urlsplit

from mcp_settings import McpServerSettings, McpSettingsError, read_mcp_servers
from openai_client import Price, parse_prices

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_MODEL = "gpt-5.4-mini"
DEFAULT_IMAGE_MODEL = "gpt-image-2.5-sunburst"
# Offered in the settings modal unless ALLOWED_MODELS says otherwise (each with a list
# price, so usage shows a cost); the configured OPENAI_MODEL is always offered too.
DEFAULT_ALLOWED_MODELS = ("gpt-5.4-mini", "gpt-5.2", "gpt-5.4-nano", "gpt-4.1", "gpt-4.1-mini")
# Pasted links are fetched on the web's own ports only unless LINK_FETCH_PORTS says more.
DEFAULT_LINK_FETCH_PORTS = frozenset({80, 443})
LOG_FORMATS = ("text", "json")
# DATABASE_URL's schemes: either selects the PostgreSQL store.
DATABASE_URL_SCHEMES = ("postgresql://", "postgres://")
# How Slack reaches the bot: a Socket Mode connection it opens, or HTTP requests to it.
SLACK_MODES = ("socket", "http")
# HTTP mode's port when PORT is unset (Bolt's and Slack's examples use it too).
DEFAULT_PORT = 3000
# HTTP mode listens on every interface: a load balancer or proxy in front must reach it.
HTTP_HOST = "0.0.0.0"


# ANSWER_DEADLINE_SECONDS' default: at least this, and twice OPENAI_TIMEOUT_SECONDS.
MIN_DEFAULT_DEADLINE = 600.0


# The placeholders .env.example ships with (tests/test_settings_units.py holds the file to
# these): a setting that still has one was copied but never filled in.
EXAMPLE_VALUES = {
    "SLACK_BOT_TOKEN": "xoxb-your-bot-token",
    "SLACK_APP_TOKEN": "xapp-your-app-level-token",
    "OPENAI_API_KEY": "sk-your-key",
}


T = TypeVar("T")


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
    # Set: the PostgreSQL store at this URL, instead of SQLite at `database_path`.
    database_url: str | None = field(default=None, repr=False)
    # Connections each instance keeps to PostgreSQL at most (its heartbeat has one more).
    database_pool_size: int = 10
    # Days conversations, document text and images are kept; 0 keeps them forever.
    retention_days: int = 90
    log_level: str = "INFO"
    # "text" (one line of prose a record) or "json" (one JSON object a line).
    log_format: str = "text"
    # Bound on how long a shutdown waits for in-flight answers before cutting them off.
    shutdown_drain_seconds: float = 20.0
    admin_users: frozenset[str] = frozenset()
    allowed_users: frozenset[str] = frozenset()
    allowed_channels: frozenset[str] = frozenset()
    # Off unless an admin sets it: a burst from one person is answered, not dropped.
    user_messages_per_minute: int = 0
    # The most one answer may take, all its model rounds and tools included.
    answer_deadline_seconds: float = 610.0
    # Answers one person may have in progress at once; their next ones wait.
    user_answers_in_flight: int = 3
    # Images drawn or edited per person per UTC day; 0: the image tools are not offered.
    image_generations_per_day: int = 25
    # `/ai` subcommands (and the Summarize thread shortcut) that call the model or another
    # service, per person per minute.
    service_commands_per_minute: int = 5
    allowed_models: tuple[str, ...] = DEFAULT_ALLOWED_MODELS
    model_prices: dict[str, Price] = field(default_factory=dict)
    browser_service_url: str | None = None
    browser_service_token: str | None = field(default=None, repr=False)
    browser_service_timeout_seconds: float = 60.0
    # Empty: every GET and no state-changing action (browser_service.AllowList).
    browser_service_actions: str = ""
    # Calls the service takes at once: a single browser does one thing at a time.
    browser_service_concurrency: int = 1
    # How long Approve/Cancel buttons for a state-changing action stay valid.
    browser_service_approval_seconds: float = 600.0
    # Who the model may use the browser service for, and where: both must match. Slack
    # ids, or "*" for everyone / everywhere; empty: nobody until an admin names them.
    browser_service_users: frozenset[str] = frozenset()
    browser_service_channels: frozenset[str] = frozenset()
    # MCP servers whose tools the model may use (MCP_SERVERS, see mcp_settings.py).
    mcp_servers: tuple[McpServerSettings, ...] = ()
    # Worker processes that read attached files, and the bounds on each file's reading:
    # CPU seconds (the wall-clock bound is three times that) and address space.
    file_readers: int = 2
    file_read_seconds: float = 20.0
    file_read_memory_mb: int = 1024
    # Bytes of files being downloaded and read at once, across the bot.
    file_read_budget_mb: int = 100
    # Ports pasted links may use: a link to any other port is not fetched (SSRF).
    link_fetch_ports: frozenset[int] = DEFAULT_LINK_FETCH_PORTS
    # Where /metrics, /healthz and /readyz are served; no port: not served.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # "socket" or "http" (SLACK_MODES); http mode serves Slack's requests on `port`,
    # each checked against the signing secret.
    slack_mode: str = "socket"
    slack_signing_secret: str = field(default="", repr=False)
    port: int = DEFAULT_PORT

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values no log line may show."""
        named = (
            self.slack_bot_token,
            self.slack_app_token,
            self.openai_api_key,
            self.browser_service_token,
            *(server.token for server in self.mcp_servers),
            *_database_passwords(self.database_url),
            self.slack_signing_secret,
        )
        return tuple(value for value in named if value)


def _database_passwords(url: str | None) -> tuple[str, ...]:
    """The passwords in DATABASE_URL (before the host, or as `?password=`) as written
    and, if percent-encoded, decoded."""
    if not url:
        return ()
    try:
        parts = urlsplit(url)
        written = [parts.password, *parse_qs(parts.query).get("password", [])]
    except ValueError:
        return ()
    found = [p for password in written if password for p in (password, unquote(password))]
    return tuple(dict.fromkeys(found))


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


def read_database_url(env: Mapping[str, str]) -> str | None:
    """DATABASE_URL, checked: None when unset (SQLite); the admin commands read it too."""
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return None
    problem = f"DATABASE_URL must be a URL starting with {' or '.join(DATABASE_URL_SCHEMES)}"
    if not raw.startswith(DATABASE_URL_SCHEMES):
        raise ConfigError(problem)
    try:
        urlsplit(raw).port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise ConfigError(problem) from None
    return raw


def _ids(env: Mapping[str, str], name: str) -> frozenset[str]:
    """Comma-separated Slack ids ("U…", "C…"): checked, so a typo does not open the gate."""
    ids = frozenset(part.strip() for part in env.get(name, "").split(",") if part.strip())
    for one in ids:
        if not (one.isalnum() and one.isupper() and one[0] in "UWCGD"):
            raise ConfigError(f"{name} must be comma-separated Slack ids (like U0123ABCD)")
    return ids


def _is_port(text: str) -> bool:
    return len(text) <= 5 and text.isascii() and text.isdigit() and 1 <= int(text) <= 65535


def _ports(env: Mapping[str, str], name: str, default: frozenset[int]) -> frozenset[int]:
    parts = [part.strip() for part in env.get(name, "").split(",") if part.strip()]
    if not parts:
        return default
    if not all(_is_port(part) for part in parts):
        raise ConfigError(f"{name} must be comma-separated port numbers from 1 to 65535")
    return frozenset(int(part) for part in parts)


def _port(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not _is_port(raw):
        raise ConfigError(f"{name} must be a port number from 1 to 65535")
    return int(raw)


def _ids_or_everyone(env: Mapping[str, str], name: str, kinds: str, example: str) -> frozenset[str]:
    """Comma-separated Slack ids whose first letter is one of `kinds`, or "*" (everyone,
    everywhere: an opt-in spelled out, never a default)."""
    ids = frozenset(part.strip() for part in env.get(name, "").split(",") if part.strip())
    for one in ids - {"*"}:
        if not (one.isalnum() and one.isupper() and one[0] in kinds):
            raise ConfigError(f"{name} must be * or comma-separated Slack ids (like {example})")
    return ids


def _mcp_servers(env: Mapping[str, str]) -> tuple[McpServerSettings, ...]:
    try:
        return read_mcp_servers(env, lambda *named: _ids_or_everyone(env, *named))
    except McpSettingsError as error:
        raise ConfigError(str(error)) from None


def _models(env: Mapping[str, str], default_model: str) -> tuple[str, ...]:
    named = [part.strip() for part in env.get("ALLOWED_MODELS", "").split(",") if part.strip()]
    models = named or list(DEFAULT_ALLOWED_MODELS)
    return tuple(dict.fromkeys([default_model, *models]))


def _prices(env: Mapping[str, str]) -> dict[str, Price]:
    try:
        return parse_prices(env.get("MODEL_PRICES", ""))
    except ValueError:
        raise ConfigError(
            "MODEL_PRICES must be model=input/output pairs in dollars per million tokens"
        ) from None


def _answer_deadline(env: Mapping[str, str], model_timeout: float) -> float:
    """By default room for one model call that runs to its own timeout and the rest of
    the answer besides: the single-call timeout line stays the one people see for it."""
    return _positive_number(
        env, "ANSWER_DEADLINE_SECONDS", max(MIN_DEFAULT_DEADLINE, 2 * model_timeout)
    )


def holds_example(env: Mapping[str, str], name: str) -> bool:
    """Whether `name` still has .env.example's placeholder."""
    return env.get(name, "").strip() == EXAMPLE_VALUES[name]


def _check_filled_in(env: Mapping[str, str], unused: frozenset[str]) -> None:
    names = [name for name in EXAMPLE_VALUES if name not in unused and holds_example(env, name)]
    if not names:
        return
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "still holds the example value" if len(names) == 1 else "still hold the example values"
    raise ConfigError(f"{listed} {verb} from .env.example; put your own in .env")


def _api_style(env: Mapping[str, str]) -> str:
    api_style = env.get("OPENAI_API_STYLE", "responses").strip().lower() or "responses"
    if api_style not in ("responses", "chat"):
        raise ConfigError("OPENAI_API_STYLE must be 'responses' or 'chat'")
    return api_style


def _log_level(env: Mapping[str, str]) -> str:
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(log_level), int):
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
    return log_level


def _log_format(env: Mapping[str, str]) -> str:
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        raise ConfigError("LOG_FORMAT must be 'text' or 'json'")
    return log_format


def _slack_mode(env: Mapping[str, str]) -> str:
    mode = env.get("SLACK_MODE", "").strip().lower() or "socket"
    if mode not in SLACK_MODES:
        raise ConfigError("SLACK_MODE must be 'socket' or 'http'")
    return mode


def _slack_api_url(env: Mapping[str, str]) -> str:
    slack_api_url = _url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL) or DEFAULT_SLACK_API_URL
    return slack_api_url if slack_api_url.endswith("/") else slack_api_url + "/"


class _Problems:
    """Each setting's problem, kept in the order the settings are read, while reading
    goes on with a stand-in value: an admin fixing a .env sees every problem at once."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def check(self, read: Callable[[], T], stand_in: T) -> T:
        try:
            return read()
        except ConfigError as error:
            self.lines.append(str(error))
            return stand_in


def config_problems(env: Mapping[str, str]) -> list[str]:
    """Every configuration problem, one line each naming its variable (never a value);
    empty when `load_config` would succeed."""
    return _read(env)[1]


def load_config(env: Mapping[str, str]) -> BotConfig:
    config, problems = _read(env)
    if problems:
        raise ConfigError(problems[0])
    return config


def _read(env: Mapping[str, str]) -> tuple[BotConfig, list[str]]:
    """The configuration and its problems; with any problem, the configuration holds
    stand-ins and must not be used."""
    found = _Problems()
    slack_mode = found.check(lambda: _slack_mode(env), "socket")
    http = slack_mode == "http"
    # HTTP mode opens no Socket Mode connection: the app token is neither needed nor checked.
    unused = frozenset({"SLACK_APP_TOKEN"} if http else ())
    found.check(lambda: _check_filled_in(env, unused), None)
    api_style = found.check(lambda: _api_style(env), "responses")
    log_level = found.check(lambda: _log_level(env), "INFO")
    slack_api_url = found.check(lambda: _slack_api_url(env), DEFAULT_SLACK_API_URL)
    model = env.get("OPENAI_MODEL", "").strip() or DEFAULT_MODEL
    model_timeout = found.check(
        lambda: _positive_number(env, "OPENAI_TIMEOUT_SECONDS", 305.0), 305.0
    )

    def number(name: str, default: float) -> float:
        return found.check(lambda: _positive_number(env, name, default), default)

    def whole(name: str, default: int, minimum: int) -> int:
        return found.check(lambda: _whole_number(env, name, default, minimum), default)

    def url(name: str) -> str | None:
        return found.check(lambda: _url(env, name, None), None)

    def required(name: str, prefix: str | None = None) -> str:
        return found.check(lambda: _required(env, name, prefix), "")

    config = BotConfig(
        slack_bot_token=required("SLACK_BOT_TOKEN", "xoxb-"),
        slack_app_token=(
            env.get("SLACK_APP_TOKEN", "").strip() if http else required("SLACK_APP_TOKEN", "xapp-")
        ),
        openai_api_key=required("OPENAI_API_KEY"),
        slack_api_url=slack_api_url,
        openai_base_url=url("OPENAI_BASE_URL"),
        openai_model=model,
        openai_image_model=env.get("OPENAI_IMAGE_MODEL", "").strip() or DEFAULT_IMAGE_MODEL,
        openai_api_style=api_style,
        openai_timeout_seconds=model_timeout,
        max_concurrent_requests=whole("MAX_CONCURRENT_REQUESTS", 100, minimum=1),
        database_path=env.get("DATABASE_PATH", "").strip() or "data/bot.db",
        database_url=found.check(lambda: read_database_url(env), None),
        retention_days=whole("RETENTION_DAYS", 90, minimum=0),
        log_level=log_level,
        log_format=found.check(lambda: _log_format(env), "text"),
        shutdown_drain_seconds=number("SHUTDOWN_DRAIN_SECONDS", 20.0),
        admin_users=found.check(lambda: _ids(env, "ADMIN_USERS"), frozenset()),
        allowed_users=found.check(lambda: _ids(env, "ALLOWED_USERS"), frozenset()),
        allowed_channels=found.check(lambda: _ids(env, "ALLOWED_CHANNELS"), frozenset()),
        user_messages_per_minute=whole("USER_MESSAGES_PER_MINUTE", 0, minimum=0),
        answer_deadline_seconds=found.check(
            lambda: _answer_deadline(env, model_timeout), MIN_DEFAULT_DEADLINE
        ),
        user_answers_in_flight=whole("USER_ANSWERS_IN_FLIGHT", 3, minimum=1),
        image_generations_per_day=whole("IMAGE_GENERATIONS_PER_DAY", 25, minimum=0),
        service_commands_per_minute=whole("SERVICE_COMMANDS_PER_MINUTE", 5, minimum=0),
        allowed_models=_models(env, model),
        model_prices=found.check(lambda: _prices(env), {}),
        browser_service_url=url("BROWSER_SERVICE_URL"),
        browser_service_token=env.get("BROWSER_SERVICE_TOKEN", "").strip() or None,
        browser_service_timeout_seconds=number("BROWSER_SERVICE_TIMEOUT_SECONDS", 60.0),
        browser_service_actions=env.get("BROWSER_SERVICE_ACTIONS", "").strip(),
        browser_service_concurrency=whole("BROWSER_SERVICE_CONCURRENCY", 1, minimum=1),
        browser_service_approval_seconds=number("BROWSER_SERVICE_APPROVAL_SECONDS", 600.0),
        browser_service_users=found.check(
            lambda: _ids_or_everyone(env, "BROWSER_SERVICE_USERS", "UW", "U0123ABCD"),
            frozenset(),
        ),
        browser_service_channels=found.check(
            lambda: _ids_or_everyone(env, "BROWSER_SERVICE_CHANNELS", "CGD", "C0123ABCD"),
            frozenset(),
        ),
        mcp_servers=found.check(lambda: _mcp_servers(env), ()),
        file_readers=whole("FILE_READERS", 2, minimum=1),
        database_pool_size=whole("DATABASE_POOL_SIZE", 10, minimum=2),
        file_read_seconds=number("FILE_READ_SECONDS", 20.0),
        file_read_memory_mb=whole("FILE_READ_MEMORY_MB", 1024, minimum=256),
        file_read_budget_mb=whole("FILE_READ_BUDGET_MB", 100, minimum=1),
        link_fetch_ports=found.check(
            lambda: _ports(env, "LINK_FETCH_PORTS", DEFAULT_LINK_FETCH_PORTS),
            DEFAULT_LINK_FETCH_PORTS,
        ),
        metrics_port=found.check(lambda: _port(env, "METRICS_PORT"), None),
        metrics_host=env.get("METRICS_HOST", "").strip() or "127.0.0.1",
        slack_mode=slack_mode,
        slack_signing_secret=required("SLACK_SIGNING_SECRET") if http else "",
        # Read in HTTP mode only: hosts often set PORT for whatever they run.
        port=(found.check(lambda: _port(env, "PORT"), None) if http else None) or DEFAULT_PORT,
    )
    return config, found.lines
