"""The assistant and agent Web API methods: a thread's status, title and suggested prompts
(``assistant.threads.*``) and agent sessions (``agents.sessions.setStatus``).
"""

from __future__ import annotations

from typing import Any

from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import str_param, thread_key
from sandbox.workspace.records import ApiMethod, Message, SuggestedPrompts
from sandbox.workspace.state import WorkspaceState

MAX_LOADING_MESSAGES = 10
MAX_SUGGESTED_PROMPTS = 4
SESSION_STATUSES = frozenset({"active", "processing", "suspended", "closed"})


class AssistantApi:
    """What the app shows around a conversation with it, kept per (channel, thread_ts)."""

    def __init__(self, state: WorkspaceState) -> None:
        self.state = state

    def methods(self) -> dict[str, ApiMethod]:
        return {
            "assistant.threads.setStatus": self.set_status,
            "assistant.threads.setTitle": self.set_title,
            "assistant.threads.setSuggestedPrompts": self.set_suggested_prompts,
            "agents.sessions.setStatus": self.set_session_status,
        }

    def set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        key = thread_key(params)
        status = params.get("status")  # required, but "" is how the status is cleared
        if not isinstance(status, str):
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: status"])
        loading = params.get("loading_messages")
        if loading is not None and (
            not isinstance(loading, list)
            or len(loading) > MAX_LOADING_MESSAGES
            or not all(isinstance(m, str) for m in loading)
        ):
            raise SlackError("invalid_arguments", ["[ERROR] invalid `loading_messages`"])
        self.state.assistant_status[key] = status
        self.state.assistant_status_history.setdefault(key, []).append(status)
        return {}

    def set_session_status(self, params: dict[str, Any]) -> dict[str, Any]:
        key = thread_key(params)
        status = str_param(params, "status")
        if status not in SESSION_STATUSES:
            raise SlackError("invalid_arguments", ["[ERROR] invalid `status`"])
        if self.state.app is not None and self.state.app.experience != "agent":
            raise SlackError("not_allowed_token_type")
        self.state.sessions[key] = status
        if self.state.app is not None and "agent_session_stopped" not in self.state.app.events:
            return {"warning": "missing_agent_session_stopped_event_subscription"}
        return {}

    def set_title(self, params: dict[str, Any]) -> dict[str, Any]:
        key = thread_key(params)
        title = str_param(params, "title")
        if title is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: title"])
        self.state.assistant_titles[key] = title
        return {}

    def set_suggested_prompts(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str_param(params, "channel_id")
        if channel is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: channel_id"])
        prompts = params.get("prompts")
        if (
            not isinstance(prompts, list)
            or not 1 <= len(prompts) <= MAX_SUGGESTED_PROMPTS
            or not all(_is_prompt(p) for p in prompts)
        ):
            raise SlackError("invalid_arguments", ["[ERROR] invalid `prompts`"])
        if self.state.app is not None and self.state.app.experience == "agent":
            # Agent apps pin prompts to the Messages tab; Slack silently drops the call
            # when it names a thread.
            if str_param(params, "thread_ts") is None:
                self.state.suggested_prompts[(channel, "")] = SuggestedPrompts(
                    prompts, str_param(params, "title")
                )
            return {}
        # Without thread_ts Slack picks the latest message in the channel.
        top = [m.ts for m in self.state.sorted_messages(channel) if not m.is_reply]
        thread_ts = str_param(params, "thread_ts") or (top[-1] if top else "")
        title = str_param(params, "title")
        self.state.suggested_prompts[(channel, thread_ts)] = SuggestedPrompts(prompts, title)
        return {}


def end_session(state: WorkspaceState, message: Message, status: str) -> None:
    if status not in SESSION_STATUSES:
        raise SlackError("invalid_arguments", ["[ERROR] invalid `session_status`"])
    key = (message.channel, message.thread_ts or message.ts)
    if key in state.sessions:
        state.sessions[key] = status


def _is_prompt(prompt: Any) -> bool:
    return (
        isinstance(prompt, dict)
        and isinstance(prompt.get("title"), str)
        and isinstance(prompt.get("message"), str)
        and bool(prompt["title"] and prompt["message"])
    )
