"""A fake of the recruiting-site browser service on 127.0.0.1, for tests.

The real service is a FastAPI app that drives a logged-in Chrome through Playwright.
`FakeBrowserService` answers the same routes with canned data (JSON in, JSON out), validates
requests the way FastAPI does, serves the OpenAPI 3.1 document FastAPI generates for them, and
lets a test inject slowness, crashes, business failures, a logged-out browser and a service
that is down. Every request is recorded as a `ServiceRequest`.

Routes (path templates as in the OpenAPI document; `limit` is an integer 1..100, default 20):

    GET  /status                             {"status": "ok", "logged_in", "new_message_count",
                                              "browser": "chrome", "uptime_seconds"}
    GET  /chat/dialogs?limit=N               {"success": true, "dialogs": [...]}
    GET  /chat/{chat_id}/messages            {"success": true, "chat_id", "messages": [...]}
    POST /chat/{chat_id}/send                {"message": str, 1..1000 chars} ->
                                             {"success": true, "sent": true, "chat_id", "message"}
    POST /resume/view_full                   {"chat_id": str} -> {"success": true, "resume": {}}
    POST /resume/request                     {"chat_id": str} ->
                                             {"success": true, "requested": true}
    GET  /recommend/candidates?limit=N       {"success": true, "candidates": [...]}
    POST /recommend/candidate/{index}/greet  optional {"message": str | null} ->
                                             {"success": true, "greeted": index}
    POST /automation/scheduler/start|stop    {"success": true, "running": bool}
    GET  /automation/scheduler/status        {"running": bool, "next_run": ISO time | null}
    GET  /openapi.json                       the OpenAPI document (`openapi_document()`)

The canned data are the public, mutable `dialogs`, `messages`, `resumes` and `candidates`
(copies of DIALOGS, MESSAGES, RESUMES and CANDIDATES). An unknown chat is answered 200
`{"success": false, "details": "chat c9 not found"}` (every chat route), a chat without a
resume (c4) `{"success": false, "details": "chat c4 has no resume yet"}`, an index past the
candidates `{"success": false, "details": "candidate 9 not found"}`. A sent message is
appended to the chat's messages (from "me") and becomes its dialog's last_message.
`new_message_count` is the sum of the dialogs' `unread`.

Like FastAPI, in this order: an unknown path is 404 `{"detail": "Not Found"}` and a known path
with another method 405 `{"detail": "Method Not Allowed"}`; on a route that takes a body, a
body whose Content-Type is JSON (application/json, application/*+json) but which does not parse
is 422 `json_invalid` (before the token is checked; other routes ignore bodies); with a token
set, a request without `Authorization: Bearer <token>` (scheme case-insensitive) is 401
`{"detail": "Not authenticated"}` with `WWW-Authenticate: Bearer`, /openapi.json included;
then path, query and body are validated with pydantic (as FastAPI does) and all errors are
reported at once, path before query before body, as FastAPI words them:

    422 {"detail": [{"type": "missing", "loc": ["body", "message"], "msg": "Field required",
                     "input": {}}, ...]}

(`int_parsing` with loc ["query", "limit"] or ["path", "index"], `greater_than_equal` /
`less_than_equal` with ctx, `string_type`, `string_too_short` / `string_too_long`,
`model_attributes_type` for a body that is not an object: a body without a JSON Content-Type
is a string to FastAPI; an empty required body is `missing` with loc ["body"]). The last of
repeated query values counts; unknown query parameters and body fields are ignored.
Simplified: no redirect of a trailing slash (404 instead), no HEAD.

What a test can change (all public; `reset()` restores the defaults):

    token                  the bearer token required, None (the default) for none; the
                           document then has no security scheme
    delay                  seconds to wait before answering every request except
                           /openapi.json (default 0); only requests that passed the token and
                           validation wait
    delays                 {path template: seconds}, e.g. {"/chat/dialogs": 5.0}: replaces
                           `delay` for that route
    logged_in              default True. False: /status says "logged_in": false and every other
                           route except /openapi.json answers 200 {"success": false,
                           "details": NOT_LOGGED_IN}
    login_wait_seconds     default 0. > 0: while logged out those routes first wait up to this
                           long for `logged_in` to become True (the real service's login
                           wait), then answer normally, or NOT_LOGGED_IN if it did not
    fail_next(template, status, count=1, *, detail=None)
                           the next `count` requests to that route (/openapi.json and
                           /status included) answer HTTP `status` with {"detail": detail};
                           detail defaults to "browser crashed" for 500 and to the status's
                           reason phrase otherwise. Calls queue up in order.
    business_failure(template, details) / clear_business_failure(template=None)
                           that route (not /openapi.json) answers 200 {"success": false,
                           "details": details} until cleared
    reserve_port()         choose a free port now (`base_url` works before `start()`), so a
                           client can be pointed at a service that is not up yet
    start(port=None) / stop()
                           listen on `port`, else the reserved port, else any free one /
                           close everything, held requests included, and forget the port
    down() / up()          stop listening (in-flight requests are cut off, as when the process
                           dies; the state is kept) / listen again on the same port

A request is handled in this order: delay, fail_next, login check, business_failure, the
route. `in_flight` counts the requests to the business routes (all but /status and
/openapi.json) inside that sequence right now, `max_in_flight` the most there were at once,
so a test can prove the client serialises its browser calls.

Recorded: `requests` (every request, as `ServiceRequest`, in arrival order, before any
check), `sent` ((chat_id, message) per message sent), `greeted` ((index, message or None)),
`resumes_viewed` and `resume_requests` (chat ids). `wait_for(predicate)` waits until a
predicate over that state holds; it is re-checked on every request and state change.
Helpers: `requests_to(template)`, `pending_failures(template)`, `openapi()`, `port`, `is_up`,
and the module's `free_port()` and `openapi_document(secured=...)`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from sandbox.loopback import LoopbackServer
from sandbox.loopback import free_port as free_port  # part of this module's API

JsonDict = dict[str, Any]

NOT_LOGGED_IN = "not logged in: waiting for login"
CRASH_DETAIL = "browser crashed"
MAX_MESSAGE_CHARS = 1000
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SCHEDULER_INTERVAL_SECONDS = 600
OPENAPI_PATH = "/openapi.json"
STATUS_PATH = "/status"

API_TITLE = "Recruiting Browser Service"
API_DESCRIPTION = "Drives a logged-in Chrome on the recruiting site through Playwright."
API_VERSION = "1.4.0"


# --------------------------------------------------------------------------- canned data

DIALOGS: list[JsonDict] = [
    {
        "chat_id": "c1",
        "name": "Alice Zhang",
        "last_message": "Thanks! When could we have a call?",
        "unread": 2,
        "updated_at": "2026-11-23T09:15:00Z",
    },
    {
        "chat_id": "c2",
        "name": "Bob Li",
        "last_message": "I have attached my resume.",
        "unread": 1,
        "updated_at": "2026-11-23T08:40:00Z",
    },
    {
        "chat_id": "c3",
        "name": "Carol Wang",
        "last_message": "Sounds good, talk tomorrow.",
        "unread": 0,
        "updated_at": "2026-11-22T17:05:00Z",
    },
    {
        "chat_id": "c4",
        "name": "David Chen",
        "last_message": "Hello, is the position still open?",
        "unread": 0,
        "updated_at": "2026-11-21T11:30:00Z",
    },
]


def _message(sender: str, text: str, at: str) -> JsonDict:
    return {"from": sender, "text": text, "time": at}


MESSAGES: dict[str, list[JsonDict]] = {
    "c1": [
        _message("me", "Hi Alice, your profile fits our backend role.", "2026-11-23T09:01:00Z"),
        _message("candidate", "Hi, thanks for reaching out!", "2026-11-23T09:12:00Z"),
        _message("candidate", "Thanks! When could we have a call?", "2026-11-23T09:15:00Z"),
    ],
    "c2": [
        _message("me", "Could you send your resume?", "2026-11-23T08:30:00Z"),
        _message("candidate", "I have attached my resume.", "2026-11-23T08:40:00Z"),
    ],
    "c3": [
        _message("candidate", "Is a call tomorrow at 10 possible?", "2026-11-22T16:50:00Z"),
        _message("me", "Yes, 10:00 works.", "2026-11-22T17:00:00Z"),
        _message("candidate", "Sounds good, talk tomorrow.", "2026-11-22T17:05:00Z"),
    ],
    "c4": [_message("candidate", "Hello, is the position still open?", "2026-11-21T11:30:00Z")],
}

RESUMES: dict[str, JsonDict] = {
    "c1": {
        "name": "Alice Zhang",
        "age": 29,
        "city": "Shanghai",
        "title": "Backend Engineer",
        "experience_years": 6,
        "education": "B.Sc. Computer Science, Fudan University",
        "skills": ["Python", "PostgreSQL", "Kubernetes"],
        "work_history": ["2021-2026 Backend Engineer, Meituan", "2019-2021 Developer, Ctrip"],
    },
    "c2": {
        "name": "Bob Li",
        "age": 34,
        "city": "Beijing",
        "title": "Data Engineer",
        "experience_years": 10,
        "education": "M.Sc. Statistics, Peking University",
        "skills": ["Spark", "SQL", "Airflow"],
        "work_history": ["2018-2026 Data Engineer, JD.com", "2015-2018 Analyst, Baidu"],
    },
    "c3": {
        "name": "Carol Wang",
        "age": 26,
        "city": "Hangzhou",
        "title": "Frontend Engineer",
        "experience_years": 3,
        "education": "B.Eng. Software Engineering, Zhejiang University",
        "skills": ["TypeScript", "React"],
        "work_history": ["2023-2026 Frontend Engineer, Alibaba"],
    },
}

CANDIDATES: list[JsonDict] = [
    {"index": index, "name": name, "title": title, "experience_years": years, "city": city}
    for index, (name, title, years, city) in enumerate(
        [
            ("Eva Liu", "Python Developer", 5, "Shenzhen"),
            ("Frank Zhou", "Go Engineer", 8, "Beijing"),
            ("Grace Huang", "SRE", 4, "Shanghai"),
            ("Henry Sun", "Backend Engineer", 7, "Chengdu"),
            ("Ivy Xu", "Data Scientist", 2, "Hangzhou"),
        ]
    )
]


# --------------------------------------------------------------------------- models
# The service's pydantic models. The request models validate requests; all of them give the
# document's components/schemas as FastAPI generates them.


class SendMessageRequest(BaseModel):
    message: str = Field(
        min_length=1, max_length=MAX_MESSAGE_CHARS, description="Text to send to the candidate."
    )


class ChatIdRequest(BaseModel):
    chat_id: str = Field(min_length=1, description="Dialog id from /chat/dialogs.")


class GreetRequest(BaseModel):
    message: str | None = Field(
        default=None,
        max_length=MAX_MESSAGE_CHARS,
        description="Greeting text; the site's default greeting when omitted.",
    )


class StatusResponse(BaseModel):
    status: str
    logged_in: bool
    new_message_count: int
    browser: str
    uptime_seconds: int


class Dialog(BaseModel):
    chat_id: str
    name: str
    last_message: str
    unread: int
    updated_at: str


class DialogsResponse(BaseModel):
    success: bool
    dialogs: list[Dialog] | None = None
    details: str | None = None


class ChatMessage(BaseModel):
    sender: Literal["candidate", "me"] = Field(alias="from")
    text: str
    time: str


class MessagesResponse(BaseModel):
    success: bool
    chat_id: str | None = None
    messages: list[ChatMessage] | None = None
    details: str | None = None


class SendMessageResponse(BaseModel):
    success: bool
    sent: bool | None = None
    chat_id: str | None = None
    message: str | None = None
    details: str | None = None


class Resume(BaseModel):
    name: str
    age: int | None = None
    city: str | None = None
    title: str | None = None
    experience_years: int | None = None
    education: str | None = None
    skills: list[str] = []
    work_history: list[str] = []


class ResumeResponse(BaseModel):
    success: bool
    resume: Resume | None = None
    details: str | None = None


class ResumeRequestResponse(BaseModel):
    success: bool
    requested: bool | None = None
    details: str | None = None


class Candidate(BaseModel):
    index: int
    name: str
    title: str
    experience_years: int
    city: str


class CandidatesResponse(BaseModel):
    success: bool
    candidates: list[Candidate] | None = None
    details: str | None = None


class GreetResponse(BaseModel):
    success: bool
    greeted: int | None = None
    details: str | None = None


class SchedulerResponse(BaseModel):
    success: bool
    running: bool | None = None
    details: str | None = None


class SchedulerStatus(BaseModel):
    running: bool
    next_run: str | None = None


_REQUEST_MODELS: tuple[type[BaseModel], ...] = (SendMessageRequest, ChatIdRequest, GreetRequest)
_RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    StatusResponse,
    DialogsResponse,
    MessagesResponse,
    SendMessageResponse,
    ResumeResponse,
    ResumeRequestResponse,
    CandidatesResponse,
    GreetResponse,
    SchedulerResponse,
    SchedulerStatus,
)

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
        *((model, "validation") for model in _REQUEST_MODELS),
        *((model, "serialization") for model in _RESPONSE_MODELS),
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


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Param:
    """A path or query parameter: validated with `adapter`, described in the document."""

    name: str
    location: Literal["path", "query"]
    adapter: TypeAdapter[Any]
    description: str
    required: bool = True
    default: object = None

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").title()

    def openapi(self) -> JsonDict:
        schema: JsonDict = {**self.adapter.json_schema(), "description": self.description}
        if not self.required:
            schema["default"] = self.default
        schema["title"] = self.title
        return {
            "name": self.name,
            "in": self.location,
            "required": self.required,
            "schema": schema,
            "description": self.description,
        }


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the path template, e.g. "/chat/{chat_id}/send"
    operation_id: str
    summary: str
    description: str
    tag: str
    response_model: type[BaseModel]
    parameters: tuple[Param, ...] = ()
    body_model: type[BaseModel] | None = None
    body_required: bool = True

    @property
    def business(self) -> bool:
        """A route that drives the browser: all but /status and /openapi.json."""
        return self.path not in (STATUS_PATH, OPENAPI_PATH)


_CHAT_ID = Param("chat_id", "path", TypeAdapter(str), "Dialog id from /chat/dialogs.")
_Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]


def _limit(what: str) -> Param:
    return Param(
        "limit",
        "query",
        TypeAdapter(_Limit),
        f"How many {what} to return.",
        required=False,
        default=DEFAULT_LIMIT,
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/status",
        "get_status",
        "Service status",
        "Whether the browser is up and logged in, and how many new messages wait.",
        "status",
        StatusResponse,
    ),
    Operation(
        "GET",
        "/chat/dialogs",
        "list_dialogs",
        "List dialogs",
        "The most recent chat dialogs, newest first.",
        "chat",
        DialogsResponse,
        parameters=(_limit("dialogs"),),
    ),
    Operation(
        "GET",
        "/chat/{chat_id}/messages",
        "get_chat_messages",
        "Chat messages",
        "All messages of one dialog, oldest first.",
        "chat",
        MessagesResponse,
        parameters=(_CHAT_ID,),
    ),
    Operation(
        "POST",
        "/chat/{chat_id}/send",
        "send_chat_message",
        "Send a message",
        "Type and send a message in one dialog.",
        "chat",
        SendMessageResponse,
        parameters=(_CHAT_ID,),
        body_model=SendMessageRequest,
    ),
    Operation(
        "POST",
        "/resume/view_full",
        "view_full_resume",
        "View full resume",
        "Open the candidate's full resume in a dialog and read it.",
        "resume",
        ResumeResponse,
        body_model=ChatIdRequest,
    ),
    Operation(
        "POST",
        "/resume/request",
        "request_resume",
        "Request resume",
        "Ask the candidate of a dialog for their resume attachment.",
        "resume",
        ResumeRequestResponse,
        body_model=ChatIdRequest,
    ),
    Operation(
        "GET",
        "/recommend/candidates",
        "list_recommended_candidates",
        "Recommended candidates",
        "Candidates the site recommends for the open position.",
        "recommend",
        CandidatesResponse,
        parameters=(_limit("candidates"),),
    ),
    Operation(
        "POST",
        "/recommend/candidate/{index}/greet",
        "greet_candidate",
        "Greet a candidate",
        "Start a chat with a recommended candidate by sending a greeting.",
        "recommend",
        GreetResponse,
        parameters=(
            Param(
                "index",
                "path",
                TypeAdapter(Annotated[int, Field(ge=0)]),
                "The candidate's index in /recommend/candidates.",
            ),
        ),
        body_model=GreetRequest,
        body_required=False,
    ),
    Operation(
        "POST",
        "/automation/scheduler/start",
        "start_scheduler",
        "Start the scheduler",
        "Start the periodic automation (reply check and greetings).",
        "automation",
        SchedulerResponse,
    ),
    Operation(
        "POST",
        "/automation/scheduler/stop",
        "stop_scheduler",
        "Stop the scheduler",
        "Stop the periodic automation.",
        "automation",
        SchedulerResponse,
    ),
    Operation(
        "GET",
        "/automation/scheduler/status",
        "get_scheduler_status",
        "Scheduler status",
        "Whether the periodic automation runs, and when it runs next.",
        "automation",
        SchedulerStatus,
    ),
)

# Served by the fake but not described in the document, like FastAPI's own.
_OPENAPI_OPERATION = Operation(
    "GET", OPENAPI_PATH, "openapi", "OpenAPI", "The OpenAPI document.", "", BaseModel
)
ROUTE_TEMPLATES: tuple[str, ...] = (*(op.path for op in OPERATIONS), OPENAPI_PATH)


def _path_pattern(template: str) -> re.Pattern[str]:
    """Starlette's default `str` convertor: a path parameter is one non-empty segment."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(pattern)


