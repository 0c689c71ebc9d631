"""A tool the model may call, and the interface every source of tools implements."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# Function names the model APIs accept: letters, digits, _ and -, at most 64.
MAX_TOOL_NAME = 64
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_-]+")

# Told how many calls are ahead when a call has to wait for the source.
WaitNotice = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Tool:
    source: str  # the source's name: "browser", or an MCP server's
    name: str  # as the source knows it
    tool_name: str  # as the model calls it: the source's prefix, then the name
    description: str
    input_schema: Mapping[str, Any]  # JSON Schema of the arguments, an object
    # Declared by the source as changing nothing; anything else needs the asker's approval.
    read_only: bool

    def usage(self) -> str:
        """`name key=… [key=…]`, required parameters first."""
        properties = self.input_schema.get("properties")
        names = list(properties) if isinstance(properties, Mapping) else []
        required = set(self.input_schema.get("required") or ())
        ordered = sorted(names, key=lambda name: name not in required)
        parts = [f"{n}=…" if n in required else f"[{n}=…]" for n in ordered]
        return " ".join([self.name, *parts])


@dataclass
class CallStats:
    calls: int = 0
    failures: int = 0
    last_failure: str = ""


class ToolSource(Protocol):
    """A source of tools: its catalogue, argument checks, previews and calls."""

    @property
    def name(self) -> str:
        """Short and unique among sources; the prefix of its tools' names."""

    @property
    def label(self) -> str:
        """How a sentence names it: "the browser service", "the MCP server docs"."""

    @property
    def known_tools(self) -> Mapping[str, Tool]:
        """The catalogue as last read, by `tool_name` (empty while it has not answered)."""

    @property
    def problem(self) -> str | None:
        """Why the last read of the catalogue failed; None once it succeeded."""

    @property
    def waiting(self) -> int:
        """Calls waiting for the source to be free."""

    @property
    def stats(self) -> CallStats: ...

    async def refresh(self) -> None:
        """Read the catalogue; on failure keep the last one and remember why."""

    async def tools(self) -> Mapping[str, Tool]:
        """The catalogue, read again first if the last read failed; raises
        SourceUnreachable when there is none."""

    def check(self, tool: Tool, given: Mapping[str, object]) -> dict[str, object]:
        """The arguments as the call will send them; ArgumentsError says what is wrong."""

    def preview(self, tool: Tool, arguments: Mapping[str, object]) -> str:
        """Exactly what a call with `arguments` sends, for the person approving it."""

    async def call(
        self, tool: Tool, arguments: Mapping[str, object], on_wait: WaitNotice | None = None
    ) -> object:
        """The source's answer, as JSON values or text; a ToolSourceError otherwise."""

    async def state(self) -> str:
        """A few words on the source's state, for /ai status."""

    async def close(self) -> None: ...


def model_tool_name(prefix: str, name: str, taken: Collection[str]) -> str:
    """`prefix` + `name` as a function name model APIs take, unique among `taken`."""
    room = MAX_TOOL_NAME - len(prefix)
    base = _NOT_IN_NAME.sub("_", name).strip("_")[:room] or "tool"
    candidate, number = prefix + base, 2
    while candidate in taken:
        suffix = f"_{number}"
        candidate, number = prefix + base[: room - len(suffix)] + suffix, number + 1
    return candidate


# Parameters whose names say they hold a secret are masked in the log.
SECRET_WORDS = ("token", "password", "secret", "cookie", "key", "auth")


def loggable_arguments(arguments: Mapping[str, object]) -> str:
    """Arguments for the log: secrets masked, long values cut."""
    shown = {}
    for name, value in arguments.items():
        if any(word in name.lower() for word in SECRET_WORDS):
            shown[name] = "***"
        else:
            text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            shown[name] = text if len(text) <= 60 else text[:60] + "…"
    return json.dumps(shown, ensure_ascii=False)
