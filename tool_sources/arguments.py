"""Arguments checked against a tool's JSON Schema (`jsonschema`, draft 2020-12), each
problem naming its parameter in words a person can act on.

Values come as JSON from the model, or as text from a command (`/ai browser act
limit=5`): text is first read as the type its property declares. Patterns are left to
the source: a regular expression written elsewhere could take exponential time here, on
the event loop, and the source checks its own input anyway. A schema may refer only to
its own parts (`#/$defs/…`): the checker's registry is empty, so nothing is ever fetched
(jsonschema's default would open a remote or `file:` reference, without a bound, on the
event loop), and a schema with any other reference is refused when its tool is listed.
Unlike JSON Schema's default, a parameter the schema does not name is refused unless it
allows others (`additionalProperties`): an argument the model made up is a mistake.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable

from tool_sources.tool import Tool

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
# A problem quotes at most this much of what jsonschema says (it may echo the value).
MAX_PROBLEM_CHARS = 200
# Nodes of a schema walked to find its references: a larger one is refused.
MAX_SCHEMA_NODES = 20_000
# Nothing to look up: a reference resolves within its own schema or not at all.
_NO_RESOURCES: Registry[Any] = Registry()

_Checker = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": None, "patternProperties": None}
)
_KIND_WORDS = {
    "integer": "must be a whole number",
    "number": "must be a number",
    "boolean": "must be true or false",
    "array": "must be a JSON array",
    "object": "must be a JSON object",
    "string": "must be text",
}


class ArgumentsError(ValueError):
    """Arguments that do not fit the tool; each problem names its parameter."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why a tool's input schema cannot be used to check arguments, if it cannot."""
    if schema.get("type", "object") != "object":
        return "its input schema does not describe an object"
    try:
        _Checker.check_schema(schema)
    except SchemaError as error:
        return f"its input schema is invalid ({error.message[:MAX_PROBLEM_CHARS]})"
    return _reference_problem(schema)


def _reference_problem(schema: Mapping[str, Any]) -> str | None:
    """A reference outside the schema, or to a part it does not have."""
    pending: list[object] = [schema]
    for _ in range(MAX_SCHEMA_NODES):
        if not pending:
            return None
        node = pending.pop()
        if isinstance(node, Mapping):
            reference = node.get("$ref")
            if isinstance(reference, str) and not _resolves(schema, reference):
                return f"its input schema refers to {reference[:80]!r}, which is not in it"
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return "its input schema is too large"


def _resolves(schema: Mapping[str, Any], reference: str) -> bool:
    if not reference.startswith("#"):
        return False
    target: object = schema
    for part in reference.removeprefix("#").split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and key in target:
            target = target[key]
        elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
            target = target[int(key)]
        else:
            return False
    return True


def check_arguments(tool: Tool, given: Mapping[str, object]) -> dict[str, object]:
    """The arguments typed as the tool declares them; ArgumentsError says what is wrong.
    An empty value of an optional parameter is left out, as a command writes "unset"."""
    schema = tool.input_schema
    properties = schema.get("properties")
    known: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
    required = [name for name in schema.get("required") or () if isinstance(name, str)]
    problems: list[str] = []
    if not schema.get("additionalProperties"):
        for name in given:
            if name not in known:
                takes = ", ".join(known) or "none"
                problems.append(f"`{name}` is not a parameter of {tool.name} (it takes: {takes})")
    typed: dict[str, object] = {}
    for name, value in given.items():
        spec = known.get(name)
        if value in (None, "") and not (value is None and _allows_null(spec)):
            continue
        try:
            typed[name] = _read(value, spec.get("type") if isinstance(spec, Mapping) else None)
        except ValueError as error:
            problems.append(f"`{name}` {error}")
    for name in required:
        if name not in typed and not any(p.startswith(f"`{name}` ") for p in problems):
            kind = known.get(name, {}).get("type", "value") if name in known else "value"
            problems.append(f"`{name}` is required ({kind})")
    named = {problem.split("`")[1] for problem in problems}
    try:
        for invalid in _Checker(schema, registry=_NO_RESOURCES).iter_errors(typed):
            top = not invalid.absolute_path
            # Unknown and missing parameters are said above, in words of their own.
            if top and invalid.validator in ("required", "additionalProperties"):
                continue
            if top or invalid.absolute_path[0] not in named:
                problems.append(_worded(invalid))
    except Unresolvable as error:
        raise ArgumentsError([f"the tool's input schema cannot be used ({error})"[:300]]) from None
    if problems:
        raise ArgumentsError(list(dict.fromkeys(problems)))
    return typed


def _allows_null(spec: object) -> bool:
    """Whether a property's schema takes null (`"type": ["string", "null"]`, or an
    `anyOf` with a null type)."""
    if not isinstance(spec, Mapping):
        return False
    kind = spec.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    options = spec.get("anyOf")
    return isinstance(options, list) and any(
        isinstance(option, Mapping) and option.get("type") == "null" for option in options
    )


def _worded(error: ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "input"
    validator = str(error.validator)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if validator == "enum":
        choices = ", ".join(str(c) for c in schema.get("enum") or ())
        return f"`{where}` must be one of: {choices}"
    if validator in ("minimum", "exclusiveMinimum"):
        return f"`{where}` must be at least {schema.get(validator):g}"
    if validator in ("maximum", "exclusiveMaximum"):
        return f"`{where}` must be at most {schema.get(validator):g}"
    if validator == "maxLength":
        return f"`{where}` must be at most {schema.get('maxLength')} characters"
    if validator == "minLength":
        return f"`{where}` must be at least {schema.get('minLength')} characters"
    if validator == "type" and isinstance(schema.get("type"), str):
        return f"`{where}` {_KIND_WORDS.get(schema['type'], 'has the wrong type')}"
    return f"`{where}`: {error.message[:MAX_PROBLEM_CHARS]}"


def _read(value: object, kind: object) -> object:
    """A value as its declared type: JSON values as they are, text read as that type."""
    if kind == "integer":
        return _integer(value)
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        return _boolean(value)
    if kind in ("array", "object"):
        return _structured(value, list if kind == "array" else dict)
    if kind == "string" and not isinstance(value, str):
        if isinstance(value, int | float):
            return as_text(value)  # as JSON writes it: true, not True
        raise ValueError("must be text")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def as_text(value: object) -> str:
    """A value as a URL carries it (booleans as JSON writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _integer(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise ValueError("must be a whole number")
    return int(text)


def _number(value: object) -> float | int:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, int):
        return value
    try:
        number = float(value) if isinstance(value, float) else float(str(value).strip())
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _structured(value: object, kind: type) -> object:
    """A JSON array or object, given as such or as its JSON text (from a command)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if not isinstance(value, kind):
        raise ValueError(f"must be a JSON {'array' if kind is list else 'object'}")
    return value


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("must be true or false")
