"""People using the app's interactive parts, as Slack delivers it over Socket Mode: slash
commands, clicks in messages, ephemeral messages and views, view submissions and closes,
message shortcuts; each with a fresh trigger_id and, where Slack gives one, a response_url.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.workspace.blocks import STATEFUL_ELEMENTS, usable_elements
from sandbox.workspace.inputs import check_input, click_action, state_entry, state_values
from sandbox.workspace.people import channel_name, escape_names, user_name
from sandbox.workspace.records import Ephemeral, Message, ResponseTarget, Trigger, View
from sandbox.workspace.render import (
    channel_object,
    message_dict,
    team_object,
    user_object,
    view_dict,
)
from sandbox.workspace.socket_mode import SocketMode
from sandbox.workspace.state import (
    APP_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    WorkspaceState,
    action_ts,
)


class Interactions:
    """Test-side senders playing the user; a user can only use what is shown to them."""

    def __init__(self, state: WorkspaceState, socket: SocketMode) -> None:
        self.state = state
        self.socket = socket

    def enter_values(self, user: str, view_id: str, values: Mapping[str, object]) -> None:
        """The user types or chooses in a view's inputs (by action_id) without submitting.

        Nothing is sent; like Slack, what was entered travels in the view's state with the
        user's next interaction with it (a ``dispatch_action`` click, the submission).
        Values are given as to :meth:`submit_view`. AssertionError as for :meth:`click`.
        """
        view = self._visible_view(user, view_id)
        inputs = {
            action_id: (block_id, element)
            for block_id, action_id, element, block in usable_elements(view.blocks)
            if block.get("type") == "input" and element.get("type") in STATEFUL_ELEMENTS
        }
        unknown = set(values) - set(inputs)
        if unknown:
            raise AssertionError(f"view {view_id} has no input with action_id {sorted(unknown)}")
        for action_id, value in values.items():
            block_id, element = inputs[action_id]
            view.state_values.setdefault(block_id, {})[action_id] = state_entry(element, value)

    async def slash_command(
        self, user: str, channel: str, text: str, *, command: str = "/ai"
    ) -> str:
        """The user runs ``command text`` in ``channel``; returns the envelope id."""
        if self.state.app is not None and command not in self.state.app.commands:
            raise AssertionError(f"the installed app has no {command} command")
        if self.state.app is not None and command in self.state.app.escaped_commands:
            text = escape_names(self.state, text)
        target = ResponseTarget(user, channel, thread_ts=None)
        # Slack sends slash commands form-encoded, so every value is a string.
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.state.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": channel_name(self.state, channel),
            "user_id": user,
            "user_name": user_name(self.state, user),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(target),
            "trigger_id": self._issue_trigger(user),
        }
        return await self.socket.send_interaction(payload, target, "slash_commands")

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
            "user": user_object(self.state, user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
        }
        rest: dict[str, Any] = {
            "team": team_object(self.state),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view_id is not None:
            view = self._visible_view(user, view_id)
            action = click_action(view.blocks, view.state_values, action_id, block_id, value)
            payload["container"] = {"type": "view", "view_id": view.id}
            payload["trigger_id"] = self._issue_trigger(user, view.id)
            payload.update(rest, view=view_dict(self.state, view), actions=[action])
            return await self.socket.send_interaction(payload, None)
        target, ts, blocks, shown = self._clicked_message(user, message, ephemeral)
        channel, thread_ts = target.channel, target.thread_ts
        state = self.state.message_states.setdefault((channel, ts), {})
        action = click_action(blocks, state, action_id, block_id, value)
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
        payload.update(rest, channel=channel_object(self.state, channel))
        if shown is not None:
            payload["message"] = shown
        payload["state"] = {"values": state_values(blocks, state)}
        payload["response_url"] = self._response_url(target)
        payload["actions"] = [action]
        return await self.socket.send_interaction(payload, target)

    def _clicked_message(
        self, user: str, message: Message | None, ephemeral: Ephemeral | None
    ) -> tuple[ResponseTarget, str, list[Any], dict[str, Any] | None]:
        """Where a click in a message or an ephemeral message answers to, the clicked
        message's ts and blocks, and the message as the payload shows it (Slack sends
        none for an ephemeral one). AssertionError if the user does not see it."""
        if message is not None:
            current = self.state.messages.get((message.channel, message.ts))
            if current is None:
                raise AssertionError(f"message {message.ts} in {message.channel} is gone")
            channel, ts = current.channel, current.ts
            thread_ts = current.thread_ts if current.is_reply else None
            target = ResponseTarget(user, channel, thread_ts, message=(channel, ts))
            return target, ts, current.blocks or [], message_dict(self.state, current)
        assert ephemeral is not None
        if ephemeral.user != user or ephemeral.deleted:
            raise AssertionError(f"{user} does not see the ephemeral {ephemeral.message_ts}")
        target = ResponseTarget(user, ephemeral.channel, ephemeral.thread_ts, ephemeral=ephemeral)
        return target, ephemeral.message_ts, ephemeral.blocks or [], None

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
        inputs = [
            entry for entry in usable_elements(view.blocks) if entry[3].get("type") == "input"
        ]
        unknown = set(given) - {action_id for _, action_id, _, _ in inputs}
        if unknown:
            raise AssertionError(f"view {view_id} has no input with action_id {sorted(unknown)}")
        for block_id, action_id, element, _ in inputs:
            if action_id in given:
                entry = state_entry(element, given[action_id])
                view.state_values.setdefault(block_id, {})[action_id] = entry
        state = state_values(view.blocks, view.state_values)
        for block_id, action_id, element, block in inputs:
            check_input(block, element, state.get(block_id, {}).get(action_id))
        view.errors = None  # the user sees old errors go when they submit again
        payload = {
            "type": "view_submission",
            "team": team_object(self.state),
            "user": user_object(self.state, user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._issue_trigger(user, view.id),
            "view": view_dict(self.state, view),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        envelope_id = await self.socket.send_interaction(payload, None)
        await self.state.wait_for(
            lambda: envelope_id in self.state.acks,
            timeout=timeout,
            what=f"the ack of the submission of view {view_id}",
        )
        problem = self.state.ack_problems.get(envelope_id)
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
        closing = self.state.open_modals(user) if view.clear_on_close else [view]
        for modal in closing:
            modal.closed = True
        self.state.notify()
        if not view.notify_on_close:
            return ""
        payload = {
            "type": "view_closed",
            "team": team_object(self.state),
            "user": user_object(self.state, user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "view": view_dict(self.state, view),
            "is_cleared": view.clear_on_close,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self.socket.send_interaction(payload, None)

    async def message_shortcut(
        self, user: str, channel: str, message_ts: str, callback_id: str
    ) -> str:
        """The user runs the app's message shortcut ``callback_id`` on a stored message."""
        if self.state.app is not None and callback_id not in self.state.app.shortcuts:
            raise AssertionError(f"the installed app has no shortcut {callback_id!r}")
        message = self.state.messages.get((channel, message_ts))
        if message is None:
            raise AssertionError(f"no message {message_ts} in {channel}")
        thread_ts = message.thread_ts if message.is_reply else None
        target = ResponseTarget(user, channel, thread_ts, message=(channel, message_ts))
        payload = {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": action_ts(),
            "team": team_object(self.state),
            "user": user_object(self.state, user),
            "channel": channel_object(self.state, channel),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self._issue_trigger(user),
            "response_url": self._response_url(target),
            "message_ts": message_ts,
            "message": message_dict(self.state, message),
        }
        return await self.socket.send_interaction(payload, target)

    def _visible_view(self, user: str, view_id: str) -> View:
        """The view a user is looking at; AssertionError if they cannot see it."""
        view = self.state.views.get(view_id)
        if view is None or view.closed:
            raise AssertionError(f"view {view_id} is not open")
        if view.user != user:
            raise AssertionError(f"view {view_id} is shown to {view.user}, not to {user}")
        stack = self.state.open_modals(user)
        if view.type == "modal" and stack[-1] is not view:
            raise AssertionError(f"view {view_id} is covered by the pushed view {stack[-1].id}")
        return view

    def _issue_trigger(self, user: str, view_id: str | None = None) -> str:
        trigger_id = (
            f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        )
        self.state.triggers[trigger_id] = Trigger(user, time.monotonic(), view_id)
        return trigger_id

    def _response_url(self, target: ResponseTarget) -> str:
        key = secrets.token_urlsafe(18)
        self.state.response_targets[key] = target
        return f"{self.state.base_url}/response/{key}"
