"""The fake workspace's state: its identity, every store a test can observe or configure,
the queries over them, and waiting for them to change.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.loopback import LoopbackServer
from sandbox.manifest import InstalledApp
from sandbox.workspace.records import (
    ApiCall,
    Connection,
    Ephemeral,
    FileRequest,
    HostedFile,
    Message,
    PendingUpload,
    Person,
    Response,
    ResponseTarget,
    SuggestedPrompts,
    Trigger,
    Upload,
    UploadedFile,
    View,
)

if TYPE_CHECKING:
    from sandbox.workspace.hook import Gatekeeper

APP_ID = "A0TEST"
TEAM_DOMAIN = "test"
WORKSPACE_URL = "https://test.slack.com/"
VERIFICATION_TOKEN = "fake-verification-token"
MAX_MESSAGE_CHARS = 40_000
# Slack's limits for interactivity.
TRIGGER_TTL_SECONDS = 3.0
ACK_DEADLINE_SECONDS = 3.0  # later acks are ignored: the user sees an error instead


class WorkspaceState:
    """What the workspace knows. The parts of :class:`~sandbox.workspace.FakeSlack` (Web
    API families, Socket Mode, the HTTP server) share one instance."""

    def __init__(
        self, *, bot_token: str, app_token: str, team_id: str, bot_user_id: str, bot_id: str
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.loopback = LoopbackServer()
        # DM channel ids chosen for users (see people.dm_channel); survives reset().
        self.dm_channels: dict[str, str] = {}
        self._last_ts_micros = 0  # survives reset() so ts values stay unique per fake
        self.connections: list[Connection] = []
        self.connection_count = 0  # hello-completed connections since start()
        # Slack spreads an app's envelopes over its open connections (up to 10, one per
        # instance); off, the newest connection takes them all, as one client refreshing
        # its link sees it.
        self.spread_envelopes = False
        self.next_connection = 0
        # The installed app (see FakeSlack.install()); None: every event and command goes
        # through. Survives reset().
        self.app: InstalledApp | None = None
        self.init_state()

    def init_state(self) -> None:
        """(Re)create everything a test can observe or configure."""
        self.calls: list[ApiCall] = []
        self.auth_headers_seen: list[tuple[str, str | None]] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.latency: dict[str, float] = {}
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
        self.pending_envelopes: deque[dict[str, Any]] = deque()
        # What may refuse calls and file requests before they are answered (see FakeSlack.attach).
        self.gatekeeper: Gatekeeper | None = None
        self.stream_appends: dict[tuple[str, str], int] = {}
        self.users: dict[str, Person] = {
            self.bot_user_id: Person(self.bot_user_id, "assistant", is_bot=True)
        }
        self.file_requests: list[FileRequest] = []
        self.file_latency = 0.0  # seconds before answering each file request
        self.uploads: list[Upload] = []
        self.files: dict[str, HostedFile] = {}
        self.pending_uploads: dict[str, PendingUpload] = {}  # by file id
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
        # Who is in which conversation, and which are private (see people.add_channel).
        self.channel_members: dict[str, set[str]] = {}
        self.private_channels: set[str] = set()
        self.channel_names: dict[str, str] = {}  # shown in payloads; made up when missing
        self.trigger_ttl = TRIGGER_TTL_SECONDS
        self.ack_deadline = ACK_DEADLINE_SECONDS
        self.triggers: dict[str, Trigger] = {}
        self.response_targets: dict[str, ResponseTarget] = {}  # by the id in the URL
        # What users chose in messages' selects and checkboxes, by (channel, ts).
        self.message_states: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        # Acks Slack would not have applied (too late, or a payload it refuses), by envelope
        # id, with the reason: the user would have seen an error instead.
        self.ack_problems: dict[str, str] = {}

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        return self.loopback.port

    @property
    def base_url(self) -> str:
        """The server's root; the Web API, file host and upload URLs all live below it."""
        return self.loopback.base_url

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ messages

    def next_ts(self) -> str:
        # Wall-clock based (bots may compare ts with time.time()) but strictly increasing.
        micros = max(time.time_ns() // 1000, self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def store(self, message: Message) -> Message:
        message.versions.append(message.text)
        self.messages[(message.channel, message.ts)] = message
        return message

    def clear_assistant_status(self, channel: str, thread_ts: str | None) -> None:
        # Slack clears an assistant thread's status as soon as the app replies in it.
        key = (channel, thread_ts or "")
        if self.assistant_status.get(key):
            self.assistant_status[key] = ""

    def add_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[Any] | None,
        thread_ts: str | None,
        via: str,
    ) -> Ephemeral:
        ephemeral = Ephemeral(channel, user, text, blocks, thread_ts, self.next_ts(), via)
        ephemeral.versions.append(text)
        self.ephemerals.append(ephemeral)
        return ephemeral

    def live_views(self) -> list[View]:
        return [v for v in self.views.values() if not v.closed]

    # ------------------------------------------------------------------ queries

    def get_message(self, channel: str, ts: str) -> Message | None:
        return self.messages.get((channel, ts))

    def messages_in(self, channel: str) -> list[Message]:
        """Every message in a channel, threads included, oldest first."""
        return self.sorted_messages(channel)

    def sorted_messages(self, channel: str) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.channel == channel), key=ts_key)

    def thread_messages(self, channel: str, thread_ts: str) -> list[Message]:
        """Replies in a thread (not the parent), oldest first."""
        return [m for m in self.sorted_messages(channel) if m.is_reply and m.thread_ts == thread_ts]

    def bot_replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.thread_messages(channel, thread_ts) if m.bot_id == self.bot_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def file(self, file_id: str) -> UploadedFile:
        """A hosted file (shared by a user or uploaded by the bot); KeyError if unknown."""
        return self.files[file_id].file

    @property
    def hosted_files(self) -> dict[str, UploadedFile]:
        """Every hosted file by id, oldest first."""
        return {file_id: hosted.file for file_id, hosted in self.files.items()}

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
        return [v for v in self.live_views() if v.type == "modal" and v.user == user]

    def home_view(self, user: str) -> View | None:
        """The App Home view published for ``user``, if any."""
        return next((v for v in self.live_views() if v.type == "home" and v.user == user), None)

    # ------------------------------------------------------------------ waiting

    @property
    def change_count(self) -> int:
        """Counts notifications of possible changes (API calls, envelopes, acks, connections,
        closed views); see wait_change(). Survives reset()."""
        return self.loopback.change_count

    def notify(self) -> None:
        self.loopback.notify()

    async def until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait for ``predicate`` on state changes; False if ``within`` seconds pass first."""
        return await self.loopback.wait_for(predicate, within)

    async def wait_change(self, seen: int, timeout: float) -> bool:
        """Wait until :attr:`change_count` exceeds ``seen``; False if ``timeout`` s pass first.

        For watchers (the sandbox page) that re-read the state after anything may have
        changed, without a predicate of their own.
        """
        return await self.until(lambda: self.change_count > seen, timeout)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 30.0,
        what: str = "",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking on every API call, ack or connection."""
        if not await self.until(predicate, timeout):
            raise AssertionError(f"timed out waiting for {what}\n{self.debug_dump()}")

    def debug_dump(self, last: int = 15) -> str:
        lines = [
            f"  {c.method} status={c.status} error={c.error} params={abbreviate(c.params)}"
            for c in self.calls[-last:]
        ]
        unacked = [e for e in self.sent_at if e not in self.acks]
        return "\n".join(
            [
                f"connections open={len(self.connections)} total={self.connection_count}, "
                f"queued envelopes={len(self.pending_envelopes)}, unacked={len(unacked)}, "
                f"file requests={len(self.file_requests)}",
                f"last {len(lines)} of {len(self.calls)} API calls:",
                *(lines or ["  (none)"]),
            ]
        )


def ts_key(message: Message) -> tuple[int, int]:
    seconds, _, micros = message.ts.partition(".")
    return int(seconds), int(micros or 0)


def abbreviate(params: dict[str, Any], limit: int = 160) -> str:
    rendered = json.dumps(params, default=repr)
    return rendered if len(rendered) <= limit else rendered[: limit - 3] + "..."


def new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:10].upper()


def action_ts() -> str:
    return f"{time.time():.6f}"
