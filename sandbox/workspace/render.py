"""How Slack shows things in Web API answers, events and interaction payloads: messages,
files, views, users, teams and channels.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sandbox.workspace.inputs import state_values
from sandbox.workspace.people import channel_name, user_name
from sandbox.workspace.records import HostedFile, Message, View
from sandbox.workspace.state import APP_ID, TEAM_DOMAIN, WORKSPACE_URL, WorkspaceState

PRETTY_TYPES = {
    "csv": "CSV",
    "docx": "Word Document",
    "gif": "GIF",
    "heic": "HEIC",
    "html": "HTML",
    "jpeg": "JPEG",
    "jpg": "JPEG",
    "json": "JSON",
    "md": "Markdown (raw)",
    "pdf": "PDF",
    "png": "PNG",
    "py": "Python",
    "text": "Plain Text",
    "txt": "Plain Text",
    "webp": "WebP",
    "xlsx": "Excel Spreadsheet",
    "zip": "Zip",
}


def file_object(state: WorkspaceState, hosted: HostedFile) -> dict[str, Any]:
    """A file the way Slack shows it in messages, events and files.* answers."""
    file = hosted.file
    name = quote(file.name)
    base = f"{state.base_url}/files-pri/{state.team_id}-{hosted.id}"
    filetype = file.filetype or ""
    rendered: dict[str, Any] = {
        "id": hosted.id,
        "created": hosted.created,
        "timestamp": hosted.created,
        "name": file.name,
        "title": hosted.title,
        "mimetype": file.mimetype,
        "filetype": filetype,
        "pretty_type": PRETTY_TYPES.get(filetype, filetype.upper() or "Binary"),
        "user": hosted.user,
        "user_team": state.team_id,
        "mode": "hosted",
        "editable": False,
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "size": len(file.content),
        "url_private": f"{base}/{name}",
        "url_private_download": f"{base}/download/{name}",
        "permalink": f"{WORKSPACE_URL}files/{hosted.user}/{hosted.id}/{name}",
    }
    if hosted.alt_txt is not None:
        rendered["alt_txt"] = hosted.alt_txt
    if hosted.dimensions is not None:
        rendered["original_w"], rendered["original_h"] = hosted.dimensions
    return rendered


def message_dict(state: WorkspaceState, message: Message) -> dict[str, Any]:
    """Render a stored message the way Slack's APIs and events show it."""
    rendered: dict[str, Any] = {"type": "message", "text": message.text, "ts": message.ts}
    if message.subtype is not None:
        rendered["subtype"] = message.subtype
    if message.user is not None:
        rendered["user"] = message.user
    if message.bot_id is not None:
        rendered.update(bot_fields(state, message.bot_id))
    if message.client_msg_id is not None:
        rendered["client_msg_id"] = message.client_msg_id
    if message.blocks is not None:
        rendered["blocks"] = message.blocks
    if message.file_ids:
        rendered["files"] = [
            file_object(state, state.files[f]) for f in message.file_ids if f in state.files
        ]
        rendered["upload"] = True
    rendered["team"] = state.team_id
    rendered.update(external_author(state, message.user))
    rendered.update(thread_fields(state, message))
    return rendered


def external_author(state: WorkspaceState, user: str | None) -> dict[str, Any]:
    """How Slack Connect marks a message by someone of another organisation: their
    team as `team`, `user_team` and `source_team`, and a `user_profile` naming it."""
    known = state.users.get(user or "")
    if known is None or known.team is None or known.team == state.team_id:
        return {}
    profile = {
        "name": known.name,
        "real_name": known.name,
        "display_name": known.name,
        "team": known.team,
    }
    return {
        "team": known.team,
        "user_team": known.team,
        "source_team": known.team,
        "user_profile": profile,
    }


def bot_fields(state: WorkspaceState, bot_id: str) -> dict[str, Any]:
    own = bot_id == state.bot_id
    app_id = APP_ID if own else "A0OTHER"
    profile = {
        "id": bot_id,
        "app_id": app_id,
        "name": "assistant" if own else bot_id.lower(),
        "team_id": state.team_id,
        "deleted": False,
        "icons": {},
    }
    return {"bot_id": bot_id, "app_id": app_id, "bot_profile": profile}


def thread_fields(state: WorkspaceState, message: Message) -> dict[str, Any]:
    if message.is_reply:
        parent = state.messages.get((message.channel, message.thread_ts or ""))
        fields: dict[str, Any] = {"thread_ts": message.thread_ts}
        if parent is not None and parent.user is not None:
            fields["parent_user_id"] = parent.user
        return fields
    replies = state.thread_messages(message.channel, message.ts)
    if not replies:
        return {}
    reply_users = sorted({r.user for r in replies if r.user is not None})
    return {
        "thread_ts": message.ts,
        "reply_count": len(replies),
        "reply_users_count": len(reply_users),
        "reply_users": reply_users,
        "latest_reply": replies[-1].ts,
        "is_locked": False,
        "subscribed": False,
    }


def view_dict(state: WorkspaceState, view: View) -> dict[str, Any]:
    """A view the way views.* answers and interaction payloads show it."""
    rendered: dict[str, Any] = {
        "id": view.id,
        "team_id": state.team_id,
        "type": view.type,
        "blocks": view.blocks,
        "private_metadata": view.private_metadata,
        "callback_id": view.callback_id,
        "state": {"values": state_values(view.blocks, view.state_values)},
        "hash": view.hash,
        "clear_on_close": view.clear_on_close,
        "notify_on_close": view.notify_on_close,
        "close": view.close,
        "submit": view.submit,
        "previous_view_id": view.previous_view_id,
        "root_view_id": view.root_view_id,
        "app_id": APP_ID,
        "external_id": view.external_id,
        "app_installed_team_id": state.team_id,
        "bot_id": state.bot_id,
    }
    if view.title is not None:
        rendered["title"] = view.title
    return rendered


def message_event(state: WorkspaceState, message: Message) -> dict[str, Any]:
    event = message_dict(state, message)
    event.update(
        channel=message.channel,
        event_ts=message.ts,
        channel_type=channel_type(message.channel),
    )
    # Only the event says file_share; the stored message (history, replies) has no subtype.
    if message.file_ids and message.subtype is None:
        event["subtype"] = "file_share"
    return event


def app_mention_event(state: WorkspaceState, message: Message) -> dict[str, Any]:
    event = message_dict(state, message)
    event.update(type="app_mention", channel=message.channel, event_ts=message.ts)
    return event


def user_object(state: WorkspaceState, user: str) -> dict[str, Any]:
    name = user_name(state, user)
    return {"id": user, "username": name, "name": name, "team_id": state.team_id}


def team_object(state: WorkspaceState) -> dict[str, Any]:
    return {"id": state.team_id, "domain": TEAM_DOMAIN}


def channel_object(state: WorkspaceState, channel: str) -> dict[str, Any]:
    return {"id": channel, "name": channel_name(state, channel)}


def channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")
