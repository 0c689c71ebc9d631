"""The service's pydantic models. The request models validate requests; all of them give the
OpenAPI document's components/schemas as FastAPI generates them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MAX_MESSAGE_CHARS = 1000


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


REQUEST_MODELS: tuple[type[BaseModel], ...] = (SendMessageRequest, ChatIdRequest, GreetRequest)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
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
