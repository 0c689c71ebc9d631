"""A request checked as FastAPI checks it: its body decoded, then path, query and body
validated with pydantic, every error reported at once in FastAPI's words."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from tests.fakes.browser_service.data import JsonDict
from tests.fakes.browser_service.operations import Operation


class InvalidJson(ValueError):
    """A JSON body that does not parse; the 422 it gets only on a route that takes a body."""

    def __init__(self, error: json.JSONDecodeError) -> None:
        super().__init__(error.msg)
        self.error = error

    def detail(self) -> list[JsonDict]:
        return [
            {
                "type": "json_invalid",
                "loc": ["body", self.error.pos],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": self.error.msg},
            }
        ]


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or (
        main.startswith("application/") and main.endswith("+json")
    )


def decode_body(raw: bytes, content_type: str | None) -> object | None:
    """The body as FastAPI sees it: None when empty, parsed JSON for a JSON Content-Type
    (InvalidJson if it does not parse), else the text."""
    if not raw:
        return None
    if _is_json(content_type):
        try:
            value: object = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InvalidJson(error) from None
        except UnicodeDecodeError:
            pass  # FastAPI answers 500 here; the text is more useful
        else:
            return value
    return raw.decode("utf-8", errors="replace")


def _errors(error: ValidationError, prefix: tuple[str | int, ...]) -> list[JsonDict]:
    detail: list[JsonDict] = []
    for item in error.errors(include_url=False):
        entry: JsonDict = {
            "type": item["type"],
            "loc": [*prefix, *item["loc"]],
            "msg": item["msg"],
            "input": item["input"],
        }
        if "ctx" in item:
            entry["ctx"] = item["ctx"]
        detail.append(entry)
    return detail


def _missing(loc: list[str | int], value: object = None) -> JsonDict:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": value}


@dataclass
class Validated:
    """The parameters' values, the body as its model, and the errors FastAPI would report."""

    values: dict[str, Any]
    body: BaseModel | None
    errors: list[JsonDict]


def validate(
    op: Operation,
    path_values: Mapping[str, str],
    query: Mapping[str, str],
    body: object,
    *,
    has_body: bool,
) -> Validated:
    """FastAPI's checks. `has_body`: the request had body bytes (JSON null is a body)."""
    result = Validated({}, None, [])
    for param in op.parameters:
        raw = path_values.get(param.name) if param.location == "path" else query.get(param.name)
        if raw is None:
            if param.required:
                result.errors.append(_missing([param.location, param.name]))
            else:
                result.values[param.name] = param.default
            continue
        try:
            result.values[param.name] = param.adapter.validate_python(raw)
        except ValidationError as error:
            result.errors += _errors(error, (param.location, param.name))
    if op.body_model is None:
        return result
    if not has_body or (body is None and not op.body_required):
        if op.body_required:
            result.errors.append(_missing(["body"]))
        return result
    try:
        result.body = op.body_model.model_validate(body, from_attributes=True)
    except ValidationError as error:
        result.errors += _errors(error, ("body",))
    return result
