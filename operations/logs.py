"""The process's log lines: today's text, or one JSON object a line (`LOG_FORMAT=json`).

Either way every line passes one redaction: the configured secrets, and anything shaped
like a Slack token, become `[redacted]` in the final text, tracebacks and arguments
included. The message being answered (`set_log_context`) is carried by a context variable,
so every line an answer logs, in its own task and the tasks it starts, names it in
JSON without each call saying so.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# A backstop for tokens the configuration does not name (another workspace's, a user
# token pasted somewhere): Slack's token prefixes, then the token's own characters.
# Every xox?- kind (bot, user, app, refresh `xoxe-`, and the browser's `xoxc-`/`xoxd-`).
SLACK_TOKEN_SHAPE = r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+"
# The record attribute the context is copied to. Not the field names themselves: a
# LogRecord already has `thread` (the OS thread's id), which a formatter may show.
_CONTEXT_ATTRIBUTE = "log_context"

_CONTEXT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "log_context", default=None
)


def set_log_context(**fields: str | None) -> None:
    """Name what the current task works on (channel, thread, user, event_id) in every line
    it logs from here on, and in those of the tasks it starts. Fields that are None are
    left out. A task's context is its own: setting it in a task started for one message
    ends with that task."""
    _CONTEXT.set({name: value for name, value in fields.items() if value is not None})


def configure_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """The root logger at `level`, its one handler `log_handler(fmt, secrets)`."""
    logging.basicConfig(level=level, handlers=[log_handler(fmt, secrets)])


def log_handler(fmt: str, secrets: Iterable[str]) -> logging.Handler:
    """Lines to standard error in `fmt` ("text" or "json"), with the log context and
    without any value of `secrets`."""
    inner = _JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter())
    handler.setFormatter(_Redacting(inner, secrets))
    return handler


class _ContextFilter(logging.Filter):
    """Copies the current task's log context onto each record as it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _CONTEXT.get()
        if context:
            setattr(record, _CONTEXT_ATTRIBUTE, context)
        return True


class _JsonLines(JsonFormatter):
    """time (ISO 8601, UTC), level, logger and message, then what the line carries: its
    `extra=` fields, the task's context, the traceback."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "traceback",
            },
            reserved_attrs=[*RESERVED_ATTRS, _CONTEXT_ATTRIBUTE],
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.update(getattr(record, _CONTEXT_ATTRIBUTE, {}))


class _Redacting(logging.Formatter):
    """Another formatter's final line with secrets replaced: one regex pass over it."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        self._pattern = _redaction_pattern(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._pattern.sub(REDACTED, self._inner.format(record))


def _redaction_pattern(secrets: Iterable[str]) -> re.Pattern[str]:
    """One alternation of every secret as written and as JSON escapes it (a secret with a
    quote, a backslash or a non-ASCII character is spelled otherwise inside a JSON
    string), longest first so a secret containing another is redacted whole, then the
    Slack token shape."""
    spellings = {form for secret in secrets if secret for form in (secret, _json_escaped(secret))}
    literal = [re.escape(form) for form in sorted(spellings, key=len, reverse=True)]
    return re.compile("|".join([*literal, SLACK_TOKEN_SHAPE]))


def _json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]
