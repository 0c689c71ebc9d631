"""The records of the fake workspace: what it stores (messages, files, views, ...) and what
it saw (API calls, file requests), as tests read them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.workspace.reading import blocks_text

# A Web API method's implementation: the call's parameters in, the answer's fields out
# (``"ok": true`` is added); raises SlackError to refuse.
ApiMethod = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class ApiCall:
    """One Web API request as the fake received it (``token`` is removed from ``params``)."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float  # time.monotonic(), comparable with FakeSlack.sent_at / FakeSlack.acks
    status: int = 200
    error: str | None = None  # the "error" field of the answer, if it was not ok

    @property
    def channel(self) -> str:
        """The conversation the call names (``channel`` or ``channel_id``); "" if none."""
        for key in ("channel", "channel_id"):
            value = self.params.get(key)
            if not (isinstance(value, bool) or value is None or value == ""):
                return value if isinstance(value, str) else str(value)
        return ""


@dataclass
class Message:
    """A message stored in the fake workspace. ``thread_ts`` is None for top-level messages."""

    channel: str
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[Any] | None = None
    client_msg_id: str | None = None
    subtype: str | None = None
    streaming: bool = False
    versions: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)  # see FakeSlack.file()
    # Task cards of a streamed message (task_update chunks): the latest of each, by id,
    # and every update as it came.
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_updates: list[dict[str, Any]] = field(default_factory=list)
    # Emoji name -> who reacted with it (reactions.add), in order.
    reactions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(frozen=True)
class UploadedFile:
    """A file a user shares. ``filetype`` defaults to the name's lower-cased extension."""

    name: str
    mimetype: str
    content: bytes
    filetype: str | None = None

    def __post_init__(self) -> None:
        if self.filetype is None:
            object.__setattr__(self, "filetype", _extension(self.name))


@dataclass
class FileRequest:
    """One GET of a hosted file (``url_private`` or ``url_private_download``)."""

    file_id: str
    authorized: bool  # carried ``Authorization: Bearer <bot token>``
    token_sent: str | None  # the bearer token, whatever it was
    at: float  # time.monotonic() on arrival
    download: bool = False  # the url_private_download form
    status: int = 200  # HTTP status answered; the login page is a 200 too


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded and completed (files.getUploadURLExternal + upload + complete).

    ``channel`` is None for a file completed without sharing it anywhere; a file shared to
    several ``channels`` is recorded once per channel.
    """

    file_id: str
    filename: str
    title: str
    alt_text: str | None
    channel: str | None
    thread_ts: str | None
    content: bytes
    mimetype: str  # guessed from the filename, as Slack does
    initial_comment: str | None = None
    message_ts: str | None = None  # the message that shared it


@dataclass
class Ephemeral:
    """A message only ``user`` sees in ``channel``; never in history, never in events.

    ``via`` says where it came from: "chat.postEphemeral", "response_url" or "ack" (a slash
    command's ack text). A response_url's ``replace_original`` changes it in place (its
    texts pile up in ``versions``) and ``delete_original`` sets ``deleted``.
    """

    channel: str
    user: str
    text: str
    blocks: list[Any] | None
    thread_ts: str | None
    message_ts: str
    via: str = "chat.postEphemeral"
    deleted: bool = False
    versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Response:
    """One POST to a response_url, as the bot sent it (its effect is in messages/ephemerals).

    ``channel`` and ``user`` are the interaction's: where the answer shows, and to whom.
    """

    text: str
    blocks: list[Any] | None
    response_type: str  # "ephemeral" (the default) or "in_channel"
    replace_original: bool
    delete_original: bool
    thread_ts: str | None
    channel: str | None
    user: str
    # Link previews as the answer asked for them (None: not said, so Slack's default).
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None


@dataclass
class View:
    """A modal or App Home view as Slack keeps it for ``user``.

    ``blocks`` have every ``block_id`` / ``action_id`` filled in (Slack assigns missing ones).
    ``state_values`` holds what the user entered or chose (``state.values`` shape, without
    the untouched initial values, which payloads add); ``errors`` what the last
    ``response_action: errors`` shows; ``versions`` the earlier block lists.
    """

    id: str
    type: str  # "modal" or "home"
    user: str
    callback_id: str
    private_metadata: str
    title: dict[str, Any] | None
    submit: dict[str, Any] | None
    blocks: list[dict[str, Any]]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    close: dict[str, Any] | None = None
    external_id: str = ""
    notify_on_close: bool = False
    clear_on_close: bool = False
    state_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    closed: bool = False
    errors: dict[str, str] | None = None
    versions: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What the user reads in the view, with their current choices marked."""
        return blocks_text(self.blocks, self.state_values)


@dataclass(frozen=True)
class SuggestedPrompts:
    """The latest assistant.threads.setSuggestedPrompts for a thread."""

    prompts: list[dict[str, str]]  # each {"title", "message"}
    title: str | None = None


@dataclass
class Trigger:
    """A trigger_id an interaction carried: usable once, for a few seconds."""

    user: str
    issued: float  # time.monotonic()
    view_id: str | None  # the view the interaction happened in: where views.push stacks
    used: bool = False


@dataclass
class ResponseTarget:
    """Where a response_url's answers go, and what replace/delete_original act on."""

    user: str
    channel: str
    thread_ts: str | None  # the default thread for its answers
    envelope_id: str = ""  # set before the envelope is sent: the bot may answer at once
    message: tuple[str, str] | None = None  # the clicked or shortcut message (channel, ts)
    ephemeral: Ephemeral | None = None  # the clicked ephemeral message
    uses: int = 0


@dataclass
class HostedFile:
    """A file on the workspace's file host, with what files.* and events show of it."""

    id: str
    file: UploadedFile
    user: str
    created: int
    title: str
    alt_txt: str | None = None
    dimensions: tuple[int, int] | None = None


@dataclass
class PendingUpload:
    """An upload the bot started (files.getUploadURLExternal) and has not completed."""

    file_id: str
    key: str
    filename: str
    length: int
    alt_txt: str | None
    content: bytes | None = None  # None until the bytes are POSTed to the upload URL


@dataclass
class Person:
    """Someone in the workspace (see people.add_user), the bot included."""

    id: str
    name: str
    is_bot: bool
    # The user's own team: another organisation's for a Slack Connect guest.
    team: str | None = None


@dataclass(eq=False)
class Connection:
    """A Socket Mode client's WebSocket."""

    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    # Set once the fake has told the client to go away; new envelopes then avoid this socket.
    retiring: bool = False


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""
