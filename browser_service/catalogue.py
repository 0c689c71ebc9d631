"""The actions a browser-automation service offers, learned from its OpenAPI document.

Each allowed operation becomes an `Action`: a name the model and `/ai browser` use, what
it does, and typed parameters (path, query and JSON-body fields, `$ref`s resolved).
Arguments are checked against those types before anything is sent.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import tool_sources
from tool_sources import ArgumentsError, Tool
from tool_sources.arguments import as_text

METHODS = ("get", "post", "put", "patch", "delete")
# Function names the model APIs accept: letters, digits, _ and -, at most 64.
SOURCE_NAME = "browser"
TOOL_PREFIX = SOURCE_NAME + "_"
MAX_NAME = 64 - len(TOOL_PREFIX)
MAX_REF_DEPTH = 8
MAX_DESCRIPTION = 1000
logger = logging.getLogger(__name__)
PATH_FORBIDDEN = frozenset("/\\%")


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "path", "query" or "body"
    kind: str  # JSON schema type: string, integer, number, boolean, array, object
    required: bool
    description: str = ""
    # The enum's values as the document types them (20 stays a number).
    choices: tuple[object, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None

    def schema(self) -> dict[str, object]:
        schema: dict[str, object] = {"type": self.kind}
        if self.description:
            schema["description"] = self.description
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.kind == "array":
            schema["items"] = {}
        return schema


@dataclass(frozen=True)
class Action:
    name: str
    method: str  # upper case
    path: str  # the template, e.g. /chat/{chat_id}/send
    description: str
    params: tuple[Param, ...] = field(default=())

    @property
    def changes_state(self) -> bool:
        return self.method != "GET"

    @property
    def tool_name(self) -> str:
        return TOOL_PREFIX + self.name

    @property
    def tool(self) -> Tool:
        """The action as the model and the tool desk see it: a GET changes nothing."""
        return Tool(
            source=SOURCE_NAME,
            name=self.name,
            tool_name=self.tool_name,
            description=self.description,
            input_schema=self.parameters_schema(),
            read_only=not self.changes_state,
        )

    def parameters_schema(self) -> dict[str, object]:
        return {
            "type": "object",
            "properties": {p.name: p.schema() for p in self.params},
            "required": [p.name for p in self.params if p.required],
        }

    def request_preview(self, arguments: Mapping[str, object]) -> str:
        """Exactly what a call with `arguments` sends: method, path, query and body."""
        path, query, body = self.split(arguments)
        line = f"{self.method} {path}"
        if query:
            line += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        if body or any(p.location == "body" for p in self.params):
            line += "\n" + json.dumps(body, ensure_ascii=False, indent=2)
        return line

    def split(
        self, arguments: Mapping[str, object]
    ) -> tuple[str, dict[str, str], dict[str, object]]:
        """The arguments as the request carries them: path (values escaped), query, body."""
        path = self.path
        query: dict[str, str] = {}
        body: dict[str, object] = {}
        for param in self.params:
            if param.name not in arguments:
                continue
            value = arguments[param.name]
            if param.location == "path":
                path = path.replace("{" + param.name + "}", quote(as_text(value), safe=""))
            elif param.location == "query":
                query[param.name] = as_text(value)
            else:
                body[param.name] = value
        return path, query, body


@dataclass(frozen=True)
class AllowList:
    """`BROWSER_SERVICE_ACTIONS`: operationIds or `METHOD /path` (the path may be `*`)."""

    entries: frozenset[str] = frozenset({"GET *"})

    @classmethod
    def parse(cls, text: str) -> AllowList:
        entries = [" ".join(part.split()) for part in text.split(",") if part.strip()]
        if not entries:
            return cls()
        normalised = set()
        for entry in entries:
            method, _, path = entry.partition(" ")
            normalised.add(f"{method.upper()} {path}" if path else entry)
        return cls(frozenset(normalised))

    def allows(self, operation_id: str, method: str, path: str) -> bool:
        return bool({operation_id, f"{method} {path}", f"{method} *"} & self.entries)


def parse_catalogue(document: Mapping[str, Any], allow: AllowList) -> dict[str, Action]:
    """The allowed actions of an OpenAPI document, by name. Malformed parts are skipped."""
    actions: dict[str, Action] = {}
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise ValueError("the document has no paths")
    for path, item in paths.items():
        # A path is appended to the service's URL: it must not be able to leave it.
        if not isinstance(item, Mapping) or not isinstance(path, str) or not _safe_path(path):
            continue
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            upper = method.upper()
            operation_id = str(operation.get("operationId") or f"{method}_{path}")
            if not allow.allows(operation_id, upper, path):
                continue
            try:
                params = _parameters(document, item, operation) + _body(document, operation)
            except (TypeError, ValueError, AttributeError, KeyError):
                logger.warning("skipping %s %s: its description is malformed", upper, path)
                continue
            name = _name(operation_id, actions)
            actions[name] = Action(
                name=name,
                method=upper,
                path=path,
                description=_description(operation, upper, path),
                params=tuple(params),
            )
    return actions


def _safe_path(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//") and "@" not in path.split("/")[1]


def _name(operation_id: str, taken: Mapping[str, Action]) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", operation_id).strip("_")[:MAX_NAME] or "action"
    base, number = name, 2
    while name in taken:
        suffix = f"_{number}"
        name, number = base[: MAX_NAME - len(suffix)] + suffix, number + 1
    return name


def _description(operation: Mapping[str, Any], method: str, path: str) -> str:
    """Summary and description, cut to what model APIs take for a function (1,024)."""
    parts = [str(operation.get(k) or "").strip() for k in ("summary", "description")]
    text = " ".join(dict.fromkeys(p for p in parts if p))
    where = f"({method} {path})"
    room = MAX_DESCRIPTION - len(where) - 2
    if len(text) > room:
        text = text[: max(0, room - 1)] + "…"
    return f"{text} {where}" if text else where


def _resolve(document: Mapping[str, Any], node: object, depth: int = 0) -> Mapping[str, Any]:
    """Follow local `$ref`s (and a single-entry allOf, as pydantic writes them)."""
    while isinstance(node, Mapping) and depth < MAX_REF_DEPTH:
        if isinstance(node.get("$ref"), str):
            target: object = document
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target.get(part) if isinstance(target, Mapping) else None
            node, depth = target, depth + 1
        elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            node, depth = node["allOf"][0], depth + 1
        elif isinstance(node.get("anyOf"), list) and len(_not_null(node["anyOf"])) == 1:
            # anyOf [X, null] is how an optional value reads: X, with the outer words.
            inner = dict(_resolve(document, _not_null(node["anyOf"])[0], depth + 1))
            for key in ("title", "description", "default"):
                if key in node and key not in inner:
                    inner[key] = node[key]
            return inner
        else:
            return node
    return node if isinstance(node, Mapping) else {}


def _not_null(options: list[object]) -> list[object]:
    return [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    # anyOf [X, null] is how an optional field reads.
    for option in schema.get("anyOf") or []:
        if isinstance(option, Mapping) and option.get("type") not in (None, "null"):
            return str(option["type"])
    return "string"


def _param(
    document: Mapping[str, Any],
    name: str,
    location: str,
    schema_node: object,
    required: bool,
    description: str = "",
) -> Param:
    schema = _resolve(document, schema_node)
    choices = schema.get("enum")
    minimum = schema.get("minimum")
    maximum = schema.get("maximum")
    max_length = schema.get("maxLength")
    return Param(
        name=name,
        location=location,
        kind=_kind(schema),
        required=required,
        description=description or str(schema.get("description") or schema.get("title") or ""),
        choices=tuple(choices) if isinstance(choices, list) else (),
        minimum=float(minimum) if isinstance(minimum, int | float) else None,
        maximum=float(maximum) if isinstance(maximum, int | float) else None,
        max_length=max_length if isinstance(max_length, int) else None,
    )


def _parameters(
    document: Mapping[str, Any], item: Mapping[str, Any], operation: Mapping[str, Any]
) -> list[Param]:
    found: dict[str, Param] = {}
    for raw in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
        spec = _resolve(document, raw)
        location, name = spec.get("in"), spec.get("name")
        if location not in ("path", "query") or not isinstance(name, str):
            continue
        required = bool(spec.get("required")) or location == "path"
        found[name] = _param(
            document,
            name,
            str(location),
            spec.get("schema"),
            required,
            str(spec.get("description") or ""),
        )
    return list(found.values())


def _body(document: Mapping[str, Any], operation: Mapping[str, Any]) -> list[Param]:
    body = _resolve(document, operation.get("requestBody"))
    content = body.get("content")
    media = content.get("application/json") if isinstance(content, Mapping) else None
    schema = _resolve(document, media.get("schema") if isinstance(media, Mapping) else None)
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required = set(schema.get("required") or [])
    return [
        _param(document, str(name), "body", spec, str(name) in required)
        for name, spec in properties.items()
    ]


def check_arguments(action: Action, given: Mapping[str, object]) -> dict[str, object]:
    """The arguments typed as the action declares them (its JSON Schema), and path values
    that stay one segment of the route; ArgumentsError says what is wrong."""
    checked = tool_sources.check_arguments(action.tool, given)
    problems = [
        problem
        for param in action.params
        if param.location == "path" and param.name in checked
        for problem in _path_problems(param.name, as_text(checked[param.name]))
    ]
    if problems:
        raise ArgumentsError(problems)
    return checked


def _path_problems(name: str, text: str) -> list[str]:
    r"""A path value names one segment of the route. A separator (`/`, or `\` which some
    servers read as one), an escape (`%`, which a server may decode into either) or a
    `.`/`..` segment could make the URL name another route of the service."""
    if any(c in text for c in PATH_FORBIDDEN):
        return [f"`{name}` cannot contain /, \\ or %"]
    if text in (".", ".."):
        return [f"`{name}` cannot be {text!r}"]
    return []
