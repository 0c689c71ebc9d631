"""Files: hosting them (a user's shared files, the bot's uploads) and the ``files.*`` Web API
methods of slack-sdk's ``files_upload_v2`` (get an upload URL, upload, complete).
"""

from __future__ import annotations

import io
import json
import mimetypes
import secrets
import string
import time
from typing import Any

from PIL import Image, UnidentifiedImageError

from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import check_length, csv_param, int_param, str_param
from sandbox.workspace.records import (
    ApiMethod,
    HostedFile,
    Message,
    PendingUpload,
    Upload,
    UploadedFile,
)
from sandbox.workspace.render import file_object
from sandbox.workspace.state import MAX_MESSAGE_CHARS, WorkspaceState

FILE_ID_ALPHABET = string.ascii_uppercase + string.digits


class FilesApi:
    """files.getUploadURLExternal, files.completeUploadExternal and files.info."""

    def __init__(self, state: WorkspaceState) -> None:
        self.state = state

    def methods(self) -> dict[str, ApiMethod]:
        return {
            "files.getUploadURLExternal": self.get_upload_url_external,
            "files.completeUploadExternal": self.complete_upload_external,
            "files.info": self.info,
        }

    def get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = str_param(params, "filename")
        length = int_param(params, "length")
        if filename is None or length is None:
            raise SlackError("invalid_arguments")
        file_id = new_file_id(self.state)
        key = secrets.token_urlsafe(24)
        alt_txt = str_param(params, "alt_txt")
        self.state.pending_uploads[file_id] = PendingUpload(file_id, key, filename, length, alt_txt)
        return {"upload_url": f"{self.state.base_url}/upload/v1/{key}", "file_id": file_id}

    def complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _file_entries(params.get("files"))
        channel_id = str_param(params, "channel_id")
        channels = [channel_id] if channel_id else csv_param(params, "channels")
        thread_ts = str_param(params, "thread_ts")
        if thread_ts is not None and not channels:
            raise SlackError("invalid_arguments")
        comment = str_param(params, "initial_comment")
        check_length(comment or "", MAX_MESSAGE_CHARS)
        pendings = [self.state.pending_uploads.get(str(entry["id"])) for entry in entries]
        ready = [p for p in pendings if p is not None and p.content is not None]
        if len(ready) != len(entries):  # unknown, already completed or never uploaded
            raise SlackError("file_not_found")
        hosted = [self._host_upload(entry, p) for entry, p in zip(entries, ready, strict=True)]
        targets: list[str | None] = [*channels] or [None]
        for channel in targets:
            self._share(hosted, channel, thread_ts, comment)
        return {"files": [file_object(self.state, h) for h in hosted]}

    def _host_upload(self, entry: dict[str, Any], pending: PendingUpload) -> HostedFile:
        """Host a completed upload, titled as its completeUploadExternal entry says."""
        del self.state.pending_uploads[pending.file_id]
        mimetype = mimetypes.guess_type(pending.filename)[0] or "application/octet-stream"
        shared = UploadedFile(pending.filename, mimetype, pending.content or b"")
        title = entry.get("title")
        alt_txt = entry.get("alt_txt") or pending.alt_txt
        return host(
            self.state,
            shared,
            self.state.bot_user_id,
            file_id=pending.file_id,
            title=title if isinstance(title, str) and title else None,
            alt_txt=alt_txt if isinstance(alt_txt, str) else None,
        )

    def _share(
        self,
        hosted: list[HostedFile],
        channel: str | None,
        thread_ts: str | None,
        comment: str | None,
    ) -> None:
        """Record the upload of ``hosted`` to ``channel`` (None: shared nowhere)."""
        ts = None
        if channel is not None:  # one message shares all the files, like Slack's
            ts = self.state.store(
                Message(
                    channel=channel,
                    ts=self.state.next_ts(),
                    text=comment or "",
                    user=self.state.bot_user_id,
                    bot_id=self.state.bot_id,
                    thread_ts=thread_ts,
                    file_ids=[h.id for h in hosted],
                )
            ).ts
        self.state.uploads.extend(
            Upload(
                file_id=h.id,
                filename=h.file.name,
                title=h.title,
                alt_text=h.alt_txt,
                channel=channel,
                thread_ts=thread_ts,
                content=h.file.content,
                mimetype=h.file.mimetype,
                initial_comment=comment,
                message_ts=ts,
            )
            for h in hosted
        )

    def info(self, params: dict[str, Any]) -> dict[str, Any]:
        hosted = self.state.files.get(str_param(params, "file") or "")
        if hosted is None:
            raise SlackError("file_not_found")
        return {"file": file_object(self.state, hosted)}


def new_file_id(state: WorkspaceState) -> str:
    while True:
        file_id = "F" + "".join(secrets.choice(FILE_ID_ALPHABET) for _ in range(10))
        if file_id not in state.files and file_id not in state.pending_uploads:
            return file_id


def host(
    state: WorkspaceState,
    file: UploadedFile,
    user: str,
    *,
    file_id: str | None = None,
    title: str | None = None,
    alt_txt: str | None = None,
) -> HostedFile:
    hosted = HostedFile(
        id=file_id or new_file_id(state),
        file=file,
        user=user,
        created=int(time.time()),
        title=title or file.name,
        alt_txt=alt_txt,
        dimensions=_image_size(file),
    )
    state.files[hosted.id] = hosted
    return hosted


def _file_entries(raw: Any) -> list[dict[str, Any]]:
    """files.completeUploadExternal's ``files``: a JSON string (or list) of {"id", "title"}."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    if not isinstance(raw, list) or not raw:
        raise SlackError("invalid_arguments")
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise SlackError("invalid_arguments")
    return raw


def _image_size(file: UploadedFile) -> tuple[int, int] | None:
    """Pixel size of an image Pillow can read; Slack adds it as original_w / original_h."""
    if not file.mimetype.startswith("image/"):
        return None
    try:
        with Image.open(io.BytesIO(file.content)) as image:
            return image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None
