"""A fake Slack that speaks Slack's real wire protocols over loopback.

``FakeSlack`` serves the Web API (``/api/{method}``) and a Socket Mode WebSocket
(``/socket-mode``) from one aiohttp server bound to 127.0.0.1 (``start`` takes another
``host``, and a ``setup`` that adds routes, as :mod:`sandbox.page` does). Every route is
behind :func:`sandbox.guard.loopback_only`: loopback Host names only, nothing another
web site sends. The bot talks
to it through the unmodified slack-sdk / slack-bolt clients: point ``AsyncWebClient``'s
``base_url`` at :attr:`FakeSlack.api_url` and ``apps.connections.open`` hands out the
WebSocket URL. Tests drive Slack's side (users posting, disconnects, faults) through the
async helper methods, and inspect what the bot did through the recorded state.

Protocol details were checked against slack-sdk 3.47 / slack-bolt 1.30:

* Socket Mode clients ping with ``sdk-ping-pong:<time>`` and treat the connection as stale
  unless the pong echoes that payload; aiohttp's ``autoping`` echoes ping payloads.
* Acks are ``{"envelope_id": ..., "payload": ...}`` text frames; Bolt only acks events that
  some listener matched.
* On a ``disconnect`` message the client closes the old socket *before* opening a new one,
  so envelopes sent in between must be queued, as Slack does.
* Bolt's per-request client adds ``team_id`` to every call's parameters.

Files, as Slack hosts them:

* Shared files are served from ``/files-pri/{team}-{file}/[download/]{name}`` on the same
  server. Only ``Authorization: Bearer <bot token>`` opens them; without it (or with any
  other token) Slack answers **200** with an HTML login page, not 401.
* ``files_upload_v2`` (slack-sdk 3.47) makes three requests: ``files.getUploadURLExternal``
  (``filename``, ``length``, ``alt_txt``, ``snippet_type`` in the query string), a POST of
  the raw bytes to the returned ``upload_url`` *without* an Authorization header, whose
  answer must be HTTP 200 (Slack's is ``text/plain`` "OK - <length>"), then
  ``files.completeUploadExternal`` (``files`` as a JSON string of ``{"id", "title"}``,
  plus ``channel_id``, ``thread_ts``, ``initial_comment``). ``alt_txt`` travels only in
  the first call.

The installed app (:meth:`FakeSlack.install`, rules in :mod:`sandbox.manifest`): a
manifest Slack refuses is refused; only subscribed events are delivered (the rest land
in :attr:`FakeSlack.undelivered`); only declared commands and shortcuts can be used.
Slack's agent experience (``agent_view``) comes with :meth:`~FakeSlack.open_messages_tab`
(``app_home_opened``, tab "messages"), :meth:`~FakeSlack.change_context`
(``app_context_changed``), ``app_context`` on :meth:`~FakeSlack.post_user_message`,
agent sessions (``agents.sessions.setStatus``; a stream opens one, ``chat.stopStream``'s
``session_status`` ends it) and :meth:`~FakeSlack.press_stop` (``agent_session_stopped``,
after Slack itself stopped the app's streams in the thread). ``conversations.info`` and
``conversations.members`` answer from :meth:`~FakeSlack.add_channel`. A user added with
another ``team`` (:meth:`~FakeSlack.add_user`) is a Slack Connect guest: their messages
carry their team as ``team``, ``user_team`` and ``source_team`` and in ``user_profile``,
in events marked ``is_ext_shared_channel``.

Rate limits: :meth:`~FakeSlack.realistic_limits` enforces Slack's published limits
(:mod:`slack_client.limits`, buckets in :mod:`sandbox.rate_limits`) on every Web API call,
per method across the workspace and per channel for the methods that post; a call past
them gets HTTP 429 with ``Retry-After`` and changes nothing. :meth:`~FakeSlack.rate_limit`
and :meth:`~FakeSlack.fail_next` remain for a test that wants one limit or one 429.

Interactivity, as Slack delivers it over Socket Mode (payload shapes from api.slack.com,
checked against what slack-bolt 1.30 reads from them):

* Test-side senders play the user: :meth:`FakeSlack.slash_command` (``slash_commands``
  envelope), :meth:`~FakeSlack.click` (``block_actions`` from a message, an ephemeral
  message, a modal or App Home), :meth:`~FakeSlack.submit_view` (``view_submission``),
  :meth:`~FakeSlack.close_view` (``view_closed``), :meth:`~FakeSlack.message_shortcut`
  (``message_action``), :meth:`~FakeSlack.open_home` (``app_home_opened``) and
  :meth:`~FakeSlack.start_assistant_thread` (``assistant_thread_started``). A user can only
  click what is shown to them: the element must be in the blocks, else AssertionError.
* Every interaction carries a fresh ``trigger_id``: usable once, for
  :attr:`FakeSlack.trigger_ttl` (3) seconds, by views.open / views.push (errors
  ``invalid_trigger_id``, ``exchanged_trigger_id``, ``expired_trigger_id``).
* Commands, message clicks and shortcuts carry a ``response_url`` served by the fake
  (``/response/{id}``, POST JSON, answered ``ok`` as text/plain, at most 5 uses). Each POST
  is recorded in :attr:`FakeSlack.responses`; ephemeral answers (the default) also land in
  :attr:`FakeSlack.ephemerals`, ``in_channel`` ones become bot messages, and
  ``replace_original`` / ``delete_original`` act on the clicked message (own or ephemeral).
* Acks are applied like Slack applies them, if they come within :attr:`FakeSlack.ack_deadline`
  (3) seconds: a slash command's ack text/blocks is shown to the user (ephemeral unless
  ``in_channel``); a view submission's ``response_action`` (``errors`` / ``update`` /
  ``push`` / ``clear``, or nothing: close) changes the modal stack. ``submit_view`` returns
  once that happened.
* Views (``views.open/push/update/publish``) are validated like Slack validates them and kept
  as :class:`View` records: the user's modal stack (:meth:`FakeSlack.open_modals`), App Home
  (:meth:`FakeSlack.home_view`), the state a user entered, the errors shown.
* ``chat.postEphemeral`` is stored as an :class:`Ephemeral` (never in history), and the
  ``assistant.threads.*`` calls as the latest status / title / prompts per thread (a reply
  from the app clears the status, as in Slack). Message blocks are checked too: at most 50,
  each with a ``type``, no ``block_id`` twice (else ``invalid_blocks``).
* A ``block_actions`` payload from an ephemeral message has no ``message`` (Slack does not
  send it back); message blocks without ``block_id`` / ``action_id`` get stable stand-in ids
  in payloads (Slack assigns random ones), while views get real ones when stored.
* :func:`blocks_text` gives what a person reads in blocks, for asserting on what users see.

Simplified on purpose: ephemeral messages are kept (Slack forgets them on reload); response
URLs never expire (Slack: 30 minutes); channel names are made up (``directmessage`` for DMs);
an invalid view is refused before its trigger_id is used up; views.push without an open modal
starts a new stack; external_id is unique among open views only; assistant.threads.* do not
check that the thread exists.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import hashlib
import io
import json
import mimetypes
import re
import secrets
import string
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.typedefs import Handler
from PIL import Image, UnidentifiedImageError
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from sandbox.guard import loopback_only
from sandbox.manifest import METHOD_SCOPES, InstalledApp, check_manifest, event_subscription
from sandbox.rate_limits import RealisticLimits
from slack_client.limits import DEFAULT_LIMIT, METHOD_LIMITS, MethodLimit

__all__ = [
    "ApiCall",
    "Ephemeral",
    "FakeSlack",
    "FileRequest",
    "Message",
    "Response",
    "SuggestedPrompts",
    "Upload",
    "UploadedFile",
    "View",
    "blocks_text",
]

APP_ID = "A0TEST"
SOCKET_HOST = "applink-fake-1"
MAX_MESSAGE_CHARS = 40_000
MAX_STREAM_MARKDOWN_CHARS = 12_000

# Parameters whose values Slack accepts as JSON-encoded strings inside forms and query strings.
# A whitelist, because free-text fields such as ``text`` may legitimately look like JSON.
JSON_ENCODED_PARAMS = frozenset(
    {
        "attachments",
        "blocks",
        "chunks",
        "loading_messages",
        "metadata",
        "prompts",
        "unfurls",
        "user_auth_blocks",
        "view",
    }
)
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
WORKSPACE_URL = "https://test.slack.com/"
TEAM_DOMAIN = "test"
VERIFICATION_TOKEN = "fake-verification-token"
# Slack's limits for interactivity, views and blocks.
TRIGGER_TTL_SECONDS = 3.0
ACK_DEADLINE_SECONDS = 3.0  # later acks are ignored: the user sees an error instead
RESPONSE_URL_USES = 5
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MARKDOWN_BLOCK_CHARS = 12_000  # all markdown blocks of one message together
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
MAX_VIEW_TITLE_CHARS = 24
MAX_PRIVATE_METADATA_CHARS = 3000
MAX_CALLBACK_ID_CHARS = 255
MAX_TEXT_INPUT_LENGTH = 3000
MAX_LABEL_CHARS = 2000
MAX_MODAL_STACK = 3  # a modal plus two pushed views
MAX_LOADING_MESSAGES = 10
MAX_SUGGESTED_PROMPTS = 4
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})
SESSION_STATUSES = frozenset({"active", "processing", "suspended", "closed"})
VIEW_ID_ALPHABET = string.ascii_uppercase + string.digits
BLOCK_ID_ALPHABET = string.ascii_letters + string.digits
# Block elements that carry a value in ``state.values``: the key the value travels under, the
# key of the element's initial value, and how the fake turns a test's value into it.
STATEFUL_ELEMENTS: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "text"),
    "static_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "datepicker": ("selected_date", "initial_date", "plain"),
    "timepicker": ("selected_time", "initial_time", "plain"),
    "users_select": ("selected_user", "initial_user", "plain"),
    "conversations_select": ("selected_conversation", "initial_conversation", "plain"),
    "channels_select": ("selected_channel", "initial_channel", "plain"),
    "multi_users_select": ("selected_users", "initial_users", "list"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", "list"),
    "multi_channels_select": ("selected_channels", "initial_channels", "list"),
}
# Things inside blocks that nobody can click (context images, text objects).
PASSIVE_ELEMENTS = frozenset({"image", "mrkdwn", "plain_text"})
FILE_ID_ALPHABET = string.ascii_uppercase + string.digits
# What Slack's file host answers, with HTTP 200, to a request it does not authorise.
LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Slack</title></head>
<body><h1>Sign in to Test Team</h1>
<form action="/signin" method="post"><input type="email" name="email"></form></body>
</html>
"""
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

ApiMethod = Callable[[dict[str, Any]], dict[str, Any]]


class SlackError(Exception):
    """Raised by Web API method implementations; becomes ``{"ok": false, "error": ...}``.

    ``messages`` become ``response_metadata.messages``, where Slack explains invalid blocks
    and views (``"[ERROR] ... [json-pointer:/view/title/text]"``).
    """

    def __init__(self, error: str, messages: Sequence[str] = ()) -> None:
        super().__init__(error, *messages)
        self.error = error
        self.messages = list(messages)


@dataclass
class ApiCall:
    """One Web API request as the fake received it (``token`` is removed from ``params``)."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float  # time.monotonic(), comparable with FakeSlack.sent_at / FakeSlack.acks
    status: int = 200
    error: str | None = None  # the "error" field of the answer, if it was not ok


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
class _Trigger:
    user: str
    issued: float  # time.monotonic()
    view_id: str | None  # the view the interaction happened in: where views.push stacks
    used: bool = False


@dataclass
class _ResponseUrl:
    """Where a response_url's answers go, and what replace/delete_original act on."""

    user: str
    channel: str
    thread_ts: str | None  # the default thread for its answers
    envelope_id: str = ""  # set before the envelope is sent: the bot may answer at once
    message: tuple[str, str] | None = None  # the clicked or shortcut message (channel, ts)
    ephemeral: Ephemeral | None = None  # the clicked ephemeral message
    uses: int = 0


@dataclass
class _HostedFile:
    id: str
    file: UploadedFile
    user: str
    created: int
    title: str
    alt_txt: str | None = None
    dimensions: tuple[int, int] | None = None


@dataclass
class _PendingUpload:
    file_id: str
    key: str
    filename: str
    length: int
    alt_txt: str | None
    content: bytes | None = None  # None until the bytes are POSTed to the upload URL


@dataclass
class _User:
    id: str
    name: str
    is_bot: bool
    # The user's own team: another organisation's for a Slack Connect guest.
    team: str | None = None


@dataclass
class _Fault:
    status: int
    retry_after: int
    error: str | None


@dataclass
class _RateLimit:
    per_second: float
    burst: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    # Set once the fake has told the client to go away; new envelopes then avoid this socket.
    retiring: bool = False