_PATTERNS: tuple[tuple[Operation, re.Pattern[str]], ...] = tuple(
    (op, _path_pattern(op.path)) for op in (*OPERATIONS, _OPENAPI_OPERATION)
)


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


# --------------------------------------------------------------------------- recorded traffic


@dataclass(frozen=True)
class ServiceRequest:
    """One request as the fake received it, before any check. `path` is the concrete
    (percent-decoded) path; `query` keeps the last of repeated values; `body` is the parsed
    JSON when the Content-Type is JSON and it parses, else the text, None when empty;
    `authorization` is the header as sent; `at` is monotonic; `route` is the matched path
    template (None for an unknown path)."""

    method: str
    path: str
    query: dict[str, str]
    body: object | None
    authorization: str | None
    at: float
    route: str | None = None


# --------------------------------------------------------------------------- validation


class _InvalidJson(ValueError):
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


def _decode_body(raw: bytes, content_type: str | None) -> object | None:
    """The body as FastAPI sees it: None when empty, parsed JSON for a JSON Content-Type
    (_InvalidJson if it does not parse), else the text."""
    if not raw:
        return None
    if _is_json(content_type):
        try:
            value: object = json.loads(raw)
        except json.JSONDecodeError as error:
            raise _InvalidJson(error) from None
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
class _Validated:
    values: dict[str, Any]
    body: BaseModel | None
    errors: list[JsonDict]


