"""The ``views.*`` Web API methods (open, push, update, publish), trigger ids, and what a
view submission's ``response_action`` does to the user's modals.
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from sandbox.workspace.blocks import usable_elements
from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import str_param
from sandbox.workspace.records import ApiMethod, Trigger, View
from sandbox.workspace.render import view_dict
from sandbox.workspace.state import WorkspaceState
from sandbox.workspace.view_checks import apply_spec, checked_view

MAX_MODAL_STACK = 3  # a modal plus two pushed views
VIEW_ID_ALPHABET = string.ascii_uppercase + string.digits


class ViewsApi:
    """Views as Slack keeps them per user: modal stacks and App Home."""

    def __init__(self, state: WorkspaceState) -> None:
        self.state = state

    def methods(self) -> dict[str, ApiMethod]:
        return {
            "views.open": self.open,
            "views.push": self.push,
            "views.update": self.update,
            "views.publish": self.publish,
        }

    def open(self, params: dict[str, Any]) -> dict[str, Any]:
        spec = checked_view(params, "modal")
        self.check_external_id(spec)
        trigger = self._exchange_trigger(params)
        return {"view": view_dict(self.state, self.add_view(trigger.user, spec))}

    def push(self, params: dict[str, Any]) -> dict[str, Any]:
        spec = checked_view(params, "modal")
        self.check_external_id(spec)
        trigger = self._exchange_trigger(params)
        stack = self.state.open_modals(trigger.user)
        if len(stack) >= MAX_MODAL_STACK:
            raise SlackError("push_limit_reached")
        # Onto the modal the interaction happened in; Slack requires one, the fake opens a
        # new stack without (a simplification).
        below = stack[-1] if stack else None
        return {"view": view_dict(self.state, self.add_view(trigger.user, spec, below=below))}

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = str_param(params, "view_id")
        external_id = str_param(params, "external_id")
        if view_id is None and external_id is None:
            raise SlackError("invalid_arguments", ["[ERROR] view_id or external_id required"])
        if view_id is not None:
            view = self.state.views.get(view_id)
        else:
            view = next((v for v in self.state.live_views() if v.external_id == external_id), None)
        if view is None or view.closed:
            raise SlackError("not_found")
        spec = checked_view(params, view.type)
        self.check_external_id(spec, allowed=view)
        expected = str_param(params, "hash")
        if expected is not None and expected != view.hash:
            raise SlackError("hash_conflict")
        update_view(view, spec)
        return {"view": view_dict(self.state, view)}

    def publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str_param(params, "user_id")
        if user is None:
            raise SlackError("invalid_arguments", ["[ERROR] invalid `user_id`"])
        spec = checked_view(params, "home")
        home = self.state.home_view(user)
        self.check_external_id(spec, allowed=home)
        expected = str_param(params, "hash")
        if home is not None and expected is not None and expected != home.hash:
            raise SlackError("hash_conflict")
        if home is None:
            home = self.add_view(user, spec)
        else:
            update_view(home, spec)
        return {"view": view_dict(self.state, home)}

    def _exchange_trigger(self, params: dict[str, Any]) -> Trigger:
        trigger_id = str_param(params, "trigger_id") or str_param(params, "interactivity_pointer")
        if trigger_id is None:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        trigger = self.state.triggers.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > self.state.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger

    def check_external_id(self, spec: dict[str, Any], allowed: View | None = None) -> None:
        external_id = spec.get("external_id") or ""
        for view in self.state.live_views():
            if external_id and view.external_id == external_id and view is not allowed:
                raise SlackError("duplicate_external_id")

    def add_view(self, user: str, spec: dict[str, Any], *, below: View | None = None) -> View:
        while True:
            view_id = "V" + "".join(secrets.choice(VIEW_ID_ALPHABET) for _ in range(10))
            if view_id not in self.state.views:
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
        apply_spec(view, spec)
        self.state.views[view_id] = view
        return view

    def apply_submission_response(self, body: dict[str, Any], payload: Any) -> None:
        view = self.state.views.get(str(body["view"]["id"]))
        if view is None or view.closed:
            return
        action = payload.get("response_action") if isinstance(payload, dict) else None
        if action is None:
            view.closed = True  # a plain ack closes the submitted view
        elif action == "errors":
            errors = payload.get("errors")
            inputs = {
                block_id
                for block_id, _, _, block in usable_elements(view.blocks)
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
            self.check_external_id(spec, allowed=view)
            update_view(view, spec)
        elif action == "push":
            spec = checked_view({"view": payload.get("view")}, "modal")
            self.check_external_id(spec)
            if len(self.state.open_modals(view.user)) >= MAX_MODAL_STACK:
                raise SlackError("push_limit_reached")
            self.add_view(view.user, spec, below=view)
        elif action == "clear":
            for modal in self.state.open_modals(view.user):
                modal.closed = True
        else:
            raise SlackError("invalid_response_action")


def update_view(view: View, spec: dict[str, Any]) -> None:
    view.versions.append(view.blocks)
    apply_spec(view, spec)
    view.errors = None
    # Like Slack, keep what the user entered in elements the new view still has.
    kept = {(block_id, action_id) for block_id, action_id, _, _ in usable_elements(view.blocks)}
    view.state_values = {
        block_id: {a: entry for a, entry in entries.items() if (block_id, a) in kept}
        for block_id, entries in view.state_values.items()
    }
