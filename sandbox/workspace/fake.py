"""FakeSlack: the fake workspace as tests and the sandbox use it, a facade over its state
and the parts that act on it (Web API families, Socket Mode, senders, the HTTP server).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from sandbox.manifest import InstalledApp, check_manifest
from sandbox.workspace import people
from sandbox.workspace.answers import Answers
from sandbox.workspace.assistant import AssistantApi
from sandbox.workspace.chat import ChatApi
from sandbox.workspace.conversations import ConversationsApi
from sandbox.workspace.events import Events
from sandbox.workspace.files import FilesApi
from sandbox.workspace.hook import Gatekeeper
from sandbox.workspace.http_delivery import HttpDelivery
from sandbox.workspace.interactions import Interactions
from sandbox.workspace.records import Ephemeral, Message, UploadedFile
from sandbox.workspace.server import WorkspaceServer
from sandbox.workspace.socket_mode import SocketMode
from sandbox.workspace.state import WorkspaceState
from sandbox.workspace.users import UsersApi
from sandbox.workspace.views import ViewsApi


class FakeSlack(WorkspaceState):
    """Slack's Web API and Socket Mode, faked in-process. See :mod:`sandbox.workspace`.

    The records (:attr:`messages`, :attr:`calls`, ...) and queries are the state's; the
    methods below hand the work to the part that does it.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
    ) -> None:
        super().__init__(
            bot_token=bot_token,
            app_token=app_token,
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
        )
        views = ViewsApi(self)
        answers = Answers(self, views)
        self._apply_ack = answers.apply_ack
        self._socket = SocketMode(self, answers.apply_ack)
        # How events, commands and interactions reach the app (see use_http).
        self._delivery = self._socket
        self._http_delivery: HttpDelivery | None = None
        self._events = Events(self, self._socket)
        self._interactions = Interactions(self, self._socket)
        methods = {
            **UsersApi(self).methods(),
            **self._socket.methods(),
            **ChatApi(self).methods(),
            **ConversationsApi(self).methods(),
            **FilesApi(self).methods(),
            **views.methods(),
            **AssistantApi(self).methods(),
        }
        self._http = WorkspaceServer(self, methods, self._socket, answers)

    def install(self, manifest: Mapping[str, Any]) -> InstalledApp:
        """Install the app `manifest` describes, or raise ManifestRejected like Slack.

        From then on only its subscribed events are delivered (the others are recorded
        in :attr:`undelivered`), and people can use only its commands and shortcuts.
        """
        self.app = check_manifest(manifest)
        return self.app

    def use_http(self, urls: Sequence[str], signing_secret: str) -> HttpDelivery:
        """Deliver events, commands and interactions over HTTP from now on, as to an app in
        HTTP mode: signed POSTs to `urls` in turn (see :mod:`sandbox.workspace.http_delivery`).
        The senders (post_user_message, click, slash_command, ...) stay the same."""
        self._http_delivery = HttpDelivery(self, self._apply_ack, urls, signing_secret)
        self._delivery = self._http_delivery
        self._events.socket = self._interactions.socket = self._http_delivery
        return self._http_delivery

    @property
    def http(self) -> HttpDelivery:
        """The HTTP delivery (its requests, aim, url_verification); see use_http."""
        if self._http_delivery is None:
            raise AssertionError("this fake delivers over Socket Mode: call use_http first")
        return self._http_delivery

    def reset(self) -> None:
        """Forget messages, calls, envelopes and the attached gatekeeper; live connections
        stay up."""
        self.init_state()

    def attach(self, gatekeeper: Gatekeeper) -> None:
        """Ask ``gatekeeper`` before answering each Web API call and file request (tests'
        faults and rate limits: :mod:`tests.fakes.slack_faults`); replaces any other."""
        self.gatekeeper = gatekeeper

    def detach(self) -> None:
        """Answer every request again as the workspace would."""
        self.gatekeeper = None

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
        await self._http.start(port, host=host, setup=setup)

    async def stop(self) -> None:
        """Close the Socket Mode connections, cut off requests in flight, stop serving."""
        if self._http_delivery is not None:
            await self._http_delivery.close()
        await self._http.stop()

    # ------------------------------------------------------------------ Socket Mode

    async def send_envelope(
        self, type: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """See :meth:`SocketMode.send_envelope`."""
        return await self._delivery.send_envelope(type, payload, retry_attempt=retry_attempt)

    async def deliver_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0
    ) -> str:
        """See :meth:`SocketMode.deliver_event`."""
        return await self._delivery.deliver_event(
            event, event_id=event_id, retry_attempt=retry_attempt
        )

    async def redeliver(self, envelope_id: str) -> str:
        """See :meth:`SocketMode.redeliver` (:meth:`HttpDelivery.redeliver` over HTTP)."""
        return await self._delivery.redeliver(envelope_id)

    async def disconnect_clients(
        self, reason: str = "refresh_requested", *, grace: float = 2.0
    ) -> None:
        """See :meth:`SocketMode.disconnect_clients`."""
        await self._socket.disconnect_clients(reason, grace=grace)

    async def drop_connections(self, *, abort: bool = True) -> None:
        """See :meth:`SocketMode.drop_connections`."""
        await self._socket.drop_connections(abort=abort)

    async def wait_connected(self, count: int = 1, timeout: float = 10) -> None:
        """See :meth:`SocketMode.wait_connected`."""
        await self._socket.wait_connected(count, timeout)

    # ------------------------------------------------------------------ people and channels

    def add_user(
        self, user_id: str, name: str, *, is_bot: bool = False, team: str | None = None
    ) -> None:
        """See :func:`sandbox.workspace.people.add_user`."""
        people.add_user(self, user_id, name, is_bot=is_bot, team=team)

    def dm_channel(self, user: str) -> str:
        """See :func:`sandbox.workspace.people.dm_channel`."""
        return people.dm_channel(self, user)

    def user_name(self, user: str) -> str:
        """See :func:`sandbox.workspace.people.user_name`."""
        return people.user_name(self, user)

    def add_channel(
        self, channel: str, members: Sequence[str], *, private: bool = False, bot: bool = True
    ) -> None:
        """See :func:`sandbox.workspace.people.add_channel`."""
        people.add_channel(self, channel, members, private=private, bot=bot)

    # ------------------------------------------------------------------ events

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
        """See :meth:`Events.post_user_message`."""
        return await self._events.post_user_message(
            channel,
            user,
            text,
            thread_ts=thread_ts,
            bot_id=bot_id,
            subtype=subtype,
            files=files,
            app_context=app_context,
        )

    async def open_home(self, user: str) -> str:
        """See :meth:`Events.open_home`."""
        return await self._events.open_home(user)

    async def start_assistant_thread(
        self, user: str, *, context_channel: str | None = None
    ) -> tuple[str, str]:
        """See :meth:`Events.start_assistant_thread`."""
        return await self._events.start_assistant_thread(user, context_channel=context_channel)

    async def open_messages_tab(self, user: str) -> str:
        """See :meth:`Events.open_messages_tab`."""
        return await self._events.open_messages_tab(user)

    async def change_context(self, user: str, entities: Sequence[Mapping[str, Any]]) -> str:
        """See :meth:`Events.change_context`."""
        return await self._events.change_context(user, entities)

    async def press_stop(self, user: str, channel: str, thread_ts: str) -> str:
        """See :meth:`Events.press_stop`."""
        return await self._events.press_stop(user, channel, thread_ts)

    # ------------------------------------------------------------------ interactivity

    def enter_values(self, user: str, view_id: str, values: Mapping[str, object]) -> None:
        """See :meth:`Interactions.enter_values`."""
        self._interactions.enter_values(user, view_id, values)

    async def slash_command(
        self, user: str, channel: str, text: str, *, command: str = "/ai"
    ) -> str:
        """See :meth:`Interactions.slash_command`."""
        return await self._interactions.slash_command(user, channel, text, command=command)

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
        """See :meth:`Interactions.click`."""
        return await self._interactions.click(
            user,
            action_id=action_id,
            message=message,
            ephemeral=ephemeral,
            view_id=view_id,
            value=value,
            block_id=block_id,
        )

    async def submit_view(
        self,
        user: str,
        view_id: str,
        values: Mapping[str, object] | None = None,
        *,
        timeout: float = 10,
    ) -> str:
        """See :meth:`Interactions.submit_view`."""
        return await self._interactions.submit_view(user, view_id, values, timeout=timeout)

    async def close_view(self, user: str, view_id: str) -> str:
        """See :meth:`Interactions.close_view`."""
        return await self._interactions.close_view(user, view_id)

    async def message_shortcut(
        self, user: str, channel: str, message_ts: str, callback_id: str
    ) -> str:
        """See :meth:`Interactions.message_shortcut`."""
        return await self._interactions.message_shortcut(user, channel, message_ts, callback_id)
