"""Arguments checked against a tool's JSON Schema, whatever source it comes from: each
problem named for a person, nothing fetched, no pattern run here."""

from __future__ import annotations

from typing import Any

import pytest

from tool_sources import ArgumentsError, Tool, check_arguments
from tool_sources.arguments import schema_problem


def tool(schema: dict[str, Any]) -> Tool:
    return Tool("docs", "search", "docs_search", "", {"type": "object", **schema}, True)


def problems(schema: dict[str, Any], given: dict[str, object]) -> list[str]:
    with pytest.raises(ArgumentsError) as caught:
        check_arguments(tool(schema), given)
    return caught.value.problems


def test_text_is_read_as_the_declared_type_and_json_values_kept() -> None:
    schema = {
        "properties": {
            "limit": {"type": "integer", "minimum": 1},
            "exact": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "size": {"type": "integer", "enum": [10, 20, 50]},
        }
    }
    given = {"limit": "5", "exact": "yes", "tags": '["a"]', "size": "20"}
    assert check_arguments(tool(schema), given) == {
        "limit": 5,
        "exact": True,
        "tags": ["a"],
        "size": 20,
    }
    assert check_arguments(tool(schema), {"size": 20}) == {"size": 20}
    assert problems(schema, {"size": 30}) == ["`size` must be one of: 10, 20, 50"]
    assert problems(schema, {"limit": 0, "tags": [1]}) == [
        "`limit` must be at least 1",
        "`tags.0` must be text",
    ]


def test_nested_objects_are_checked_whole() -> None:
    schema = {
        "properties": {
            "filter": {
                "type": "object",
                "properties": {"team": {"type": "string"}},
                "required": ["team"],
            }
        },
        "required": ["filter"],
    }
    assert problems(schema, {}) == ["`filter` is required (object)"]
    [missing] = problems(schema, {"filter": {}})
    assert missing.startswith("`filter`:") and "'team' is a required property" in missing


def test_null_is_kept_where_the_schema_takes_it() -> None:
    schema = {
        "properties": {"until": {"type": ["string", "null"]}, "note": {"type": "string"}},
        "required": ["until"],
    }
    assert check_arguments(tool(schema), {"until": None, "note": ""}) == {"until": None}


def test_references_resolve_within_the_schema_and_nothing_is_fetched() -> None:
    local = {
        "$defs": {"day": {"type": "string", "maxLength": 10}},
        "properties": {"day": {"$ref": "#/$defs/day"}},
    }
    assert schema_problem(tool(local).input_schema) is None
    assert check_arguments(tool(local), {"day": "2026-12-05"}) == {"day": "2026-12-05"}
    assert problems(local, {"day": "the fifth of December"}) == [
        "`day` must be at most 10 characters"
    ]
    for reference in ("http://127.0.0.1:9/secret", "file:///etc/hostname", "#/$defs/missing"):
        schema = {"properties": {"day": {"$ref": reference}}}
        assert "which is not in it" in str(schema_problem(tool(schema).input_schema))
        # Checked anyway (a catalogue read before this check existed): refused, not fetched.
        if not reference.startswith("#"):
            [refused] = problems(schema, {"day": "x"})
            assert refused.startswith("the tool's input schema cannot be used")


def test_patterns_are_left_to_the_source() -> None:
    """A pattern that backtracks exponentially would hold the event loop for hours."""
    schema = {"properties": {"q": {"type": "string", "pattern": "^(a+)+$"}}}
    assert check_arguments(tool(schema), {"q": "a" * 40 + "!"}) == {"q": "a" * 40 + "!"}


def test_a_parameter_the_schema_does_not_name_is_refused_unless_it_takes_others() -> None:
    assert problems({"properties": {"q": {"type": "string"}}}, {"colour": "red"}) == [
        "`colour` is not a parameter of search (it takes: q)"
    ]
    open_schema = {"properties": {}, "additionalProperties": True}
    assert check_arguments(tool(open_schema), {"colour": "red"}) == {"colour": "red"}