def _validate(
    op: Operation,
    path_values: Mapping[str, str],
    query: Mapping[str, str],
    body: object,
    *,
    has_body: bool,
) -> _Validated:
    """FastAPI's checks. `has_body`: the request had body bytes (JSON null is a body)."""
    result = _Validated({}, None, [])
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


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _json(
    value: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(value, status=status, headers=headers, dumps=_dumps)


def _detail(status: int, detail: object, headers: Mapping[str, str] | None = None) -> web.Response:
    return _json({"detail": detail}, status, headers)


def _now_iso(offset_seconds: float = 0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_template(path_template: str) -> None:
    if path_template not in ROUTE_TEMPLATES:
        known = ", ".join(ROUTE_TEMPLATES)
        raise ValueError(f"unknown route {path_template!r}; the routes are: {known}")


# --------------------------------------------------------------------------- the service

_Handler = Callable[[dict[str, Any], Any], JsonDict]


class FakeBrowserService:
    """The fake service. `start()` it (or `reserve_port()` first), use `base_url`, `stop()` it."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.delay = 0.0
        self.delays: dict[str, float] = {}
        self._logged_in = True
        self.login_wait_seconds = 0.0
        self.scheduler_running = False
        self.dialogs: list[JsonDict] = copy.deepcopy(DIALOGS)
        self.messages: dict[str, list[JsonDict]] = copy.deepcopy(MESSAGES)
        self.resumes: dict[str, JsonDict] = copy.deepcopy(RESUMES)
        self.candidates: list[JsonDict] = copy.deepcopy(CANDIDATES)
        self.requests: list[ServiceRequest] = []
        self.sent: list[tuple[str, str]] = []
        self.greeted: list[tuple[int, str | None]] = []
        self.resumes_viewed: list[str] = []
        self.resume_requests: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._business_failures: dict[str, str] = {}
        self._loopback = LoopbackServer()
        self._started_at: float | None = None
        self._handlers: dict[str, _Handler] = {
            "get_status": self._status,
            "list_dialogs": self._list_dialogs,
            "get_chat_messages": self._chat_messages,
            "send_chat_message": self._send_message,
            "view_full_resume": self._view_full_resume,
            "request_resume": self._request_resume,
            "list_recommended_candidates": self._list_candidates,
            "greet_candidate": self._greet,
            "start_scheduler": self._start_scheduler,
            "stop_scheduler": self._stop_scheduler,
            "get_scheduler_status": self._scheduler_status,
        }

    # ----- public API

    @property
    def port(self) -> int | None:
        """The port reserved or listened on (kept while down()), None before either."""
        return self._loopback.port if self._loopback.has_port else None

    @property
    def base_url(self) -> str:
        return self._loopback.base_url

    @property
    def is_up(self) -> bool:
        return self._loopback.is_up

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    @logged_in.setter
    def logged_in(self, value: bool) -> None:
        self._logged_in = value
        self._loopback.notify()  # ends a login wait

    @property
    def new_message_count(self) -> int:
        return sum(int(dialog.get("unread", 0)) for dialog in self.dialogs)

    def reserve_port(self) -> int:
        """Choose the port now, so `base_url` is known before the service is up."""
        return self._loopback.reserve_port()

    async def start(self, port: int | None = None) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._serve)
        # handler_cancellation: a held request learns that its client went away.
        await self._loopback.start(app, port=port, handler_cancellation=True)
        self._started_at = time.monotonic()  # uptime restarts, as with a restarted service
        self._loopback.notify()

    async def stop(self) -> None:
        """Close every connection, held requests included, and forget the port."""
        await self._loopback.stop()
        self._loopback.notify()

    async def down(self) -> None:
        """Stop listening and cut off requests in flight; the port and state are kept."""
        await self._loopback.stop(keep_port=True)
        self._loopback.notify()

    async def up(self) -> None:
        """Listen again on the port used before down() (or the reserved one)."""
        if not self._loopback.has_port:
            raise RuntimeError("FakeBrowserService.up(): no port yet; use start()")
        await self.start()

    def fail_next(
        self, path_template: str, status: int, count: int = 1, *, detail: str | None = None
    ) -> None:
        """The next `count` requests to the route answer HTTP `status` with {"detail": ...}."""
        _check_template(path_template)
        if count < 1 or not 100 <= status <= 599:
            raise ValueError(f"fail_next: bad status {status} or count {count}")
        if detail is None:
            detail = CRASH_DETAIL if status == 500 else HTTPStatus(status).phrase
        self._failures.setdefault(path_template, []).extend([(status, detail)] * count)

    def business_failure(self, path_template: str, details: str) -> None:
        """The route answers 200 {"success": false, "details": details} until cleared."""
        _check_template(path_template)
        if path_template == OPENAPI_PATH:
            raise ValueError("business_failure: /openapi.json has no business; use fail_next")
        self._business_failures[path_template] = details

    def clear_business_failure(self, path_template: str | None = None) -> None:
        if path_template is None:
            self._business_failures.clear()
        else:
            self._business_failures.pop(path_template, None)

    def pending_failures(self, path_template: str) -> int:
        """How many fail_next() answers the route still has to give."""
        return len(self._failures.get(path_template, []))

    def requests_to(self, path_template: str) -> list[ServiceRequest]:
        """The recorded requests that matched the route."""
        return [request for request in self.requests if request.route == path_template]

    def reset(self) -> None:
        """Restore the defaults and the canned data and forget what was recorded. The token,
        the port and requests still in flight are left alone."""
        self.delay = 0.0
        self.delays = {}
        self.login_wait_seconds = 0.0
        self.scheduler_running = False
        self.dialogs = copy.deepcopy(DIALOGS)
        self.messages = copy.deepcopy(MESSAGES)
        self.resumes = copy.deepcopy(RESUMES)
        self.candidates = copy.deepcopy(CANDIDATES)
        self.requests.clear()
        self.sent.clear()
        self.greeted.clear()
        self.resumes_viewed.clear()
        self.resume_requests.clear()
        self.max_in_flight = self.in_flight
        self._failures.clear()
        self._business_failures.clear()
        self.logged_in = True  # notifies

    def openapi(self) -> JsonDict:
        """The document /openapi.json serves."""
        return openapi_document(secured=self.token is not None)

    # A timeout argument (rather than the caller's asyncio.timeout) lets the failure say what
    # was awaited and what the fake saw instead.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 10.0,
        what: str = "",
    ) -> None:
        """Wait until `predicate()` holds; it is re-checked whenever a request arrives or the
        fake's state changes. Raises AssertionError after `timeout` seconds."""
        if not await self._loopback.wait_for(predicate, timeout):
            state = (
                f"{len(self.requests)} requests recorded, {self.in_flight} in flight, "
                f"{'up' if self.is_up else 'down'}, logged_in={self.logged_in}"
            )
            wanted = what or getattr(predicate, "__name__", "the condition")
            raise AssertionError(
                f"FakeBrowserService: {wanted} not reached in {timeout:g}s; {state}"
            )

    # ----- request handling

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        content_type = request.headers.get("Content-Type")
        invalid_json: _InvalidJson | None = None
        try:
            body = _decode_body(raw, content_type)
        except _InvalidJson as error:
            invalid_json, body = error, raw.decode("utf-8", errors="replace")
        # Like Starlette's QueryParams, the last of repeated values counts.
        query = {name: value for name, value in request.query.items()}
        op, path_values, allowed = _route(request.method, request.path)
        self._record(request, query, body, op)
        if op is None:
            if allowed:
                return _detail(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
            return _detail(404, "Not Found")
        # FastAPI reads and parses the body only for routes that take one.
        if invalid_json is not None and op.body_model is not None:
            return _detail(422, invalid_json.detail())
        if not self._authorized(request):
            return _detail(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        if op is _OPENAPI_OPERATION:
            return self._take_failure(op.path) or _json(self.openapi())
        validated = _validate(op, path_values, query, body, has_body=bool(raw))
        if validated.errors:
            return _detail(422, validated.errors)
        return await self._run(op, validated)

    def _record(
        self,
        request: web.Request,
        query: dict[str, str],
        body: object | None,
        op: Operation | None,
    ) -> None:
        self.requests.append(
            ServiceRequest(
                method=request.method,
                path=request.path,
                query=query,
                body=body,
                authorization=request.headers.get("Authorization"),
                at=time.monotonic(),
                route=None if op is None else op.path,
            )
        )
        self._loopback.notify()

    def _authorized(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and credentials.strip() == self.token

    async def _run(self, op: Operation, validated: _Validated) -> web.Response:
        if op.business:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._loopback.notify()
        try:
            delay = self.delays.get(op.path, self.delay)
            if delay > 0:
                await asyncio.sleep(delay)
            failure = self._take_failure(op.path)
            if failure is not None:
                return failure
            if op.business and not self.logged_in:
                await self._login_wait()
                if not self.logged_in:
                    return _json({"success": False, "details": NOT_LOGGED_IN})
            details = self._business_failures.get(op.path)
            if details is not None:
                return _json({"success": False, "details": details})
            return _json(self._handlers[op.operation_id](validated.values, validated.body))
        finally:
            if op.business:
                self.in_flight -= 1
                self._loopback.notify()

    def _take_failure(self, path_template: str) -> web.Response | None:
        queue = self._failures.get(path_template)
        if not queue:
            return None
        status, detail = queue.pop(0)
        self._loopback.notify()
        return _detail(status, detail)

    async def _login_wait(self) -> None:
        if self.login_wait_seconds > 0:
            await self._loopback.wait_for(lambda: self.logged_in, self.login_wait_seconds)

    # ----- routes

    def _status(self, values: dict[str, Any], body: Any) -> JsonDict:
        started = self._started_at if self._started_at is not None else time.monotonic()
        return {
            "status": "ok",
            "logged_in": self.logged_in,
            "new_message_count": self.new_message_count,
            "browser": "chrome",
            "uptime_seconds": int(time.monotonic() - started),
        }

    def _list_dialogs(self, values: dict[str, Any], body: Any) -> JsonDict:
        return {"success": True, "dialogs": copy.deepcopy(self.dialogs[: values["limit"]])}

    def _chat_messages(self, values: dict[str, Any], body: Any) -> JsonDict:
        chat_id: str = values["chat_id"]
        if chat_id not in self.messages:
            return _chat_not_found(chat_id)
        messages = copy.deepcopy(self.messages[chat_id])
        return {"success": True, "chat_id": chat_id, "messages": messages}

    def _send_message(self, values: dict[str, Any], body: Any) -> JsonDict:
        chat_id: str = values["chat_id"]
        assert isinstance(body, SendMessageRequest)
        if chat_id not in self.messages:
            return _chat_not_found(chat_id)
        now = _now_iso()
        self.messages[chat_id].append({"from": "me", "text": body.message, "time": now})
        for dialog in self.dialogs:
            if dialog.get("chat_id") == chat_id:
                dialog["last_message"], dialog["updated_at"] = body.message, now
        self.sent.append((chat_id, body.message))
        self._loopback.notify()
        return {"success": True, "sent": True, "chat_id": chat_id, "message": body.message}

    def _view_full_resume(self, values: dict[str, Any], body: Any) -> JsonDict:
        assert isinstance(body, ChatIdRequest)
        if body.chat_id not in self.messages:
            return _chat_not_found(body.chat_id)
        self.resumes_viewed.append(body.chat_id)
        self._loopback.notify()
        resume = self.resumes.get(body.chat_id)
        if resume is None:
            return {"success": False, "details": f"chat {body.chat_id} has no resume yet"}
        return {"success": True, "resume": copy.deepcopy(resume)}

    def _request_resume(self, values: dict[str, Any], body: Any) -> JsonDict:
        assert isinstance(body, ChatIdRequest)
        if body.chat_id not in self.messages:
            return _chat_not_found(body.chat_id)
        self.resume_requests.append(body.chat_id)
        self._loopback.notify()
        return {"success": True, "requested": True}

    def _list_candidates(self, values: dict[str, Any], body: Any) -> JsonDict:
        candidates = copy.deepcopy(self.candidates[: values["limit"]])
        return {"success": True, "candidates": candidates}

    def _greet(self, values: dict[str, Any], body: Any) -> JsonDict:
        index: int = values["index"]
        message = body.message if isinstance(body, GreetRequest) else None
        if index >= len(self.candidates):
            return {"success": False, "details": f"candidate {index} not found"}
        self.greeted.append((index, message))
        self._loopback.notify()
        return {"success": True, "greeted": index}

    def _start_scheduler(self, values: dict[str, Any], body: Any) -> JsonDict:
        self.scheduler_running = True
        self._loopback.notify()
        return {"success": True, "running": True}

    def _stop_scheduler(self, values: dict[str, Any], body: Any) -> JsonDict:
        self.scheduler_running = False
        self._loopback.notify()
        return {"success": True, "running": False}

    def _scheduler_status(self, values: dict[str, Any], body: Any) -> JsonDict:
        running = self.scheduler_running
        next_run = _now_iso(SCHEDULER_INTERVAL_SECONDS) if running else None
        return {"running": running, "next_run": next_run}


def _chat_not_found(chat_id: str) -> JsonDict:
    return {"success": False, "details": f"chat {chat_id} not found"}


def _route(method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
    """The operation for a request and its path values; else the methods the path allows
    (empty: unknown path)."""
    allowed: list[str] = []
    for op, pattern in _PATTERNS:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if op.method == method:
            return op, match.groupdict(), []
        allowed.append(op.method)
    return None, {}, allowed
