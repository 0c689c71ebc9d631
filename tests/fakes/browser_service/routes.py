"""What each operation answers once a request got through the checks, by family (status,
chat, resume, recommend, automation): functions of the service's state, the path and query
values and the body's model. Those that change the state notify wait_for()."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from tests.fakes.browser_service.data import JsonDict
from tests.fakes.browser_service.models import ChatIdRequest, GreetRequest, SendMessageRequest
from tests.fakes.browser_service.state import ServiceState

SCHEDULER_INTERVAL_SECONDS = 600

Values = dict[str, Any]
Route = Callable[[ServiceState, Values, BaseModel | None], JsonDict]


def _now_iso(offset_seconds: float = 0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- status


def _status(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    started = state.started_at if state.started_at is not None else time.monotonic()
    return {
        "status": "ok",
        "logged_in": state.logged_in,
        "new_message_count": state.new_message_count,
        "browser": "chrome",
        "uptime_seconds": int(time.monotonic() - started),
    }


# --------------------------------------------------------------------------- chat


def _list_dialogs(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    return {"success": True, "dialogs": copy.deepcopy(state.dialogs[: values["limit"]])}


def _chat_messages(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    chat_id: str = values["chat_id"]
    if chat_id not in state.messages:
        return _chat_not_found(chat_id)
    messages = copy.deepcopy(state.messages[chat_id])
    return {"success": True, "chat_id": chat_id, "messages": messages}


def _send_message(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    chat_id: str = values["chat_id"]
    assert isinstance(body, SendMessageRequest)
    if chat_id not in state.messages:
        return _chat_not_found(chat_id)
    now = _now_iso()
    state.messages[chat_id].append({"from": "me", "text": body.message, "time": now})
    for dialog in state.dialogs:
        if dialog.get("chat_id") == chat_id:
            dialog["last_message"], dialog["updated_at"] = body.message, now
    state.sent.append((chat_id, body.message))
    state.notify()
    return {"success": True, "sent": True, "chat_id": chat_id, "message": body.message}


# --------------------------------------------------------------------------- resume


def _view_full_resume(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    assert isinstance(body, ChatIdRequest)
    if body.chat_id not in state.messages:
        return _chat_not_found(body.chat_id)
    state.resumes_viewed.append(body.chat_id)
    state.notify()
    resume = state.resumes.get(body.chat_id)
    if resume is None:
        return {"success": False, "details": f"chat {body.chat_id} has no resume yet"}
    return {"success": True, "resume": copy.deepcopy(resume)}


def _request_resume(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    assert isinstance(body, ChatIdRequest)
    if body.chat_id not in state.messages:
        return _chat_not_found(body.chat_id)
    state.resume_requests.append(body.chat_id)
    state.notify()
    return {"success": True, "requested": True}


# --------------------------------------------------------------------------- recommend


def _list_candidates(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    candidates = copy.deepcopy(state.candidates[: values["limit"]])
    return {"success": True, "candidates": candidates}


def _greet(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    index: int = values["index"]
    message = body.message if isinstance(body, GreetRequest) else None
    if index >= len(state.candidates):
        return {"success": False, "details": f"candidate {index} not found"}
    state.greeted.append((index, message))
    state.notify()
    return {"success": True, "greeted": index}


# --------------------------------------------------------------------------- automation


def _start_scheduler(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    state.scheduler_running = True
    state.notify()
    return {"success": True, "running": True}


def _stop_scheduler(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    state.scheduler_running = False
    state.notify()
    return {"success": True, "running": False}


def _scheduler_status(state: ServiceState, values: Values, body: BaseModel | None) -> JsonDict:
    running = state.scheduler_running
    next_run = _now_iso(SCHEDULER_INTERVAL_SECONDS) if running else None
    return {"running": running, "next_run": next_run}


def _chat_not_found(chat_id: str) -> JsonDict:
    return {"success": False, "details": f"chat {chat_id} not found"}


# By operation id (see operations.OPERATIONS).
ROUTES: dict[str, Route] = {
    "get_status": _status,
    "list_dialogs": _list_dialogs,
    "get_chat_messages": _chat_messages,
    "send_chat_message": _send_message,
    "view_full_resume": _view_full_resume,
    "request_resume": _request_resume,
    "list_recommended_candidates": _list_candidates,
    "greet_candidate": _greet,
    "start_scheduler": _start_scheduler,
    "stop_scheduler": _stop_scheduler,
    "get_scheduler_status": _scheduler_status,
}
