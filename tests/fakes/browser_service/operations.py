"""The service's operations (method, path template, parameters, body and response models)
and the routing of a request to one, as Starlette matches paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from tests.fakes.browser_service.data import JsonDict
from tests.fakes.browser_service.models import (
    CandidatesResponse,
    ChatIdRequest,
    DialogsResponse,
    GreetRequest,
    GreetResponse,
    MessagesResponse,
    ResumeRequestResponse,
    ResumeResponse,
    SchedulerResponse,
    SchedulerStatus,
    SendMessageRequest,
    SendMessageResponse,
    StatusResponse,
)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
OPENAPI_PATH = "/openapi.json"
STATUS_PATH = "/status"


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
OPENAPI_OPERATION = Operation(
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
    (op, _path_pattern(op.path)) for op in (*OPERATIONS, OPENAPI_OPERATION)
)


def route(method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
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


def check_template(path_template: str) -> None:
    """A test names a route by its template; a misspelt one fails here, not by never matching."""
    if path_template not in ROUTE_TEMPLATES:
        known = ", ".join(ROUTE_TEMPLATES)
        raise ValueError(f"unknown route {path_template!r}; the routes are: {known}")
