"""The OpenAPI 3.1 document FastAPI generates for the service, which /openapi.json serves."""

from __future__ import annotations

import copy

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from tests.fakes.browser_service.data import JsonDict
from tests.fakes.browser_service.models import REQUEST_MODELS, RESPONSE_MODELS
from tests.fakes.browser_service.operations import OPERATIONS, Operation

API_TITLE = "Recruiting Browser Service"
API_DESCRIPTION = "Drives a logged-in Chrome on the recruiting site through Playwright."
API_VERSION = "1.4.0"

# FastAPI's own schemas for its 422 answer (fastapi.openapi.utils).
_VALIDATION_SCHEMAS: JsonDict = {
    "HTTPValidationError": {
        "properties": {
            "detail": {
                "items": {"$ref": "#/components/schemas/ValidationError"},
                "type": "array",
                "title": "Detail",
            }
        },
        "type": "object",
        "title": "HTTPValidationError",
    },
    "ValidationError": {
        "properties": {
            "loc": {
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "type": "array",
                "title": "Location",
            },
            "msg": {"type": "string", "title": "Message"},
            "type": {"type": "string", "title": "Error Type"},
            "input": {"title": "Input"},
            "ctx": {"type": "object", "title": "Context"},
        },
        "type": "object",
        "required": ["loc", "msg", "type"],
        "title": "ValidationError",
    },
}


def _component_schemas() -> JsonDict:
    """Validation-mode schemas of the request models and serialization-mode ones of the
    response models, as FastAPI (separate_input_output_schemas) puts them in components."""
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "validation") for model in REQUEST_MODELS),
        *((model, "serialization") for model in RESPONSE_MODELS),
    ]
    _, top = models_json_schema(modes, ref_template="#/components/schemas/{model}")
    schemas: JsonDict = dict(top["$defs"])
    schemas.update(_VALIDATION_SCHEMAS)
    # FastAPI encodes the document with exclude_none, which drops every `"default": null`.
    without_none = _drop_none(dict(sorted(schemas.items())))
    assert isinstance(without_none, dict)
    return without_none


def _drop_none(value: object) -> object:
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_none(item) for item in value]
    return value


def _ref(name: str) -> JsonDict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(schema: JsonDict) -> JsonDict:
    return {"application/json": {"schema": schema}}


def _operation_object(op: Operation, *, secured: bool) -> JsonDict:
    result: JsonDict = {
        "tags": [op.tag],
        "summary": op.summary,
        "description": op.description,
        "operationId": op.operation_id,
    }
    if secured:
        result["security"] = [{"HTTPBearer": []}]
    if op.parameters:
        result["parameters"] = [param.openapi() for param in op.parameters]
    if op.body_model is not None:
        name = op.body_model.__name__
        if op.body_required:
            result["requestBody"] = {"required": True, "content": _json_content(_ref(name))}
        else:
            optional = {"anyOf": [_ref(name), {"type": "null"}], "title": "Body"}
            result["requestBody"] = {"content": _json_content(optional)}
    responses: JsonDict = {
        "200": {
            "description": "Successful Response",
            "content": _json_content(_ref(op.response_model.__name__)),
        }
    }
    if op.parameters or op.body_model is not None:
        responses["422"] = {
            "description": "Validation Error",
            "content": _json_content(_ref("HTTPValidationError")),
        }
    result["responses"] = responses
    return result


_COMPONENT_SCHEMAS = _component_schemas()


def openapi_document(*, secured: bool = True) -> JsonDict:
    """The document FastAPI generates for the service (checked against FastAPI 0.165 with
    pydantic 2.14). `secured`: the routes depend on HTTPBearer, as when a token is set."""
    paths: JsonDict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation_object(op, secured=secured)
    components: JsonDict = {"schemas": copy.deepcopy(_COMPONENT_SCHEMAS)}
    if secured:
        components["securitySchemes"] = {"HTTPBearer": {"type": "http", "scheme": "bearer"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": API_TITLE, "description": API_DESCRIPTION, "version": API_VERSION},
        "paths": paths,
        "components": components,
    }