class FakeSlack:
    """Slack's Web API and Socket Mode, faked in-process. See the module docstring."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._bind_host = "127.0.0.1"
        self._changed = asyncio.Condition()
        # Counts notifications of possible changes (API calls, envelopes, acks, connections,
        # closed views); see wait_change(). Survives reset().
        self.change_count = 0
        # DM channel ids chosen for users (see dm_channel); survives reset().
        self.dm_channels: dict[str, str] = {}
        self._last_ts_micros = 0  # survives reset() so ts values stay unique per fake
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._accepting = True
        self.connection_count = 0  # hello-completed connections since start()
        self._methods: dict[str, ApiMethod] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "conversations.replies": self._conversations_replies,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "assistant.threads.setStatus": self._assistant_set_status,
            "assistant.threads.setTitle": self._assistant_set_title,
            "assistant.threads.setSuggestedPrompts": self._assistant_set_suggested_prompts,
            "agents.sessions.setStatus": self._agents_sessions_set_status,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "reactions.add": self._reactions_add,
        }
        # The installed app (see install()); None: every event and command goes through.
        # Survives reset().
        self.app: InstalledApp | None = None
        self._init_state()

    def install(self, manifest: Mapping[str, Any]) -> InstalledApp:
        """Install the app `manifest` describes, or raise ManifestRejected like Slack.

        From then on only its subscribed events are delivered (the others are recorded
        in :attr:`undelivered`), and people can use only its commands and shortcuts.
        """
        self.app = check_manifest(manifest)
        return self.app

    def _init_state(self) -> None:
        """(Re)create everything a test can observe or configure."""
        self.calls: list[ApiCall] = []
        self.auth_headers_seen: list[tuple[str, str | None]] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.latency: dict[str, float] = {}
        self.rate_limited_count: dict[str, int] = {}
        self.streaming_supported = True
        self.close_streams_after_appends: int | None = None
        self.replies_page_size = 1000
        # Slack repeats the thread parent at the top of every conversations.replies page.
        self.replies_parent_on_every_page = True
        self.envelopes: dict[str, dict[str, Any]] = {}
        self.sent_at: dict[str, float] = {}
        self.acks: dict[str, float] = {}
        self.ack_payloads: dict[str, Any] = {}
        self.event_ids_for_ts: dict[str, list[str]] = {}
        # Envelope ids first delivered for a message ts (redeliver() adds none, so a test can
        # loop over this list while redelivering).
        self.envelopes_for_ts: dict[str, list[str]] = {}
        self._pending: deque[dict[str, Any]] = deque()
        self._faults: dict[str, deque[_Fault]] = {}
        self._rate_limits: dict[str, _RateLimit] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        # Slack's published limits, when a test turned them on (see realistic_limits).
        self._realistic: RealisticLimits | None = None
        self._stream_appends: dict[tuple[str, str], int] = {}
        self._users: dict[str, _User] = {
            self.bot_user_id: _User(self.bot_user_id, "assistant", is_bot=True)
        }
        self.file_requests: list[FileRequest] = []
        self.file_latency = 0.0  # seconds before answering each file request
        self.uploads: list[Upload] = []
        self._files: dict[str, _HostedFile] = {}
        self._pending_uploads: dict[str, _PendingUpload] = {}  # by file id
        self._file_faults: deque[int] = deque()
        # Interactivity: what users saw privately, the views they have, the assistant panel.
        self.ephemerals: list[Ephemeral] = []
        self.responses: dict[str, list[Response]] = {}  # by the interaction's envelope id
        self.views: dict[str, View] = {}  # oldest first
        self.assistant_status: dict[tuple[str, str], str] = {}  # (channel, thread_ts)
        self.assistant_status_history: dict[tuple[str, str], list[str]] = {}
        self.assistant_titles: dict[tuple[str, str], str] = {}
        self.suggested_prompts: dict[tuple[str, str], SuggestedPrompts] = {}
        # Agent sessions (agents.sessions.setStatus, streams) by (channel, thread_ts).
        self.sessions: dict[tuple[str, str], str] = {}
        # Events the installed app is not subscribed to, which Slack does not send.
        self.undelivered: list[dict[str, Any]] = []
        # Who is in which conversation, and which are private (see add_channel).
        self.channel_members: dict[str, set[str]] = {}
        self.private_channels: set[str] = set()
        self.channel_names: dict[str, str] = {}  # shown in payloads; made up when missing
        self.trigger_ttl = TRIGGER_TTL_SECONDS
        self.ack_deadline = ACK_DEADLINE_SECONDS
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}  # by the id in the URL
        # What users chose in messages' selects and checkboxes, by (channel, ts).
        self._message_states: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        # Acks Slack would not have applied (too late, or a payload it refuses), by envelope
        # id, with the reason: the user would have seen an error instead.
        self.ack_problems: dict[str, str] = {}

    def reset(self) -> None:
        """Forget messages, calls, envelopes and faults; live connections stay up."""
        self._init_state()

    # ------------------------------------------------------------------ lifecycle

    async def start(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        setup: Callable[[web.Application], None] | None = None,
    ) -> None:
        """Serve on ``host``:``port`` (0: any free port).

        ``setup`` may add routes (or anything else) to the aiohttp Application before the
        server starts, e.g. ``sandbox.page.add_page``.
        """
        self._accepting = True
        # The guard first: a request it refuses reaches nothing, not even the records.
        app = web.Application(
            middlewares=[loopback_only, self._observe_request], client_max_size=16 * 2**20
        )
        app.router.add_get("/api/{method}", self._handle_api)
        app.router.add_post("/api/{method}", self._handle_api)
        app.router.add_get("/socket-mode", self._handle_socket)
        # Registered before the plain form, which would also match "download/<name>".
        app.router.add_get("/files-pri/{team_file}/download/{name:.+}", self._handle_download)
        app.router.add_get("/files-pri/{team_file}/{name:.+}", self._handle_file)
        app.router.add_post("/upload/v1/{key}", self._handle_upload)
        app.router.add_post("/response/{id}", self._handle_response_url)
        if setup is not None:
            setup(app)
        # A short shutdown timeout so stop() is not held up by requests sleeping in latency.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=4096)
        await site.start()
        self._bind_host = host
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        # Refuse new sockets first, or clients would reconnect while we close the old ones.
        self._accepting = False
        await self._close_all(list(self._connections), b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack.start() has not been awaited")
        return self._port

    @property
    def base_url(self) -> str:
        """The server's root; the Web API, file host and upload URLs all live below it."""
        return f"http://{self._url_host}:{self.port}"

    @property
    def _url_host(self) -> str:
        """Where clients reach the server: loopback when it listens on every address."""
        if self._bind_host in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{self._bind_host}]" if ":" in self._bind_host else self._bind_host

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        retry_after: int = 1,
        count: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail without touching state.

        Default is HTTP 429; with ``error`` alone it is HTTP 200 ``{"ok": false, "error": ...}``.
        """
        resolved = status if status is not None else (200 if error is not None else 429)
        faults = self._faults.setdefault(method, deque())
        faults.extend(_Fault(resolved, retry_after, error) for _ in range(count))

    def clear_faults(self, method: str) -> None:
        """Drop the failures still queued for ``method`` by fail_next."""
        self._faults.pop(method, None)

    def fail_next_file(self, status: int, count: int = 1) -> None:
        """Make the next ``count`` hosted-file requests answer HTTP ``status`` (before auth)."""
        self._file_faults.extend([status] * count)

    def rate_limit(self, method: str, *, per_channel_per_second: float, burst: int = 1) -> None:
        """Enforce a token bucket per (method, channel); excess calls get 429 Retry-After: 1.

        A rate of 0 (or less) removes the limit for ``method``.
        """
        for key in [k for k in self._buckets if k[0] == method]:
            del self._buckets[key]  # a new limit starts with full buckets
        if per_channel_per_second <= 0:
            self._rate_limits.pop(method, None)
        else:
            self._rate_limits[method] = _RateLimit(per_channel_per_second, burst)

    def realistic_limits(
        self,
        limits: Mapping[str, MethodLimit] | None = METHOD_LIMITS,
        *,
        default: MethodLimit | None = DEFAULT_LIMIT,
    ) -> None:
        """Limit every Web API call like Slack does, with ``limits`` by method.

        Each call draws from its method's bucket across the workspace and, for a method
        with a ``channel_budget``, from that budget's bucket in the call's channel (shared
        by the methods naming the same budget). Past a limit: HTTP 429 with Retry-After,
        and nothing changes. ``default`` limits the methods the table leaves out (None:
        they are unlimited). ``limits=None`` turns the mode off and forgets the buckets.
        Works alongside :meth:`rate_limit`.
        """
        self._realistic = None if limits is None else RealisticLimits(limits, default)

    def rate_limited_total(self) -> int:
        """How many calls were answered 429, whichever limit or fault refused them."""
        return sum(self.rate_limited_count.values())

    # ------------------------------------------------------------------ HTTP plumbing

    @web.middleware
    async def _observe_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Every path, including the WebSocket upgrade, so tests can see where tokens went.
        self.auth_headers_seen.append((request.path, request.headers.get("Authorization")))
        return await handler(request)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        call = ApiCall(request.match_info["method"], {}, None, time.monotonic())
        self.calls.append(call)
        try:
            call.params = await _read_params(request)
        except SlackError as exc:
            return self._refuse(call, exc.error)
        call.token = _bearer_token(request.headers.get("Authorization")) or _pop_token(call.params)
        await self._notify()  # lets tests observe calls that are still in flight
        delay = self.latency.get(call.method, 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        response = self._answer(call)
        await self._notify()
        return response

    def _answer(self, call: ApiCall) -> web.Response:
        implementation = self._methods.get(call.method)
        if implementation is None:
            return self._refuse(call, "unknown_method")
        auth_error = self._auth_error(call)
        if auth_error is not None:
            return self._refuse(call, auth_error)
        needed = METHOD_SCOPES.get(call.method)
        if self.app is not None and needed is not None and needed not in self.app.scopes:
            call.error = "missing_scope"
            provided = ",".join(sorted(self.app.scopes))
            body = {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
            return web.json_response(body)
        injected = self._injected_failure(call)
        if injected is not None:
            return injected
        try:
            body = implementation(call.params)
        except SlackError as exc:
            return self._refuse(call, exc.error, exc.messages)
        return web.json_response({"ok": True, **body})

    def _auth_error(self, call: ApiCall) -> str | None:
        if not call.token:
            return "not_authed"
        expected = self.app_token if call.method == "apps.connections.open" else self.bot_token
        if call.token == expected:
            return None
        if call.token in (self.app_token, self.bot_token):
            return "not_allowed_token_type"  # what Slack says for a valid token of the wrong kind
        return "invalid_auth"

    def _injected_failure(self, call: ApiCall) -> web.Response | None:
        faults = self._faults.get(call.method)
        if faults:
            return self._fault_response(call, faults.popleft())
        # The realistic limits are only checked before rate_limit()'s bucket takes its
        # token, and drawn from after, so that a call either limit refuses takes nothing.
        now = time.monotonic()
        channel = _channel_param(call.params)
        # The Socket Mode client opens connections with the app token: not a bot's call.
        realistic = None if call.method == "apps.connections.open" else self._realistic
        if realistic is not None:
            wait = realistic.wait(call.method, channel, now)
            if wait > 0:
                return self._fault_response(call, _Fault(429, realistic.retry_after(wait), None))
        if not self._take_rate_token(call):
            return self._fault_response(call, _Fault(429, 1, None))
        if realistic is not None:
            realistic.take(call.method, channel, now)
        return None

    def _take_rate_token(self, call: ApiCall) -> bool:
        limit = self._rate_limits.get(call.method)
        if limit is None:
            return True
        now = time.monotonic()
        key = (call.method, _channel_param(call.params))
        bucket = self._buckets.setdefault(key, _Bucket(tokens=float(limit.burst), updated=now))
        refill = (now - bucket.updated) * limit.per_second
        bucket.tokens = min(float(limit.burst), bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _fault_response(self, call: ApiCall, fault: _Fault) -> web.Response:
        if fault.status == 200:
            return self._refuse(call, fault.error or "internal_error")
        call.status = fault.status
        if fault.status == 429:
            call.error = "ratelimited"
            self.rate_limited_count[call.method] = self.rate_limited_count.get(call.method, 0) + 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        # Slack's load balancers answer 5xx with a non-JSON body.
        return web.Response(status=fault.status, text=f"fake upstream error {fault.status}")

    @staticmethod
    def _refuse(call: ApiCall, error: str, messages: Sequence[str] = ()) -> web.Response:
        call.error = error
        body: dict[str, Any] = {"ok": False, "error": error}
        if messages:
            body["response_metadata"] = {"messages": list(messages)}
        return web.json_response(body)

    # ------------------------------------------------------------------ file host

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_file(request, download=False)

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_file(request, download=True)

    async def _serve_file(self, request: web.Request, *, download: bool) -> web.StreamResponse:
        team, _, file_id = request.match_info["team_file"].partition("-")
        token = _bearer_token(request.headers.get("Authorization"))
        record = FileRequest(file_id, token == self.bot_token, token, time.monotonic(), download)
        self.file_requests.append(record)
        await self._notify()
        if self.file_latency > 0:
            await asyncio.sleep(self.file_latency)
        response = self._file_response(record, team)
        record.status = response.status
        await self._notify()
        return response

    def _file_response(self, record: FileRequest, team: str) -> web.Response:
        if self._file_faults:
            status = self._file_faults.popleft()
            headers = {"Retry-After": "1"} if status == 429 else None
            return web.Response(status=status, text=f"fake file host {status}", headers=headers)
        if not record.authorized:
            # The classic trap: no (or a wrong) token is not a 401 but a login page.
            return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
        hosted = self._files.get(record.file_id)
        if hosted is None or team != self.team_id:
            return web.Response(status=404, text="file not found")
        mimetype = hosted.file.mimetype or "application/octet-stream"
        return web.Response(body=hosted.file.content, headers={"Content-Type": mimetype})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """The pre-signed upload URL: no token needed, raw bytes or a multipart file."""
        pending = next(
            (p for p in self._pending_uploads.values() if p.key == request.match_info["key"]),
            None,
        )
        if pending is None:
            return web.Response(status=404, text="upload not found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            parts = [v.file.read() for v in form.values() if isinstance(v, web.FileField)]
            if not parts:
                return web.Response(status=400, text="no file in the form")
            content = parts[0]
        else:
            content = await request.read()
        pending.content = content
        await self._notify()
        return web.Response(text=f"OK - {len(content)}")  # text/plain, as Slack answers

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://test.slack.com/",
            "team": "Test Team",
            "user": "assistant",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://{self._url_host}:{self.port}/socket-mode?ticket={ticket}"}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        if channel[:1] in ("U", "W"):  # a user id: Slack posts in the app's DM with them
            channel = self.dm_channel(channel)
        text = _str_param(params, "text") or ""
        blocks = _blocks_param(params)
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        _check_length(text, MAX_MESSAGE_CHARS)
        thread_ts = _str_param(params, "thread_ts")
        self._clear_assistant_status(channel, thread_ts)
        message = self._store(
            Message(
                channel=channel,
                ts=self._next_ts(),
                text=text,
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=thread_ts,
                blocks=blocks,
            )
        )
        return {"channel": channel, "ts": message.ts, "message": self._message_dict(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "cant_update_message")
        text = _str_param(params, "text")
        blocks = _blocks_param(params)
        if text is None and blocks is None:
            raise SlackError("no_text")
        if text is not None:
            _check_length(text, MAX_MESSAGE_CHARS)
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.versions.append(message.text)
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_dict(message),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "cant_delete_message")
        del self.messages[(message.channel, message.ts)]
        return {"channel": message.channel, "ts": message.ts}

    def _chat_start_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        channel = _require_channel(params)
        thread_ts = _str_param(params, "thread_ts")
        has_recipient = bool(params.get("recipient_user_id") and params.get("recipient_team_id"))
        if thread_ts is None or (not channel.startswith("D") and not has_recipient):
            raise SlackError("invalid_arguments")
        markdown = _stream_markdown(params)
        tasks = _stream_tasks(params)
        self._clear_assistant_status(channel, thread_ts)
        if self.app is not None and self.app.experience == "agent":
            # Streams take part in agent sessions: the person sees a stop button.
            self.sessions[(channel, thread_ts)] = "processing"
        message = self._store(
            Message(
                channel=channel,
                ts=self._next_ts(),
                text=markdown,
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=thread_ts,
                streaming=True,
                tasks=tasks,
                task_updates=list(tasks.values()),
            )
        )
        return {"channel": channel, "ts": message.ts}

    def _chat_append_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        message = self._streaming_message(params)
        self._append_text(message, _stream_markdown(params))
        self._update_tasks(message, _stream_tasks(params))
        self._count_append(message)
        return {"channel": message.channel, "ts": message.ts}

    def _chat_stop_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_streaming()
        message = self._streaming_message(params)
        markdown = _stream_markdown(params)
        self._update_tasks(message, _stream_tasks(params))
        blocks = _blocks_param(params)
        if blocks is not None:
            message.blocks = blocks
        message.streaming = False
        self._append_text(message, markdown)
        self._end_session(message, _str_param(params, "session_status") or "active")
        return {
            "channel": message.channel,
            "ts": message.ts,
            "message": self._message_dict(message),
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        self._readable(channel)
        ts = _str_param(params, "ts")
        if ts is None:
            raise SlackError("invalid_arguments")
        head = self.messages.get((channel, ts))
        if head is None:
            raise SlackError("thread_not_found")
        if head.is_reply:  # asking for a reply's ts returns just that reply
            return {"messages": [self._message_dict(head)], "has_more": False}
        replies = self.thread_messages(channel, ts)
        size = min(_int_param(params, "limit") or 1000, self.replies_page_size)
        if self.replies_parent_on_every_page:
            prefix, items, size = [head], replies, max(1, size - 1)
        else:
            prefix, items = [], [head, *replies]
        start = _page_start(items, _str_param(params, "cursor"), ascending=True)
        page = prefix + items[start : start + size]
        return self._page_body(page, items, start + size)

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        self._readable(channel)
        oldest = float(_str_param(params, "oldest") or 0)
        top_level = [
            m for m in self._sorted_messages(channel) if not m.is_reply and float(m.ts) > oldest
        ]
        items = list(reversed(top_level))  # newest first, as Slack returns history
        size = max(1, min(_int_param(params, "limit") or 100, 1000))
        start = _page_start(items, _str_param(params, "cursor"), ascending=False)
        return self._page_body(items[start : start + size], items, start + size)

    def _page_body(self, page: list[Message], items: list[Message], end: int) -> dict[str, Any]:
        has_more = end < len(items)
        next_cursor = _encode_cursor(items[end].ts) if has_more else ""
        return {
            "messages": [self._message_dict(m) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(_str_param(params, "user") or "")
        if user is None:
            raise SlackError("user_not_found")
        team = user.team or self.team_id
        profile = {"display_name": user.name, "real_name": user.name, "team": team}
        return {
            "user": {
                "id": user.id,
                "team_id": team,
                "name": user.name,
                "real_name": user.name,
                "deleted": False,
                "tz": "UTC",
                "profile": profile,
                "is_bot": user.is_bot,
                "is_app_user": False,
            }
        }

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = _str_param(params, "filename")
        length = _int_param(params, "length")
        if filename is None or length is None:
            raise SlackError("invalid_arguments")
        file_id = self._new_file_id()
        key = secrets.token_urlsafe(24)
        alt_txt = _str_param(params, "alt_txt")
        self._pending_uploads[file_id] = _PendingUpload(file_id, key, filename, length, alt_txt)
        return {"upload_url": f"{self.base_url}/upload/v1/{key}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _file_entries(params.get("files"))
        channel_id = _str_param(params, "channel_id")
        channels = [channel_id] if channel_id else _csv_param(params, "channels")
        thread_ts = _str_param(params, "thread_ts")
        if thread_ts is not None and not channels:
            raise SlackError("invalid_arguments")
        comment = _str_param(params, "initial_comment")
        _check_length(comment or "", MAX_MESSAGE_CHARS)
        pendings = [self._pending_uploads.get(str(entry["id"])) for entry in entries]
        ready = [p for p in pendings if p is not None and p.content is not None]
        if len(ready) != len(entries):  # unknown, already completed or never uploaded
            raise SlackError("file_not_found")
        hosted: list[_HostedFile] = []
        for entry, pending in zip(entries, ready, strict=True):
            del self._pending_uploads[pending.file_id]
            mimetype = mimetypes.guess_type(pending.filename)[0] or "application/octet-stream"
            shared = UploadedFile(pending.filename, mimetype, pending.content or b"")
            title = entry.get("title")
            alt_txt = entry.get("alt_txt") or pending.alt_txt
            hosted.append(
                self._host(
                    shared,
                    self.bot_user_id,
                    file_id=pending.file_id,
                    title=title if isinstance(title, str) and title else None,
                    alt_txt=alt_txt if isinstance(alt_txt, str) else None,
                )
            )
        targets: list[str | None] = [*channels] or [None]
        for channel in targets:
            ts = None
            if channel is not None:  # one message shares all the files, like Slack's
                ts = self._store(
                    Message(
                        channel=channel,
                        ts=self._next_ts(),
                        text=comment or "",
                        user=self.bot_user_id,
                        bot_id=self.bot_id,
                        thread_ts=thread_ts,
                        file_ids=[h.id for h in hosted],
                    )
                ).ts
            self.uploads.extend(
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
        return {"files": [self._file_object(h) for h in hosted]}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hosted = self._files.get(_str_param(params, "file") or "")
        if hosted is None:
            raise SlackError("file_not_found")
        return {"file": self._file_object(hosted)}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        user = _str_param(params, "user")
        if user is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: user"])
        text = _str_param(params, "text") or ""
        blocks = _blocks_param(params)
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        _check_length(text, MAX_MESSAGE_CHARS)
        ephemeral = self._add_ephemeral(
            channel, user, text, blocks, _str_param(params, "thread_ts"), "chat.postEphemeral"
        )
        return {"message_ts": ephemeral.message_ts}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        name = _str_param(params, "name")
        if not name or ":" in name:
            raise SlackError("invalid_name")  # Slack wants the bare name: "tada", not ":tada:"
        message = self.messages.get((channel, _str_param(params, "timestamp") or ""))
        if message is None:
            raise SlackError("message_not_found")
        reacted = message.reactions.setdefault(name, [])
        if self.bot_user_id in reacted:
            raise SlackError("already_reacted")
        reacted.append(self.bot_user_id)
        return {}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        spec = checked_view(params, "modal")
        self._check_external_id(spec)
        trigger = self._exchange_trigger(params)
        return {"view": self._view_dict(self._add_view(trigger.user, spec))}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        spec = checked_view(params, "modal")
        self._check_external_id(spec)
        trigger = self._exchange_trigger(params)
        stack = self.open_modals(trigger.user)
        if len(stack) >= MAX_MODAL_STACK:
            raise SlackError("push_limit_reached")
        # Onto the modal the interaction happened in; Slack requires one, the fake opens a
        # new stack without (a simplification).
        below = stack[-1] if stack else None
        return {"view": self._view_dict(self._add_view(trigger.user, spec, below=below))}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = _str_param(params, "view_id")
        external_id = _str_param(params, "external_id")
        if view_id is None and external_id is None:
            raise SlackError("invalid_arguments", ["[ERROR] view_id or external_id required"])
        if view_id is not None:
            view = self.views.get(view_id)
        else:
            view = next((v for v in self._live_views() if v.external_id == external_id), None)
        if view is None or view.closed:
            raise SlackError("not_found")
        spec = checked_view(params, view.type)
        self._check_external_id(spec, allowed=view)
        expected = _str_param(params, "hash")
        if expected is not None and expected != view.hash:
            raise SlackError("hash_conflict")
        self._update_view(view, spec)
        return {"view": self._view_dict(view)}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = _str_param(params, "user_id")
        if user is None:
            raise SlackError("invalid_arguments", ["[ERROR] invalid `user_id`"])
        spec = checked_view(params, "home")
        home = self.home_view(user)
        self._check_external_id(spec, allowed=home)
        expected = _str_param(params, "hash")
        if home is not None and expected is not None and expected != home.hash:
            raise SlackError("hash_conflict")
        if home is None:
            home = self._add_view(user, spec)
        else:
            self._update_view(home, spec)
        return {"view": self._view_dict(home)}

    def _assistant_set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        key = _thread_key(params)
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
        self.assistant_status[key] = status
        self.assistant_status_history.setdefault(key, []).append(status)
        return {}

    def _agents_sessions_set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        key = _thread_key(params)
        status = _str_param(params, "status")
        if status not in SESSION_STATUSES:
            raise SlackError("invalid_arguments", ["[ERROR] invalid `status`"])
        if self.app is not None and self.app.experience != "agent":
            raise SlackError("not_allowed_token_type")
        self.sessions[key] = status
        if self.app is not None and "agent_session_stopped" not in self.app.events:
            return {"warning": "missing_agent_session_stopped_event_subscription"}
        return {}

    def _end_session(self, message: Message, status: str) -> None:
        if status not in SESSION_STATUSES:
            raise SlackError("invalid_arguments", ["[ERROR] invalid `session_status`"])
        key = (message.channel, message.thread_ts or message.ts)
        if key in self.sessions:
            self.sessions[key] = status

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        if channel in self.private_channels:
            self._readable(channel)
        kind = _channel_type(channel)
        found: dict[str, Any] = {
            "id": channel,
            "name": self._channel_name(channel),
            "is_channel": kind == "channel",
            "is_im": kind == "im",
            "is_private": kind == "im" or channel in self.private_channels,
            "is_member": self.bot_user_id in self._members(channel),
        }
        if kind == "im":
            people = {*self._users, *(m.user for m in self.messages.values() if m.user)}
            owners = [u for u in people if self.dm_channel(u) == channel]
            found["user"] = owners[0] if owners else ""
        return {"channel": found}

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require_channel(params)
        members = sorted(self._members(channel))
        size = max(1, min(_int_param(params, "limit") or 100, 1000))
        cursor = _str_param(params, "cursor")
        start = int(cursor) if cursor and cursor.isdigit() else 0
        end = start + size
        return {
            "members": members[start:end],
            "response_metadata": {"next_cursor": str(end) if end < len(members) else ""},
        }

    def _members(self, channel: str) -> set[str]:
        """Who is in `channel`: as set by add_channel, else whoever wrote there, and the bot."""
        known = self.channel_members.get(channel)
        if known is not None:
            return set(known)
        return {m.user for m in self._sorted_messages(channel) if m.user} | {self.bot_user_id}

    def _readable(self, channel: str) -> None:
        """Raise like Slack when the bot is not in `channel`."""
        if self.bot_user_id in self._members(channel):
            return
        raise SlackError(
            "channel_not_found" if channel in self.private_channels else "not_in_channel"
        )

    def _assistant_set_title(self, params: dict[str, Any]) -> dict[str, Any]:
        key = _thread_key(params)
        title = _str_param(params, "title")
        if title is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: title"])
        self.assistant_titles[key] = title
        return {}

    def _assistant_set_suggested_prompts(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _str_param(params, "channel_id")
        if channel is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: channel_id"])
        prompts = params.get("prompts")
        if (
            not isinstance(prompts, list)
            or not 1 <= len(prompts) <= MAX_SUGGESTED_PROMPTS
            or not all(_is_prompt(p) for p in prompts)
        ):
            raise SlackError("invalid_arguments", ["[ERROR] invalid `prompts`"])
        if self.app is not None and self.app.experience == "agent":
            # Agent apps pin prompts to the Messages tab; Slack silently drops the call
            # when it names a thread.
            if _str_param(params, "thread_ts") is None:
                self.suggested_prompts[(channel, "")] = SuggestedPrompts(
                    prompts, _str_param(params, "title")
                )
            return {}
        # Without thread_ts Slack picks the latest message in the channel.
        top = [m.ts for m in self._sorted_messages(channel) if not m.is_reply]
        thread_ts = _str_param(params, "thread_ts") or (top[-1] if top else "")
        title = _str_param(params, "title")
        self.suggested_prompts[(channel, thread_ts)] = SuggestedPrompts(prompts, title)
        return {}

    # ------------------------------------------------------------------ Web API helpers

    def _next_ts(self) -> str:
        # Wall-clock based (bots may compare ts with time.time()) but strictly increasing.
        micros = max(time.time_ns() // 1000, self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _store(self, message: Message) -> Message:
        message.versions.append(message.text)
        self.messages[(message.channel, message.ts)] = message
        return message

    def _find_message(self, params: dict[str, Any]) -> Message:
        channel = _require_channel(params)
        message = self.messages.get((channel, _str_param(params, "ts") or ""))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _own_message(self, params: dict[str, Any], error: str) -> Message:
        message = self._find_message(params)
        if message.bot_id != self.bot_id:
            raise SlackError(error)
        return message

    def _require_streaming(self) -> None:
        if not self.streaming_supported:
            raise SlackError("unknown_method")

    def _streaming_message(self, params: dict[str, Any]) -> Message:
        message = self._find_message(params)
        if not message.streaming:
            raise SlackError("message_not_in_streaming_state")
        return message

    @staticmethod
    def _append_text(message: Message, markdown: str) -> None:
        message.text += markdown
        message.versions.append(message.text)

    @staticmethod
    def _update_tasks(message: Message, tasks: dict[str, dict[str, Any]]) -> None:
        message.tasks.update(tasks)
        message.task_updates += tasks.values()

    def _count_append(self, message: Message) -> None:
        key = (message.channel, message.ts)
        self._stream_appends[key] = self._stream_appends.get(key, 0) + 1
        limit = self.close_streams_after_appends
        if limit is not None and self._stream_appends[key] >= limit:
            message.streaming = False  # Slack expiring the stream on its side

    def _new_file_id(self) -> str:
        while True:
            file_id = "F" + "".join(secrets.choice(FILE_ID_ALPHABET) for _ in range(10))
            if file_id not in self._files and file_id not in self._pending_uploads:
                return file_id

    def _host(
        self,
        file: UploadedFile,
        user: str,
        *,
        file_id: str | None = None,
        title: str | None = None,
        alt_txt: str | None = None,
    ) -> _HostedFile:
        hosted = _HostedFile(
            id=file_id or self._new_file_id(),
            file=file,
            user=user,
            created=int(time.time()),
            title=title or file.name,
            alt_txt=alt_txt,
            dimensions=_image_size(file),
        )
        self._files[hosted.id] = hosted
        return hosted

    def _file_object(self, hosted: _HostedFile) -> dict[str, Any]:
        """A file the way Slack shows it in messages, events and files.* answers."""
        file = hosted.file
        name = quote(file.name)
        base = f"{self.base_url}/files-pri/{self.team_id}-{hosted.id}"
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
            "user_team": self.team_id,
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

    def _sorted_messages(self, channel: str) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.channel == channel), key=_ts_key)

    def _message_dict(self, message: Message) -> dict[str, Any]:
        """Render a stored message the way Slack's APIs and events show it."""
        rendered: dict[str, Any] = {"type": "message", "text": message.text, "ts": message.ts}
        if message.subtype is not None:
            rendered["subtype"] = message.subtype
        if message.user is not None:
            rendered["user"] = message.user
        if message.bot_id is not None:
            rendered.update(self._bot_fields(message.bot_id))
        if message.client_msg_id is not None:
            rendered["client_msg_id"] = message.client_msg_id
        if message.blocks is not None:
            rendered["blocks"] = message.blocks
        if message.file_ids:
            rendered["files"] = [
                self._file_object(self._files[f]) for f in message.file_ids if f in self._files
            ]
            rendered["upload"] = True
        rendered["team"] = self.team_id
        rendered.update(self._external_author(message.user))
        rendered.update(self._thread_fields(message))
        return rendered

    def _external_author(self, user: str | None) -> dict[str, Any]:
        """How Slack Connect marks a message by someone of another organisation: their
        team as `team`, `user_team` and `source_team`, and a `user_profile` naming it."""
        known = self._users.get(user or "")
        if known is None or known.team is None or known.team == self.team_id:
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

    def _bot_fields(self, bot_id: str) -> dict[str, Any]:
        own = bot_id == self.bot_id
        app_id = APP_ID if own else "A0OTHER"
        profile = {
            "id": bot_id,
            "app_id": app_id,
            "name": "assistant" if own else bot_id.lower(),
            "team_id": self.team_id,
            "deleted": False,
            "icons": {},
        }
        return {"bot_id": bot_id, "app_id": app_id, "bot_profile": profile}

    def _thread_fields(self, message: Message) -> dict[str, Any]:
        if message.is_reply:
            parent = self.messages.get((message.channel, message.thread_ts or ""))
            fields: dict[str, Any] = {"thread_ts": message.thread_ts}
            if parent is not None and parent.user is not None:
                fields["parent_user_id"] = parent.user
            return fields
        replies = self.thread_messages(message.channel, message.ts)
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

    # ------------------------------------------------------------------ views and replies

    def _clear_assistant_status(self, channel: str, thread_ts: str | None) -> None:
        # Slack clears an assistant thread's status as soon as the app replies in it.
        key = (channel, thread_ts or "")
        if self.assistant_status.get(key):
            self.assistant_status[key] = ""

    def _add_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[Any] | None,
        thread_ts: str | None,
        via: str,
    ) -> Ephemeral:
        ephemeral = Ephemeral(channel, user, text, blocks, thread_ts, self._next_ts(), via)
        ephemeral.versions.append(text)
        self.ephemerals.append(ephemeral)
        return ephemeral

    def _issue_trigger(self, user: str, view_id: str | None = None) -> str:
        trigger_id = (
            f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        )
        self._triggers[trigger_id] = _Trigger(user, time.monotonic(), view_id)
        return trigger_id

    def _exchange_trigger(self, params: dict[str, Any]) -> _Trigger:
        trigger_id = _str_param(params, "trigger_id") or _str_param(params, "interactivity_pointer")
        if trigger_id is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _response_url(self, target: _ResponseUrl) -> str:
        key = secrets.token_urlsafe(18)
        self._response_urls[key] = target
        return f"{self.base_url}/response/{key}"

    def _live_views(self) -> list[View]:
        return [v for v in self.views.values() if not v.closed]

    def _check_external_id(self, spec: dict[str, Any], allowed: View | None = None) -> None:
        external_id = spec.get("external_id") or ""
        for view in self._live_views():
            if external_id and view.external_id == external_id and view is not allowed:
                raise SlackError("duplicate_external_id")

    def _add_view(self, user: str, spec: dict[str, Any], *, below: View | None = None) -> View:
        while True:
            view_id = "V" + "".join(secrets.choice(VIEW_ID_ALPHABET) for _ in range(10))
            if view_id not in self.views:
                break
        view = View(
            id=view_id,
            type=str(spec["type"]),
            user=user,
            callback_id="",
            private_metadata="",
            title=None,
            submit=None,
            blocks=[],
            hash="",
            root_view_id=below.root_view_id if below is not None else view_id,
            previous_view_id=below.id if below is not None else None,
        )
        _apply_spec(view, spec)
        self.views[view_id] = view
        return view

    @staticmethod
    def _update_view(view: View, spec: dict[str, Any]) -> None:
        view.versions.append(view.blocks)
        _apply_spec(view, spec)
        view.errors = None
        # Like Slack, keep what the user entered in elements the new view still has.
        kept = {(block_id, action_id) for block_id, action_id, _, _ in _elements(view.blocks)}
        view.state_values = {
            block_id: {a: entry for a, entry in entries.items() if (block_id, a) in kept}
            for block_id, entries in view.state_values.items()
        }

    def _view_dict(self, view: View) -> dict[str, Any]:
        """A view the way views.* answers and interaction payloads show it."""
        rendered: dict[str, Any] = {
            "id": view.id,
            "team_id": self.team_id,
            "type": view.type,
            "blocks": view.blocks,
            "private_metadata": view.private_metadata,
            "callback_id": view.callback_id,
            "state": {"values": _state_values(view.blocks, view.state_values)},
            "hash": view.hash,
            "clear_on_close": view.clear_on_close,
            "notify_on_close": view.notify_on_close,
            "close": view.close,
            "submit": view.submit,
            "previous_view_id": view.previous_view_id,
            "root_view_id": view.root_view_id,
            "app_id": APP_ID,
            "external_id": view.external_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if view.title is not None:
            rendered["title"] = view.title
        return rendered

    def _visible_view(self, user: str, view_id: str) -> View:
        """The view a user is looking at; AssertionError if they cannot see it."""
        view = self.views.get(view_id)
        if view is None or view.closed:
            raise AssertionError(f"view {view_id} is not open")
        if view.user != user:
            raise AssertionError(f"view {view_id} is shown to {view.user}, not to {user}")
        stack = self.open_modals(user)
        if view.type == "modal" and stack[-1] is not view:
            raise AssertionError(f"view {view_id} is covered by the pushed view {stack[-1].id}")
        return view

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        """A response_url: POST JSON, like Slack's hooks.slack.com/commands|actions/... URLs."""
        target = self._response_urls.get(request.match_info["id"])
        if target is None:
            return web.Response(status=404, text="no_service")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        if target.uses >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            response = self._reply(target, body, "response_url")
        except SlackError as exc:
            return web.Response(status=400, text=exc.error)
        target.uses += 1
        self.responses.setdefault(target.envelope_id, []).append(response)
        await self._notify()
        return web.Response(text="ok")  # text/plain, as Slack answers

    def _reply(self, target: _ResponseUrl, body: dict[str, Any], via: str) -> Response:
        """Show an answer to an interaction (a response_url POST or an ack) as Slack would."""
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise SlackError("invalid_payload")
        blocks = body.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackError("invalid_blocks")
            check_message_blocks(blocks)
        response_type = body.get("response_type") or "ephemeral"
        if response_type not in ("ephemeral", "in_channel"):
            raise SlackError("invalid_payload")
        replace = _truthy(body.get("replace_original"))
        delete = _truthy(body.get("delete_original"))
        thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
        if not delete and not text and not blocks and not body.get("attachments"):
            raise SlackError("no_text")
        _check_length(text or "", MAX_MESSAGE_CHARS)
        where = thread_ts or target.thread_ts
        if (replace or delete) and (target.message or target.ephemeral):
            self._change_original(target, text or "", blocks, delete=delete)
        elif response_type == "in_channel":
            self._clear_assistant_status(target.channel, where)
            self._store(
                Message(
                    channel=target.channel,
                    ts=self._next_ts(),
                    text=text or "",
                    user=self.bot_user_id,
                    bot_id=self.bot_id,
                    thread_ts=where,
                    blocks=blocks,
                )
            )
        else:
            self._add_ephemeral(target.channel, target.user, text or "", blocks, where, via)
        return Response(
            text=text or "",
            blocks=blocks,
            response_type=response_type,
            replace_original=replace,
            delete_original=delete,
            thread_ts=thread_ts,
            channel=target.channel,
            user=target.user,
            unfurl_links=_flag(body.get("unfurl_links")),
            unfurl_media=_flag(body.get("unfurl_media")),
        )

    def _change_original(
        self, target: _ResponseUrl, text: str, blocks: list[Any] | None, *, delete: bool
    ) -> None:
        if target.ephemeral is not None:
            ephemeral = target.ephemeral
            if ephemeral.deleted:
                raise SlackError("message_not_found")
            if delete:
                ephemeral.deleted = True
            else:
                ephemeral.text, ephemeral.blocks = text, blocks
                ephemeral.versions.append(text)
            return
        assert target.message is not None
        message = self.messages.get(target.message)
        if message is None:
            raise SlackError("message_not_found")
        if message.bot_id != self.bot_id:
            raise SlackError("cant_update_message")  # only the app's own messages
        if delete:
            del self.messages[target.message]
        else:
            # The new content replaces the old entirely: no blocks given means none left.
            message.text, message.blocks = text, blocks
            message.versions.append(text)

    def _apply_ack(self, envelope_id: str, payload: Any) -> None:
        """Do what Slack does with an interaction's ack payload (called for the first ack)."""
        envelope = self.envelopes.get(envelope_id)
        if envelope is None or envelope["type"] == "events_api":
            return
        body = envelope["payload"]
        waited = self.acks[envelope_id] - self.sent_at.get(envelope_id, self.acks[envelope_id])
        if waited > self.ack_deadline:
            self.ack_problems[envelope_id] = (
                f"acked after {waited:.1f} s: Slack had already shown the user an error"
            )
            return
        try:
            if envelope["type"] == "slash_commands" and isinstance(payload, dict) and payload:
                targets = [t for t in self._response_urls.values() if t.envelope_id == envelope_id]
                if targets:  # none after a reset()
                    self._reply(targets[0], payload, "ack")
            elif body.get("type") == "view_submission":
                self._apply_view_response(body, payload)
        except SlackError as exc:
            self.ack_problems[envelope_id] = f"Slack refused the ack payload: {exc.error}"

    def _apply_view_response(self, body: dict[str, Any], payload: Any) -> None:
        view = self.views.get(str(body["view"]["id"]))
        if view is None or view.closed:
            return
        action = payload.get("response_action") if isinstance(payload, dict) else None
        if action is None:
            view.closed = True  # a plain ack closes the submitted view
        elif action == "errors":
            errors = payload.get("errors")
            inputs = {
                block_id
                for block_id, _, _, block in _elements(view.blocks)
                if block.get("type") == "input"
            }
            if (
                not isinstance(errors, dict)
                or not errors
                or not all(k in inputs and isinstance(v, str) for k, v in errors.items())
            ):
                raise SlackError("invalid_errors")  # errors must name input blocks
            view.errors = dict(errors)
        elif action == "update":
            spec = checked_view({"view": payload.get("view")}, "modal")
            self._check_external_id(spec, allowed=view)
            self._update_view(view, spec)
        elif action == "push":
            spec = checked_view({"view": payload.get("view")}, "modal")
            self._check_external_id(spec)
            if len(self.open_modals(view.user)) >= MAX_MODAL_STACK:
                raise SlackError("push_limit_reached")
            self._add_view(view.user, spec, below=view)
        elif action == "clear":
            for modal in self.open_modals(view.user):
                modal.closed = True
        else:
            raise SlackError("invalid_response_action")

    # ------------------------------------------------------------------ Socket Mode

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if not self._accepting:
            raise web.HTTPServiceUnavailable(text="shutting down")
        if request.query.get("ticket") not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid ticket")
        # autoping answers each ping with a pong carrying the same payload; the SDK parses
        # "sdk-ping-pong:<time>" back out of it to decide whether the link is stale.
        ws = web.WebSocketResponse(autoping=True, timeout=2.0)
        await ws.prepare(request)
        conn = _Connection(ws, request.transport)
        try:
            await ws.send_str(json.dumps(self._hello()))
        except ConnectionError:
            return ws  # the client left during the handshake
        self._connections.append(conn)
        try:
            self.connection_count += 1
            await self._notify()
            await self._flush_pending(conn)
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._on_client_text(frame.data)
        finally:
            self._connections.remove(conn)
            await self._notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self._connections) + 1,
            "debug_info": {
                "host": SOCKET_HOST,
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }

    async def _on_client_text(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            return  # Slack ignores garbage from clients too
        if not isinstance(frame, dict) or "envelope_id" not in frame:
            return
        envelope_id = str(frame["envelope_id"])
        first = envelope_id not in self.acks
        # The first ack counts: a late duplicate must not hide a slow first answer.
        self.acks.setdefault(envelope_id, time.monotonic())
        if "payload" in frame:
            self.ack_payloads[envelope_id] = frame["payload"]
        if first:
            self._apply_ack(envelope_id, frame.get("payload"))
        await self._notify()

    def _active_connection(self) -> _Connection | None:
        for conn in reversed(self._connections):  # newest first
            if not conn.retiring and not conn.ws.closed:
                return conn
        return None

    async def _send_envelope(self, envelope: dict[str, Any]) -> str:
        envelope_id: str = envelope["envelope_id"]
        self.envelopes[envelope_id] = envelope
        conn = self._active_connection()
        if conn is None or not await self._send_on(conn, envelope):
            self._pending.append(envelope)  # delivered when a client connects, like Slack
        await self._notify()
        return envelope_id

    async def _send_on(self, conn: _Connection, envelope: dict[str, Any]) -> bool:
        envelope_id = envelope["envelope_id"]
        # Stamped before the write: the client may ack while send_str is still draining.
        self.sent_at[envelope_id] = time.monotonic()
        try:
            await conn.ws.send_str(json.dumps(envelope))
        except (ConnectionError, RuntimeError):  # closed between the check and the write
            del self.sent_at[envelope_id]
            return False
        return True

    async def _flush_pending(self, conn: _Connection) -> None:
        while self._pending and not conn.ws.closed:
            envelope = self._pending.popleft()
            if not await self._send_on(conn, envelope):
                self._pending.appendleft(envelope)
                return

    def _envelope(
        self, type_: str, payload: dict[str, Any], retry_attempt: int, retry_reason: str
    ) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": type_,
            "accepts_response_payload": type_ != "events_api",
        }
        if type_ == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        return envelope

    def _event_callback(self, event: dict[str, Any], event_id: str) -> dict[str, Any]:
        context = json.dumps({"tid": self.team_id, "aid": APP_ID}).encode()
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            # Slack Connect: the event comes from a channel shared with another team.
            "is_ext_shared_channel": event.get("user_team", self.team_id) != self.team_id,
            "event_context": "4-" + base64.urlsafe_b64encode(context).decode(),
        }

    async def send_envelope(
        self, type: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Send any Socket Mode envelope (events_api, slash_commands, interactive, ...)."""
        reason = "timeout" if retry_attempt > 0 else ""
        return await self._send_envelope(self._envelope(type, payload, retry_attempt, reason))

    async def _send_interaction(
        self, payload: dict[str, Any], target: _ResponseUrl | None, type_: str = "interactive"
    ) -> str:
        """Send like send_envelope, binding the response_url to the envelope id first."""
        envelope = self._envelope(type_, payload, 0, "")
        if target is not None:
            target.envelope_id = envelope["envelope_id"]
        return await self._send_envelope(envelope)

    async def deliver_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0
    ) -> str:
        """Wrap a raw event in an events_api envelope and send it; returns the envelope id.

        An event the installed app is not subscribed to, or a message in a conversation
        the bot is not in, is not sent (as in Slack): it is recorded in
        :attr:`undelivered` and the envelope id is "".
        """
        if self.app is not None and event_subscription(event) not in self.app.events:
            self.undelivered.append(event)
            return ""
        channel = event.get("channel")
        if event.get("type") in ("message", "app_mention") and isinstance(channel, str):
            known = self.channel_members.get(channel)
            if known is not None and self.bot_user_id not in known:
                # Slack sends an app the messages of conversations it is in, only.
                self.undelivered.append(event)
                return ""
        payload = self._event_callback(event, event_id or _new_event_id())
        return await self.send_envelope("events_api", payload, retry_attempt=retry_attempt)

    async def redeliver(self, envelope_id: str) -> str:
        """Resend an envelope's payload (same event_id) the way Slack retries after a timeout."""
        original = self.envelopes[envelope_id]
        attempt = int(original.get("retry_attempt", 0)) + 1
        envelope = self._envelope(original["type"], original["payload"], attempt, "timeout")
        return await self._send_envelope(envelope)

    async def disconnect_clients(
        self, reason: str = "refresh_requested", *, grace: float = 2.0
    ) -> None:
        """Ask every client to reconnect, then close the sockets.

        Like Slack, the old socket stays open for up to ``grace`` seconds so the client can
        close it itself; new envelopes meanwhile go to a newer connection or the queue.
        """
        conns = list(self._connections)
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": SOCKET_HOST}}
        )
        for conn in conns:
            conn.retiring = True
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_str(message)
        await self._until(lambda: all(c not in self._connections for c in conns), grace)
        await self._close_all(conns, reason.encode())

    async def drop_connections(self, *, abort: bool = True) -> None:
        """Close every socket without a disconnect message.

        ``abort=True`` kills the TCP connection (a network failure: the SDK notices through
        its ping/pong monitor); ``abort=False`` sends a WebSocket close frame instead.
        """
        conns = list(self._connections)
        if not abort:
            await self._close_all(conns, b"dropped")
        for conn in conns:
            conn.retiring = True
            if abort and conn.transport is not None:
                conn.transport.abort()
        await self._until(lambda: all(c not in self._connections for c in conns), 2.0)

    @staticmethod
    async def _close_all(conns: list[_Connection], message: bytes) -> None:
        """Close sockets with a close frame, concurrently (each may wait for the client)."""
        for conn in conns:
            conn.retiring = True
        closes = (c.ws.close(code=WSCloseCode.GOING_AWAY, message=message) for c in conns)
        await asyncio.gather(*closes)

    # The timeout parameters below are part of the fake's API (a deadline in the test's terms).
    async def wait_connected(self, count: int = 1, timeout: float = 10) -> None:
        """Wait until ``count`` connections (in total since start) have received hello."""
        await self.wait_for(
            lambda: self.connection_count >= count,
            timeout=timeout,
            what=f"{count} socket mode connection(s), have {self.connection_count}",
        )

    # ------------------------------------------------------------------ test-side helpers

    async def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        files: Sequence[UploadedFile] | None = None,
        app_context: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a message from someone other than the bot and deliver its events.

        ``files`` are hosted by the fake (see :meth:`file`) and shared by the message, whose
        text may then be "". ``app_context`` is what the person had open beside the app's
        Messages tab (agent apps): ``{"entities": [...]}`` on the message event.
        """
        human = bot_id is None
        file_ids = [self._host(f, user).id for f in files or ()]
        message = self._store(
            Message(
                channel=channel,
                ts=self._next_ts(),
                text=text,
                user=user,
                bot_id=bot_id,
                thread_ts=thread_ts,
                # A message that is only files has no rich text.
                blocks=_rich_text_blocks(text) if human and (text or not file_ids) else None,
                client_msg_id=str(uuid.uuid4()) if human else None,
                subtype=subtype,
                file_ids=file_ids,
            )
        )
        events = [self._message_event(message)]
        if app_context is not None:
            events[0]["app_context"] = dict(app_context)
        # Slack sends app_mention as a separate event, except in DMs.
        if f"<@{self.bot_user_id}>" in text and not channel.startswith("D"):
            events.append(self._app_mention_event(message))
        event_ids = self.event_ids_for_ts.setdefault(message.ts, [])
        envelope_ids = self.envelopes_for_ts.setdefault(message.ts, [])
        for event in events:
            event_id = _new_event_id()
            event_ids.append(event_id)
            envelope_ids.append(await self.deliver_event(event, event_id=event_id))
        return message.ts

    def _message_event(self, message: Message) -> dict[str, Any]:
        event = self._message_dict(message)
        event.update(
            channel=message.channel,
            event_ts=message.ts,
            channel_type=_channel_type(message.channel),
        )
        # Only the event says file_share; the stored message (history, replies) has no subtype.
        if message.file_ids and message.subtype is None:
            event["subtype"] = "file_share"
        return event

    def _app_mention_event(self, message: Message) -> dict[str, Any]:
        event = self._message_dict(message)
        event.update(type="app_mention", channel=message.channel, event_ts=message.ts)
        return event

    def add_user(
        self, user_id: str, name: str, *, is_bot: bool = False, team: str | None = None
    ) -> None:
        """A person (or bot) of this workspace, or, with another `team`, a Slack Connect
        guest from another organisation, whose messages Slack marks as such."""
        self._users[user_id] = _User(user_id, name, is_bot, team)

    def dm_channel(self, user: str) -> str:
        """The user's direct-message channel with the bot: one stable "D…" id per user.

        Made up from the user id unless :attr:`dm_channels` names one for the user.
        """
        chosen = self.dm_channels.get(user)
        if chosen is not None:
            return chosen
        return "D" + hashlib.sha256(user.encode()).hexdigest()[:10].upper()

    def user_name(self, user: str) -> str:
        """The name a user is shown with (see :meth:`add_user`); made up when unknown."""
        return self._user_name(user)

    # ------------------------------------------------------------------ interactivity

    def enter_values(self, user: str, view_id: str, values: Mapping[str, object]) -> None:
        """The user types or chooses in a view's inputs (by action_id) without submitting.

        Nothing is sent; like Slack, what was entered travels in the view's state with the
        user's next interaction with it (a ``dispatch_action`` click, the submission).
        Values are given as to :meth:`submit_view`. AssertionError as for :meth:`click`.
        """
        view = self._visible_view(user, view_id)
        inputs = {
            action_id: (block_id, element)
            for block_id, action_id, element, block in _elements(view.blocks)
            if block.get("type") == "input" and element.get("type") in STATEFUL_ELEMENTS
        }
        unknown = set(values) - set(inputs)
        if unknown:
            raise AssertionError(f"view {view_id} has no input with action_id {sorted(unknown)}")
        for action_id, value in values.items():
            block_id, element = inputs[action_id]
            view.state_values.setdefault(block_id, {})[action_id] = _state_entry(element, value)

    async def slash_command(
        self, user: str, channel: str, text: str, *, command: str = "/ai"
    ) -> str:
        """The user runs ``command text`` in ``channel``; returns the envelope id."""
        if self.app is not None and command not in self.app.commands:
            raise AssertionError(f"the installed app has no {command} command")
        if self.app is not None and command in self.app.escaped_commands:
            text = self._escape_names(text)
        target = _ResponseUrl(user, channel, thread_ts=None)
        # Slack sends slash commands form-encoded, so every value is a string.
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": self._user_name(user),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(target),
            "trigger_id": self._issue_trigger(user),
        }
        return await self._send_interaction(payload, target, "slash_commands")

    def _escape_names(self, text: str) -> str:
        """#channel and @person as Slack writes them in an escaping command's text."""
        channels = {name: channel for channel, name in self.channel_names.items()}
        people = {known.name: known.id for known in self._users.values()}

        def channel(found: re.Match[str]) -> str:
            named = channels.get(found.group(1))
            return f"<#{named}|{found.group(1)}>" if named else found.group(0)

        def person(found: re.Match[str]) -> str:
            named = people.get(found.group(1))
            return f"<@{named}|{found.group(1)}>" if named else found.group(0)

        text = re.sub(r"(?<![\w<])#([a-z0-9_-]{1,80})", channel, text)
        return re.sub(r"(?<![\w<])@([\w.-]{1,80})", person, text)

    async def click(
        self,
        user: str,
        *,
        action_id: str,
        message: Message | None = None,
        ephemeral: Ephemeral | None = None,
        view_id: str | None = None,
        value: str | Sequence[str] | None = None,
        block_id: str | None = None,
    ) -> str:
        """The user uses an element of a message, an ephemeral message or a view.

        ``value`` picks a button among several with the same action_id, is the option value
        chosen in a select / radio group (a checkbox or multi-select value is toggled, a list
        sets them all), the feedback button's value, or the text typed into an input.
        AssertionError if the user cannot see such an element. Returns the envelope id.
        """
        if sum(source is not None for source in (message, ephemeral, view_id)) != 1:
            raise AssertionError("click needs exactly one of message, ephemeral or view_id")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_object(user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
        }
        rest: dict[str, Any] = {
            "team": self._team_object(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view_id is not None:
            view = self._visible_view(user, view_id)
            action = _click_action(view.blocks, view.state_values, action_id, block_id, value)
            payload["container"] = {"type": "view", "view_id": view.id}
            payload["trigger_id"] = self._issue_trigger(user, view.id)
            payload.update(rest, view=self._view_dict(view), actions=[action])
            return await self._send_interaction(payload, None)
        shown: dict[str, Any] | None = None  # Slack sends no "message" for ephemeral ones
        if message is not None:
            current = self.messages.get((message.channel, message.ts))
            if current is None:
                raise AssertionError(f"message {message.ts} in {message.channel} is gone")
            channel, ts, blocks = current.channel, current.ts, current.blocks or []
            thread_ts = current.thread_ts if current.is_reply else None
            target = _ResponseUrl(user, channel, thread_ts, message=(channel, ts))
            shown = self._message_dict(current)
        else:
            assert ephemeral is not None
            if ephemeral.user != user or ephemeral.deleted:
                raise AssertionError(f"{user} does not see the ephemeral {ephemeral.message_ts}")
            channel, ts, blocks = ephemeral.channel, ephemeral.message_ts, ephemeral.blocks or []
            thread_ts = ephemeral.thread_ts
            target = _ResponseUrl(user, channel, thread_ts, ephemeral=ephemeral)
        state = self._message_states.setdefault((channel, ts), {})
        action = _click_action(blocks, state, action_id, block_id, value)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral is not None,
        }
        if thread_ts is not None:
            container["thread_ts"] = thread_ts
        payload["container"] = container
        payload["trigger_id"] = self._issue_trigger(user)
        payload.update(rest, channel=self._channel_object(channel))
        if shown is not None:
            payload["message"] = shown
        payload["state"] = {"values": _state_values(blocks, state)}
        payload["response_url"] = self._response_url(target)
        payload["actions"] = [action]
        return await self._send_interaction(payload, target)

    async def submit_view(
        self,
        user: str,
        view_id: str,
        values: Mapping[str, object] | None = None,
        *,
        timeout: float = 10,
    ) -> str:
        """The user fills in the modal's inputs (``values`` by action_id) and presses submit.

        Inputs not given keep what the user chose before (see :meth:`click`) or their initial
        value; option values pick options, a list of them fills checkboxes/multi-selects.
        Slack's client refuses to submit an empty required input or a too short / too long
        text, and so does this (AssertionError). Returns once the bot's ack arrived and was
        applied; AssertionError if it did not come in ``timeout`` seconds or Slack would
        have refused it.
        """
        view = self._visible_view(user, view_id)
        if view.type != "modal" or view.submit is None:
            raise AssertionError(f"view {view_id} has no submit button")
        given = dict(values or {})
        inputs = [entry for entry in _elements(view.blocks) if entry[3].get("type") == "input"]
        unknown = set(given) - {action_id for _, action_id, _, _ in inputs}
        if unknown:
            raise AssertionError(f"view {view_id} has no input with action_id {sorted(unknown)}")
        for block_id, action_id, element, _ in inputs:
            if action_id in given:
                entry = _state_entry(element, given[action_id])
                view.state_values.setdefault(block_id, {})[action_id] = entry
        state = _state_values(view.blocks, view.state_values)
        for block_id, action_id, element, block in inputs:
            _check_input(block, element, state.get(block_id, {}).get(action_id))
        view.errors = None  # the user sees old errors go when they submit again
        payload = {
            "type": "view_submission",
            "team": self._team_object(),
            "user": self._user_object(user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._issue_trigger(user, view.id),
            "view": self._view_dict(view),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        envelope_id = await self._send_interaction(payload, None)
        await self.wait_for(
            lambda: envelope_id in self.acks,
            timeout=timeout,
            what=f"the ack of the submission of view {view_id}",
        )
        problem = self.ack_problems.get(envelope_id)
        if problem is not None:
            raise AssertionError(f"submission of view {view_id}: {problem}")
        return envelope_id

    async def close_view(self, user: str, view_id: str) -> str:
        """The user closes the modal (its close button or X).

        A ``view_closed`` envelope only goes out when the view asked for ``notify_on_close``;
        otherwise the view just closes and "" is returned.
        """
        view = self._visible_view(user, view_id)
        if view.type != "modal":
            raise AssertionError(f"view {view_id} is not a modal")
        closing = self.open_modals(user) if view.clear_on_close else [view]
        for modal in closing:
            modal.closed = True
        await self._notify()
        if not view.notify_on_close:
            return ""
        payload = {
            "type": "view_closed",
            "team": self._team_object(),
            "user": self._user_object(user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "view": self._view_dict(view),
            "is_cleared": view.clear_on_close,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self._send_interaction(payload, None)

    async def message_shortcut(
        self, user: str, channel: str, message_ts: str, callback_id: str
    ) -> str:
        """The user runs the app's message shortcut ``callback_id`` on a stored message."""
        if self.app is not None and callback_id not in self.app.shortcuts:
            raise AssertionError(f"the installed app has no shortcut {callback_id!r}")
        message = self.messages.get((channel, message_ts))
        if message is None:
            raise AssertionError(f"no message {message_ts} in {channel}")
        thread_ts = message.thread_ts if message.is_reply else None
        target = _ResponseUrl(user, channel, thread_ts, message=(channel, message_ts))
        payload = {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": _action_ts(),
            "team": self._team_object(),
            "user": self._user_object(user),
            "channel": self._channel_object(channel),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self._issue_trigger(user),
            "response_url": self._response_url(target),
            "message_ts": message_ts,
            "message": self._message_dict(message),
        }
        return await self._send_interaction(payload, target)

    async def open_home(self, user: str) -> str:
        """The user opens the app's Home tab: an ``app_home_opened`` event."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.dm_channel(user),
            "tab": "home",
            "event_ts": _action_ts(),
        }
        home = self.home_view(user)
        if home is not None:  # Slack adds the published view, if there is one
            event["view"] = self._view_dict(home)
        return await self.deliver_event(event)

    async def start_assistant_thread(
        self, user: str, *, context_channel: str | None = None
    ) -> tuple[str, str]:
        """The user opens the assistant side panel (from ``context_channel``, if any).

        Like Slack, this starts a thread in the user's DM with the app under a root message
        from the bot (subtype ``assistant_app_thread``) and sends ``assistant_thread_started``.
        The user then writes with ``post_user_message(channel, user, text, thread_ts=...)``.
        Returns (channel, thread_ts); the envelope is in ``envelopes_for_ts[thread_ts]``.
        Only an app with ``assistant_view`` has the panel.
        """
        if self.app is not None and self.app.experience != "assistant":
            raise AssertionError("the installed app has no assistant panel (assistant_view)")
        channel = self.dm_channel(user)
        root = self._store(
            Message(
                channel=channel,
                ts=self._next_ts(),
                text="",
                user=self.bot_user_id,
                bot_id=self.bot_id,
                subtype="assistant_app_thread",
            )
        )
        event = {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": user,
                "context": {
                    "channel_id": context_channel or "",
                    "team_id": self.team_id,
                    "enterprise_id": None,
                },
                "channel_id": channel,
                "thread_ts": root.ts,
            },
            "event_ts": _action_ts(),
        }
        event_id = _new_event_id()
        self.event_ids_for_ts.setdefault(root.ts, []).append(event_id)
        envelope_id = await self.deliver_event(event, event_id=event_id)
        self.envelopes_for_ts.setdefault(root.ts, []).append(envelope_id)
        return channel, root.ts

    async def open_messages_tab(self, user: str) -> str:
        """The user opens the app's Messages tab: ``app_home_opened`` with tab "messages"
        (which, for agent apps, replaces ``assistant_thread_started``)."""
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.dm_channel(user),
            "tab": "messages",
            "event_ts": _action_ts(),
        }
        return await self.deliver_event(event)

    async def change_context(self, user: str, entities: Sequence[Mapping[str, Any]]) -> str:
        """What the user has open beside the app changed: ``app_context_changed``.

        Entities as Slack sends them, most relevant first, e.g.
        ``{"type": "slack#/types/channel_id", "value": "C1"}`` or
        ``{"type": "slack#/types/message_context", "value": {"channel_id", "message_ts"}}``.
        """
        context = {"entities": [{"team_id": self.team_id, **e} for e in entities]}
        event = {
            "type": "app_context_changed",
            "user": user,
            "context": context if entities else {},
            "event_ts": _action_ts(),
        }
        return await self.deliver_event(event)

    async def press_stop(self, user: str, channel: str, thread_ts: str) -> str:
        """The user clicks Slack's stop button on the app's agent session in a thread.

        Slack shows it only while the session is "processing", stops the app's streams in
        the thread itself, and sends ``agent_session_stopped``; the session stays
        "processing" until the app changes it.
        """
        if self.sessions.get((channel, thread_ts)) != "processing":
            raise AssertionError(f"no stop button: no session processing in {thread_ts}")
        stopped = []
        for message in self.thread_messages(channel, thread_ts):
            if message.streaming and message.bot_id == self.bot_id:
                message.streaming = False
                stopped.append(message.ts)
        event = {
            "type": "agent_session_stopped",
            "channel": channel,
            "user": user,
            "thread_ts": thread_ts,
            "streaming_message_ts": stopped,
            "event_ts": _action_ts(),
        }
        return await self.deliver_event(event)

    def add_channel(
        self, channel: str, members: Sequence[str], *, private: bool = False, bot: bool = True
    ) -> None:
        """Who is in `channel` (the bot too, unless `bot` is False), and whether it is
        private. A conversation the bot is not in cannot be read by it: Slack answers
        ``not_in_channel`` (public) or ``channel_not_found`` (private, which it cannot
        even see)."""
        self.channel_members[channel] = set(members) | ({self.bot_user_id} if bot else set())
        if private:
            self.private_channels.add(channel)

    def _user_name(self, user: str) -> str:
        known = self._users.get(user)
        return known.name if known is not None else user.lower()

    def _user_object(self, user: str) -> dict[str, Any]:
        name = self._user_name(user)
        return {"id": user, "username": name, "name": name, "team_id": self.team_id}

    def _team_object(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": TEAM_DOMAIN}

    def _channel_name(self, channel: str) -> str:
        named = self.channel_names.get(channel)
        if named is not None:
            return named
        return {"D": "directmessage", "G": "privategroup"}.get(channel[:1], channel.lower())

    def _channel_object(self, channel: str) -> dict[str, Any]:
        return {"id": channel, "name": self._channel_name(channel)}

    # ------------------------------------------------------------------ waiting

    async def _notify(self) -> None:
        self.change_count += 1
        async with self._changed:
            self._changed.notify_all()

    async def _until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait for ``predicate`` on state changes; False if ``within`` seconds pass first."""
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            return False
        return True

    async def wait_change(self, seen: int, timeout: float) -> bool:
        """Wait until :attr:`change_count` exceeds ``seen``; False if ``timeout`` s pass first.

        For watchers (the sandbox page) that re-read the state after anything may have
        changed, without a predicate of their own.
        """
        return await self._until(lambda: self.change_count > seen, timeout)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 30.0,
        what: str = "",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking on every API call, ack or connection."""
        if not await self._until(predicate, timeout):
            raise AssertionError(f"timed out waiting for {what}\n{self._debug_dump()}")

    def _debug_dump(self, last: int = 15) -> str:
        lines = [
            f"  {c.method} status={c.status} error={c.error} params={_abbreviate(c.params)}"
            for c in self.calls[-last:]
        ]
        unacked = [e for e in self.sent_at if e not in self.acks]
        return "\n".join(
            [
                f"connections open={len(self._connections)} total={self.connection_count}, "
                f"queued envelopes={len(self._pending)}, unacked={len(unacked)}, "
                f"file requests={len(self.file_requests)}",
                f"last {len(lines)} of {len(self.calls)} API calls:",
                *(lines or ["  (none)"]),
            ]
        )

    # ------------------------------------------------------------------ queries

    def get_message(self, channel: str, ts: str) -> Message | None:
        return self.messages.get((channel, ts))

    def messages_in(self, channel: str) -> list[Message]:
        """Every message in a channel, threads included, oldest first."""
        return self._sorted_messages(channel)

    def thread_messages(self, channel: str, thread_ts: str) -> list[Message]:
        """Replies in a thread (not the parent), oldest first."""
        return [
            m for m in self._sorted_messages(channel) if m.is_reply and m.thread_ts == thread_ts
        ]

    def bot_replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.thread_messages(channel, thread_ts) if m.bot_id == self.bot_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def file(self, file_id: str) -> UploadedFile:
        """A hosted file (shared by a user or uploaded by the bot); KeyError if unknown."""
        return self._files[file_id].file

    @property
    def hosted_files(self) -> dict[str, UploadedFile]:
        """Every hosted file by id, oldest first."""
        return {file_id: hosted.file for file_id, hosted in self._files.items()}

    def file_requests_for(self, file_id: str) -> list[FileRequest]:
        return [r for r in self.file_requests if r.file_id == file_id]

    def ephemerals_for(self, user: str, channel: str | None = None) -> list[Ephemeral]:
        """What ``user`` still sees privately (in ``channel``, if given), oldest first."""
        return [
            e
            for e in self.ephemerals
            if e.user == user and not e.deleted and (channel is None or e.channel == channel)
        ]

    def open_modals(self, user: str) -> list[View]:
        """The user's modal stack, oldest first: the last one is what they see."""
        return [v for v in self._live_views() if v.type == "modal" and v.user == user]

    def home_view(self, user: str) -> View | None:
        """The App Home view published for ``user``, if any."""
        return next((v for v in self._live_views() if v.type == "home" and v.user == user), None)


# ---------------------------------------------------------------------- module helpers


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Merge query string and body (JSON, urlencoded or multipart) into one dict."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await _json_body(request))
        elif request.content_type in FORM_CONTENT_TYPES:
            form = await request.post()
            params.update({key: _form_value(value) for key, value in form.items()})
    return {key: _decode_json_param(key, value) for key, value in params.items()}


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise SlackError("invalid_json") from None
    if not isinstance(body, dict):
        raise SlackError("invalid_json")
    return body


def _form_value(value: str | bytes | bytearray | web.FileField) -> Any:
    if isinstance(value, web.FileField):
        return {"filename": value.filename, "content": value.file.read()}
    return value


def _decode_json_param(key: str, value: Any) -> Any:
    if key not in JSON_ENCODED_PARAMS or not isinstance(value, str):
        return value
    if not value.lstrip().startswith(("[", "{")):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, list | dict) else value


def _bearer_token(header: str | None) -> str | None:
    if header is None or not header.startswith("Bearer "):
        return None
    return header.removeprefix("Bearer ").strip() or None


def _pop_token(params: dict[str, Any]) -> str | None:
    token = params.pop("token", None)
    return token if isinstance(token, str) and token else None


def _str_param(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, bool) or value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _int_param(params: dict[str, Any], key: str) -> int | None:
    value = _str_param(params, key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise SlackError("invalid_arguments") from None


def _list_param(params: dict[str, Any], key: str) -> list[Any] | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise SlackError(f"invalid_{key}")
    return value


def _csv_param(params: dict[str, Any], key: str) -> list[str]:
    return [item.strip() for item in (_str_param(params, key) or "").split(",") if item.strip()]


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


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _image_size(file: UploadedFile) -> tuple[int, int] | None:
    """Pixel size of an image Pillow can read; Slack adds it as original_w / original_h."""
    if not file.mimetype.startswith("image/"):
        return None
    try:
        with Image.open(io.BytesIO(file.content)) as image:
            return image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None


def _require_channel(params: dict[str, Any]) -> str:
    channel = _str_param(params, "channel")
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def _channel_param(params: dict[str, Any]) -> str:
    return _str_param(params, "channel") or _str_param(params, "channel_id") or ""


def _check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise SlackError("msg_too_long")


def _stream_markdown(params: dict[str, Any]) -> str:
    """The markdown a streaming call appends: ``markdown_text`` then markdown chunks.

    The SDK's chat_stream helper always sends text as ``markdown_text`` chunks, so the
    12,000 character limit applies to their sum, not only to the ``markdown_text`` field.
    """
    chunks = params.get("chunks")
    if chunks is not None and not isinstance(chunks, list):
        raise SlackError("invalid_arguments")
    parts = [_str_param(params, "markdown_text") or ""]
    for chunk in chunks or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            parts.append(str(chunk.get("text", "")))
    markdown = "".join(parts)
    _check_length(markdown, MAX_STREAM_MARKDOWN_CHARS)
    return markdown


def _stream_tasks(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
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


def _ts_key(message: Message) -> tuple[int, int]:
    seconds, _, micros = message.ts.partition(".")
    return int(seconds), int(micros or 0)


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _page_start(items: list[Message], cursor: str | None, *, ascending: bool) -> int:
    """Index of the first item at or past the cursor's ts (robust to deleted messages)."""
    if cursor is None:
        return 0
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    prefix, _, ts = decoded.partition(":")
    if prefix != "next_ts" or not ts:
        raise SlackError("invalid_cursor")
    target = _ts_key(Message(channel="", ts=ts, text=""))
    for index, item in enumerate(items):
        key = _ts_key(item)
        if (key >= target) if ascending else (key <= target):
            return index
    return len(items)


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def _new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:10].upper()


def _rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to human messages, mentions included."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]


def _abbreviate(params: dict[str, Any], limit: int = 160) -> str:
    rendered = json.dumps(params, default=repr)
    return rendered if len(rendered) <= limit else rendered[: limit - 3] + "..."


def _flag(value: Any) -> bool | None:
    """An optional boolean argument as sent (JSON true/false, or form text)."""
    return None if value is None else _truthy(value)


def _truthy(value: Any) -> bool:
    return value is True or value in ("true", "1")


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _thread_key(params: dict[str, Any]) -> tuple[str, str]:
    channel = _str_param(params, "channel_id")
    thread_ts = _str_param(params, "thread_ts")
    if channel is None or thread_ts is None:
        raise SlackError("invalid_arguments", ["[ERROR] channel_id and thread_ts are required"])
    return channel, thread_ts


def _is_prompt(prompt: Any) -> bool:
    return (
        isinstance(prompt, dict)
        and isinstance(prompt.get("title"), str)
        and isinstance(prompt.get("message"), str)
        and bool(prompt["title"] and prompt["message"])
    )


# ---------------------------------------------------------------------- blocks


def _blocks_param(params: dict[str, Any]) -> list[Any] | None:
    """A message's ``blocks``, decoded from JSON if need be, checked like Slack checks them."""
    blocks = _list_param(params, "blocks")
    if blocks is not None:
        check_message_blocks(blocks)
    return blocks


def check_message_blocks(blocks: list[Any]) -> None:
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise SlackError(
            "invalid_blocks",
            [f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"],
        )
    seen: set[Any] = set()
    for index, block in enumerate(blocks):
        pointer = f"[json-pointer:/blocks/{index}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackError("invalid_blocks", [f"[ERROR] missing required field: type {pointer}"])
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                raise SlackError("invalid_blocks", [f"[ERROR] duplicate block_id {pointer}"])
            seen.add(block_id)
        _check_block_model(block, pointer)
        if block["type"] == "table":
            _check_table(block, pointer)
    markdown = sum(len(str(b.get("text", ""))) for b in blocks if b.get("type") == "markdown")
    if markdown > MAX_MARKDOWN_BLOCK_CHARS:
        raise SlackError(
            "invalid_blocks",
            [f"[ERROR] markdown blocks total over {MAX_MARKDOWN_BLOCK_CHARS} characters"],
        )


def _check_table(block: dict[str, Any], pointer: str) -> None:
    """Slack's table block: 1 to 100 rows of 1 to 20 cells, raw_text cells not empty, at
    most 20 column settings (slack-sdk's model does not check these)."""
    rows = block.get("rows")
    settings = block.get("column_settings") or []
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_TABLE_ROWS:
        raise SlackError("invalid_blocks", [f"[ERROR] 1 to {MAX_TABLE_ROWS} rows {pointer}"])
    if not isinstance(settings, list) or len(settings) > MAX_TABLE_CELLS:
        raise SlackError("invalid_blocks", [f"[ERROR] too many column_settings {pointer}"])
    for row in rows:
        if not isinstance(row, list) or not 1 <= len(row) <= MAX_TABLE_CELLS:
            raise SlackError("invalid_blocks", [f"[ERROR] 1 to {MAX_TABLE_CELLS} cells {pointer}"])
        for cell in row:
            raw = isinstance(cell, dict) and cell.get("type") == "raw_text"
            if raw and not (isinstance(cell.get("text"), str) and cell["text"]):
                raise SlackError("invalid_blocks", [f"[ERROR] empty raw_text cell {pointer}"])
            if not (raw or (isinstance(cell, dict) and cell.get("type") == "rich_text")):
                raise SlackError("invalid_blocks", [f"[ERROR] unknown cell type {pointer}"])


def _check_block_model(block: dict[str, Any], pointer: str) -> None:
    """Slack's block rules as slack-sdk's block models know them: a known type, each
    field known to that type, and every limit the model checks."""
    try:
        model = Block.parse(block)
        if model is None or type(model) is Block:
            raise SlackError("invalid_blocks", [f"[ERROR] unknown block type {pointer}"])
        model.validate_json()
    except SlackObjectFormationError as error:
        raise SlackError("invalid_blocks", [f"[ERROR] {error} {pointer}"]) from None
    unknown = sorted(set(block) - set(model.to_dict()))
    if unknown:
        raise SlackError("invalid_blocks", [f"[ERROR] unknown fields {unknown} {pointer}"])


def _block_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The elements of a block a user can use (click, choose, type into)."""
    kind = block.get("type")
    if kind == "input":
        candidates = [block.get("element")]
    elif kind == "section":
        candidates = [block.get("accessory")]
    elif kind in ("actions", "context_actions"):
        candidates = list(block.get("elements") or [])
    else:
        return []
    return [c for c in candidates if isinstance(c, dict) and c.get("type") not in PASSIVE_ELEMENTS]


def _derived_id(position: str, thing: Any) -> str:
    """A stable stand-in for the id Slack would assign where the app gave none."""
    rendered = json.dumps(thing, sort_keys=True, default=str)
    return hashlib.sha256(f"{position}:{rendered}".encode()).hexdigest()[:5]


def _block_id(block: dict[str, Any], index: int) -> str:
    return str(block.get("block_id") or _derived_id(str(index), block))


def _action_id(element: dict[str, Any], index: int, position: int) -> str:
    return str(element.get("action_id") or _derived_id(f"{index}.{position}", element))


def _elements(blocks: Sequence[Any]) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(block_id, action_id, element, block) for every usable element, in order."""
    found = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        block_id = _block_id(block, index)
        for position, element in enumerate(_block_elements(block)):
            found.append((block_id, _action_id(element, index, position), element, block))
    return found


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return options


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    options = _options(element)
    for option in options:
        if option.get("value") == value:
            return option
    offered = [o.get("value") for o in options]
    raise AssertionError(
        f"{element.get('type')} {element.get('action_id')!r} offers {offered}, not {value!r}"
    )


def _initial_entry(element: dict[str, Any]) -> dict[str, Any]:
    """An untouched element's ``state.values`` entry: its initial value, if any."""
    kind = str(element.get("type"))
    key, initial_key, how = STATEFUL_ELEMENTS[kind]
    initial = element.get(initial_key)
    value: Any
    if how in ("options", "list"):
        value = list(initial) if isinstance(initial, list) else []
    elif how == "text":
        value = None if initial is None or initial == "" else str(initial)
    else:
        value = initial
    return {"type": kind, key: value}


def _state_entry(
    element: dict[str, Any],
    given: object,
    *,
    previous: Mapping[str, Any] | None = None,
    toggle: bool = False,
) -> dict[str, Any]:
    """The ``state.values`` entry once the user entered ``given`` (a test's plain value)."""
    kind = str(element.get("type"))
    if kind not in STATEFUL_ELEMENTS:
        raise AssertionError(f"a {kind} element holds no value")
    key, _, how = STATEFUL_ELEMENTS[kind]
    value: Any
    if how == "text":  # number_input values travel as strings too
        value = None if given is None or given == "" else str(given)
    elif how == "plain":
        value = None if given is None else str(given)
    elif how == "option":
        value = None if given is None else _option(element, str(given))
    else:
        if isinstance(given, str):
            chosen = [given]
            if toggle:  # one more click on a checkbox or multi-select option
                items = (previous or {}).get(key) or []
                current = [str(o.get("value")) if isinstance(o, dict) else str(o) for o in items]
                chosen = [v for v in current if v != given] + ([] if given in current else [given])
        elif isinstance(given, Sequence):
            chosen = [str(v) for v in given]
        elif given is None:
            chosen = []
        else:
            raise AssertionError(f"give a {kind} a list of values, not {given!r}")
        value = [_option(element, v) for v in chosen] if how == "options" else chosen
    return {"type": kind, key: value}


def _state_values(
    blocks: Sequence[Any], chosen: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``state.values``: every stateful element's entry, chosen by the user or initial."""
    values: dict[str, dict[str, Any]] = {}
    for block_id, action_id, element, _ in _elements(blocks):
        if element.get("type") in STATEFUL_ELEMENTS:
            entry = chosen.get(block_id, {}).get(action_id) or _initial_entry(element)
            values.setdefault(block_id, {})[action_id] = entry
    return values


def _click_action(
    blocks: Sequence[Any],
    state: dict[str, dict[str, Any]],
    action_id: str,
    block_id: str | None,
    value: str | Sequence[str] | None,
) -> dict[str, Any]:
    """``actions[0]`` of a block_actions payload; records a choice in ``state``."""
    matches = [
        (b, a, element)
        for b, a, element, _ in _elements(blocks)
        if a == action_id and (block_id is None or b == block_id)
    ]
    if isinstance(value, str):  # buttons sharing an action_id differ by value
        matches = [
            m
            for m in matches
            if m[2].get("type") not in ("button", "icon_button") or m[2].get("value") == value
        ]
    if len(matches) != 1:
        problem = "no" if not matches else "more than one"
        raise AssertionError(
            f"{problem} element with action_id {action_id!r} (block_id={block_id!r}, "
            f"value={value!r}) is shown; the blocks read:\n{blocks_text(blocks)}"
        )
    found_block, found_action, element = matches[0]
    kind = element.get("type")
    action: dict[str, Any] = {"type": kind, "action_id": found_action, "block_id": found_block}
    if kind in ("button", "icon_button", "workflow_button"):
        action.update({k: element[k] for k in ("text", "value", "style") if k in element})
    elif kind == "feedback_buttons":
        buttons = [element.get("positive_button"), element.get("negative_button")]
        allowed = [b.get("value") for b in buttons if isinstance(b, dict)]
        if value not in allowed:
            raise AssertionError(
                f"feedback_buttons {found_action!r} offer {allowed}, not {value!r}"
            )
        action["value"] = value
    elif kind == "overflow":
        if not isinstance(value, str):
            raise AssertionError(f"choose one of overflow {found_action!r}'s options by value")
        action["selected_option"] = _option(element, value)
    elif kind in STATEFUL_ELEMENTS:
        if value is None:
            raise AssertionError(f"say what to choose or type in {kind} {found_action!r}")
        entries = state.setdefault(found_block, {})
        previous = entries.get(found_action) or _initial_entry(element)
        entry = _state_entry(element, value, previous=previous, toggle=True)
        entries[found_action] = entry
        action.update((k, v) for k, v in entry.items() if k != "type")
        if "placeholder" in element:
            action["placeholder"] = element["placeholder"]
    else:
        raise AssertionError(f"a {kind} element cannot be clicked")
    action["action_ts"] = _action_ts()
    return action


def _check_input(block: dict[str, Any], element: dict[str, Any], entry: Any) -> None:
    """What Slack's client checks before it lets a user submit a modal."""
    if not isinstance(entry, dict):
        return  # an element whose value the fake does not model
    label = _text(block.get("label"))
    filled = [v for k, v in entry.items() if k != "type" and v not in (None, "", [])]
    if not filled and not block.get("optional"):
        raise AssertionError(f"Slack does not submit the view: {label!r} is required")
    text = entry.get("value")
    if element.get("type") == "plain_text_input" and isinstance(text, str):
        low, high = element.get("min_length"), element.get("max_length")
        if (isinstance(low, int) and len(text) < low) or (
            isinstance(high, int) and len(text) > high
        ):
            raise AssertionError(f"Slack does not submit the view: {label!r} has {len(text)} chars")


# ---------------------------------------------------------------------- views


def _invalid_view(message: str, pointer: str) -> NoReturn:
    raise SlackError("invalid_arguments", [f"[ERROR] {message} [json-pointer:/view{pointer}]"])


def _check_plain_text(
    value: Any, pointer: str, *, required: bool, limit: int = MAX_VIEW_TITLE_CHARS
) -> None:
    if value is None:
        if required:
            _invalid_view("missing required field", pointer)
        return
    if (
        not isinstance(value, dict)
        or value.get("type") != "plain_text"
        or not isinstance(value.get("text"), str)
    ):
        _invalid_view("must be a plain_text text object", pointer)
    if not value["text"]:
        _invalid_view("must be at least 1 character", f"{pointer}/text")
    if len(value["text"]) > limit:
        _invalid_view(f"must be less than {limit + 1} characters", f"{pointer}/text")


def _check_input_block(block: dict[str, Any], pointer: str) -> None:
    _check_plain_text(block.get("label"), f"{pointer}/label", required=True, limit=MAX_LABEL_CHARS)
    element = block.get("element")
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        _invalid_view("missing required field: element", f"{pointer}/element")
    if element["type"] == "plain_text_input":
        max_length = element.get("max_length")
        if max_length is not None and (
            not isinstance(max_length, int) or not 1 <= max_length <= MAX_TEXT_INPUT_LENGTH
        ):
            _invalid_view(
                f"must be at most {MAX_TEXT_INPUT_LENGTH}", f"{pointer}/element/max_length"
            )


def checked_view(params: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The ``view`` argument, validated like Slack does, with missing ids filled in."""
    raw = params.get("view")
    if isinstance(raw, str):  # slack-sdk sends it as JSON; forms send a JSON string
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_arguments", ["[ERROR] invalid `view`"]) from None
    if not isinstance(raw, dict):
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
    view = copy.deepcopy(raw)
    if view.get("type") != kind:
        _invalid_view(f"must be {kind!r}", "/type")
    _check_plain_text(view.get("title"), "/title", required=kind == "modal")
    for key in ("submit", "close"):
        _check_plain_text(view.get(key), f"/{key}", required=False)
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        _invalid_view("missing required field: blocks", "/blocks")
    if len(blocks) > MAX_VIEW_BLOCKS:
        _invalid_view(f"no more than {MAX_VIEW_BLOCKS} items allowed", "/blocks")
    seen: set[Any] = set()
    for index, block in enumerate(blocks):
        pointer = f"/blocks/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            _invalid_view("missing required field: type", pointer)
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                raise SlackError(
                    "duplicate_block_id",
                    [f"[ERROR] duplicate block_id [json-pointer:/view{pointer}/block_id]"],
                )
            seen.add(block_id)
        if block["type"] == "input":
            _check_input_block(block, pointer)
        try:
            _check_block_model(block, pointer)
        except SlackError as error:
            _invalid_view(" ".join(error.messages) or error.error, pointer)
    has_input = any(block["type"] == "input" for block in blocks)
    if kind == "modal" and has_input and view.get("submit") is None:
        _invalid_view("submit is required when an input block is present", "/submit")
    for key, limit in (
        ("private_metadata", MAX_PRIVATE_METADATA_CHARS),
        ("callback_id", MAX_CALLBACK_ID_CHARS),
        ("external_id", MAX_CALLBACK_ID_CHARS),
    ):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            _invalid_view(f"must be a string of at most {limit} characters", f"/{key}")
    # Slack fills in the ids the app left out, so the view it answers with has them all.
    for block in blocks:
        if not block.get("block_id"):
            block["block_id"] = _new_block_id(seen)
            seen.add(block["block_id"])
        for element in _block_elements(block):
            if not element.get("action_id"):
                element["action_id"] = _new_block_id(set())
    return view


def _new_block_id(taken: set[Any]) -> str:
    while True:
        candidate = "".join(secrets.choice(BLOCK_ID_ALPHABET) for _ in range(5))
        if candidate not in taken:
            return candidate


def _apply_spec(view: View, spec: dict[str, Any]) -> None:
    """Take the app's (validated) view definition; every change gets a new hash."""
    view.callback_id = str(spec.get("callback_id") or "")
    view.private_metadata = str(spec.get("private_metadata") or "")
    view.title = spec.get("title")
    view.submit = spec.get("submit")
    view.close = spec.get("close")
    view.blocks = spec["blocks"]
    view.external_id = str(spec.get("external_id") or view.external_id)
    view.notify_on_close = _truthy(spec.get("notify_on_close"))
    view.clear_on_close = _truthy(spec.get("clear_on_close"))
    view.hash = f"{int(time.time())}.{secrets.token_hex(4)}"


# ---------------------------------------------------------------------- reading blocks


def blocks_text(
    blocks: Sequence[Any] | None, values: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """Everything a person reads in ``blocks``, one line per piece.

    Header, section, markdown and context texts, section fields, input labels with what the
    input holds (else its placeholder) and hint, option texts of selects, radio buttons and
    checkboxes ("(selected)" after the chosen ones: per ``values``, a ``state.values``
    mapping, else the initial ones), button and feedback button texts, and rich text.
    Images and dividers add nothing.
    """
    lines: list[str] = []
    for index, block in enumerate(blocks or []):
        if not isinstance(block, dict):
            continue
        block_state = (values or {}).get(_block_id(block, index), {})
        lines.extend(_block_lines(block, index, block_state))
    return "\n".join(line for line in lines if line)


def _block_lines(block: dict[str, Any], index: int, state: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    lines: list[str] = []
    if kind in ("header", "section"):
        lines.append(_text(block.get("text")))
        lines.extend(_text(f) for f in block.get("fields") or [])
    elif kind == "markdown":
        lines.append(str(block.get("text") or ""))
    elif kind == "context":
        lines.extend(
            _text(e)
            for e in block.get("elements") or []
            if isinstance(e, dict) and e.get("type") in ("mrkdwn", "plain_text")
        )
    elif kind == "input":
        lines.append(_text(block.get("label")))
    elif kind == "rich_text":
        lines.extend(_rich_text_lines(block.get("elements")))
    elif kind in ("image", "video"):
        lines.append(_text(block.get("title")))
    for position, element in enumerate(_block_elements(block)):
        lines.extend(_element_lines(element, state.get(_action_id(element, index, position))))
    if kind == "input":
        lines.append(_text(block.get("hint")))
    return lines


def _element_lines(element: dict[str, Any], entry: Any) -> list[str]:
    kind = element.get("type")
    if kind in ("button", "icon_button", "workflow_button"):
        return [_text(element.get("text"))]
    if kind == "feedback_buttons":
        buttons = [element.get("positive_button"), element.get("negative_button")]
        return [_text(b.get("text")) for b in buttons if isinstance(b, dict)]
    if kind == "overflow":
        return [_text(o.get("text")) for o in _options(element)]
    if kind not in STATEFUL_ELEMENTS:
        return []
    key, _, how = STATEFUL_ELEMENTS[kind]
    current = entry if isinstance(entry, dict) else _initial_entry(element)
    value = current.get(key)
    if how in ("option", "options"):
        picked = value if isinstance(value, list) else [value]
        selected = {o.get("value") for o in picked if isinstance(o, dict)}
        lines = [] if selected else [_text(element.get("placeholder"))]
        for option in _options(element):
            text = _text(option.get("text"))
            lines.append(f"{text} (selected)" if option.get("value") in selected else text)
        return lines
    if value is None or value == "" or value == []:
        return [_text(element.get("placeholder"))]
    return [", ".join(map(str, value)) if isinstance(value, list) else str(value)]


def _text(value: Any) -> str:
    """The text of a text object (or a plain string)."""
    if isinstance(value, dict):
        return str(value.get("text") or "")
    return value if isinstance(value, str) else ""


def _rich_text_lines(elements: Any) -> list[str]:
    lines: list[str] = []
    for element in elements or []:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "rich_text_list":
            lines.extend(_rich_text_lines(element.get("elements")))
        elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            parts = element.get("elements") or []
            lines.append("".join(_inline_text(p) for p in parts if isinstance(p, dict)))
    return lines


def _inline_text(part: dict[str, Any]) -> str:
    kind = part.get("type")
    if kind == "link":
        return str(part.get("text") or part.get("url") or "")
    if kind == "user":
        return f"<@{part.get('user_id')}>"
    if kind == "channel":
        return f"<#{part.get('channel_id')}>"
    if kind == "usergroup":
        return f"<!subteam^{part.get('usergroup_id')}>"
    if kind == "emoji":
        return f":{part.get('name')}:"
    if kind == "broadcast":
        return f"@{part.get('range')}"
    if kind == "date":
        return str(part.get("fallback") or part.get("timestamp") or "")
    return str(part.get("text") or "")
