"""The ``chat.*`` Web API methods: posting, editing and deleting messages, ephemeral
messages, and streamed messages (``chat.startStream`` / ``appendStream`` / ``stopStream``).
"""

from __future__ import annotations

from typing import Any

from sandbox.workspace.assistant import end_session
from sandbox.workspace.blocks import blocks_param
from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import check_length, require_channel, str_param
from sandbox.workspace.people import dm_channel
from sandbox.workspace.records import ApiMethod, Message
from sandbox.workspace.render import message_dict
from sandbox.workspace.state import MAX_MESSAGE_CHARS, WorkspaceState

MAX_STREAM_MARKDOWN_CHARS = 12_000
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})


class ChatApi:
    """chat.* for the bot: its messages are stored as the bot's, in the workspace's state."""

    def __init__(self, state: WorkspaceState) -> None:
        self.state = state

    def methods(self) -> dict[str, ApiMethod]:
        return {
            "chat.postMessage": self.post_message,
            "chat.update": self.update,
            "chat.delete": self.delete,
            "chat.startStream": self.start_stream,
            "chat.appendStream": self.append_stream,
            "chat.stopStream": self.stop_stream,
            "chat.postEphemeral": self.post_ephemeral,
        }

    def post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = require_channel(params)
        if channel[:1] in ("U", "W"):  # a user id: Slack posts in the app's DM with them
            channel = dm_channel(self.state, channel)
        text = str_param(params, "text") or ""
        blocks = blocks_param(params)
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        check_length(text, MAX_MESSAGE_CHARS)
        thread_ts = str_param(params, "thread_ts")
        self.state.clear_assistant_status(channel, thread_ts)
        message = self.state.store(
            Message(
                channel=channel,
                ts=self.state.next_ts(),
                text=text,
                user=self.state.bot_user_id,
                bot_id=self.state.bot_id,
                thread_ts=thread_ts,
                blocks=blocks,
            )
        )
        return {"channel": channel, "ts": message.ts, "message": message_dict(self.state, message)}

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "cant_update_message")
        text = str_param(params, "text")
        blocks = blocks_param(params)
        if text is None and blocks is None:
            raise SlackError("no_text")
        if text is not None:
            check_length(text, MAX_MESSAGE_CHARS)
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.versions.append(message.text)
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": message_dict(self.state, message),
        }

    def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "cant_delete_message")
        del self.state.messages[(message.channel, message.ts)]
        return {"channel": message.channel, "ts": message.ts}

    def start_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        channel = require_channel(params)
        thread_ts = str_param(params, "thread_ts")
        has_recipient = bool(params.get("recipient_user_id") and params.get("recipient_team_id"))
        if thread_ts is None or (not channel.startswith("D") and not has_recipient):
            raise SlackError("invalid_arguments")
        markdown = stream_markdown(params)
        tasks = stream_tasks(params)
        self.state.clear_assistant_status(channel, thread_ts)
        if self.state.app is not None and self.state.app.experience == "agent":
            # Streams take part in agent sessions: the person sees a stop button.
            self.state.sessions[(channel, thread_ts)] = "processing"
        message = self.state.store(
            Message(
                channel=channel,
                ts=self.state.next_ts(),
                text=markdown,
                user=self.state.bot_user_id,
                bot_id=self.state.bot_id,
                thread_ts=thread_ts,
                streaming=True,
                tasks=tasks,
                task_updates=list(tasks.values()),
            )
        )
        return {"channel": channel, "ts": message.ts}

    def append_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        message = self._streaming_message(params)
        append_text(message, stream_markdown(params))
        update_tasks(message, stream_tasks(params))
        self._count_append(message)
        return {"channel": message.channel, "ts": message.ts}

    def stop_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        message = self._streaming_message(params)
        markdown = stream_markdown(params)
        update_tasks(message, stream_tasks(params))
        blocks = blocks_param(params)
        if blocks is not None:
            message.blocks = blocks
        message.streaming = False
        append_text(message, markdown)
        end_session(self.state, message, str_param(params, "session_status") or "active")
        return {
            "channel": message.channel,
            "ts": message.ts,
            "message": message_dict(self.state, message),
        }

    def post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = require_channel(params)
        user = str_param(params, "user")
        if user is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: user"])
        text = str_param(params, "text") or ""
        blocks = blocks_param(params)
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        check_length(text, MAX_MESSAGE_CHARS)
        ephemeral = self.state.add_ephemeral(
            channel, user, text, blocks, str_param(params, "thread_ts"), "chat.postEphemeral"
        )
        return {"message_ts": ephemeral.message_ts}

    def _find_message(self, params: dict[str, Any]) -> Message:
        channel = require_channel(params)
        message = self.state.messages.get((channel, str_param(params, "ts") or ""))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _own_message(self, params: dict[str, Any], error: str) -> Message:
        message = self._find_message(params)
        if message.bot_id != self.state.bot_id:
            raise SlackError(error)
        return message

    def _require_streaming(self) -> None:
        if not self.state.streaming_supported:
            raise SlackError("unknown_method")

    def _streaming_message(self, params: dict[str, Any]) -> Message:
        message = self._find_message(params)
        if not message.streaming:
            raise SlackError("message_not_in_streaming_state")
        return message

    def _count_append(self, message: Message) -> None:
        key = (message.channel, message.ts)
        self.state.stream_appends[key] = self.state.stream_appends.get(key, 0) + 1
        limit = self.state.close_streams_after_appends
        if limit is not None and self.state.stream_appends[key] >= limit:
            message.streaming = False  # Slack expiring the stream on its side


def append_text(message: Message, markdown: str) -> None:
    message.text += markdown
    message.versions.append(message.text)


def update_tasks(message: Message, tasks: dict[str, dict[str, Any]]) -> None:
    message.tasks.update(tasks)
    message.task_updates += tasks.values()


def stream_markdown(params: dict[str, Any]) -> str:
    """The markdown a streaming call appends: ``markdown_text`` then markdown chunks.

    The SDK's chat_stream helper always sends text as ``markdown_text`` chunks, so the
    12,000 character limit applies to their sum, not only to the ``markdown_text`` field.
    """
    chunks = params.get("chunks")
    if chunks is not None and not isinstance(chunks, list):
        raise SlackError("invalid_arguments")
    parts = [str_param(params, "markdown_text") or ""]
    for chunk in chunks or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            parts.append(str(chunk.get("text", "")))
    markdown = "".join(parts)
    check_length(markdown, MAX_STREAM_MARKDOWN_CHARS)
    return markdown


def stream_tasks(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The task_update chunks of a streaming call, by task id (checked like Slack)."""
    tasks: dict[str, dict[str, Any]] = {}
    for chunk in params.get("chunks") or []:
        if not (isinstance(chunk, dict) and chunk.get("type") == "task_update"):
            continue
        if not (chunk.get("id") and chunk.get("title")) or chunk.get("status") not in TASK_STATUSES:
            raise SlackError("invalid_arguments", ["[ERROR] invalid task_update chunk"])
        sources = chunk.get("sources") or []
        if not isinstance(sources, list) or not all(_is_url_source(s) for s in sources):
            raise SlackError("invalid_arguments", ["[ERROR] invalid task_update sources"])
        tasks[str(chunk["id"])] = {k: v for k, v in chunk.items() if k not in ("type", "id")}
    return tasks


def _is_url_source(source: Any) -> bool:
    """A task's source as Slack takes it: type "url", a url and a text (all required)."""
    return (
        isinstance(source, dict)
        and source.get("type") == "url"
        and isinstance(source.get("url"), str)
        and bool(source.get("text"))
    )
