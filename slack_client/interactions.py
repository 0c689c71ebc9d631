"""Buttons, the settings modal, the thread shortcut and App Home.

Every interaction is acknowledged first; what it changes goes through the `Backend`,
which enforces who may change what. A modal's submission is validated here so errors
show inside the modal, next to the field.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from settings import ScopeRef, validate
from slack_client.backend import Backend, SettingsRefused
from slack_client.views import (
    ANSWER_FEEDBACK,
    MODEL_FIELD,
    NOT_ALLOWED,
    OPEN_SETTINGS,
    SETTINGS_VIEW,
    SHOW_USAGE,
    THREAD_SETTINGS_SHORTCUT,
    form_values,
    home_view,
    notice_home,
    scope_of,
    settings_modal,
    submitted_values,
    text_modal,
    usage_text,
)

logger = logging.getLogger(__name__)

THANKS = "Thanks for the feedback: it helps whoever runs this bot tune it."
STALE_FORM = "This form is out of date. Close it and open the settings again."


def register_interactions(app: AsyncApp, backend: Backend) -> None:
    async def open_settings_modal(
        client: AsyncWebClient, trigger_id: str, user: str, scope: ScopeRef
    ) -> None:
        form = await backend.settings_form(user, scope)
        await client.views_open(
            trigger_id=trigger_id, view=settings_modal(form, form_values(form.stored))
        )

    @app.action(OPEN_SETTINGS)
    async def on_open_settings(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        if backend.allows(user, None):
            await open_settings_modal(client, body["trigger_id"], user, ScopeRef.user(user))

    @app.action(SHOW_USAGE)
    async def on_show_usage(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        if backend.allows(user, None):
            text = usage_text(await backend.usage(user))
            await client.views_open(
                trigger_id=body["trigger_id"], view=text_modal("Your usage", text)
            )

    @app.action(MODEL_FIELD)
    async def on_model_chosen(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The modal shows only what the chosen model accepts: rebuild it for the new one."""
        await ack()
        view, user = body["view"], body["user"]["id"]
        scope = scope_of(view, user)
        if scope is None:
            return
        form = await backend.settings_form(user, scope)
        await client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=settings_modal(form, submitted_values(view.get("state", {}))),
        )

    @app.action(ANSWER_FEEDBACK)
    async def on_feedback(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        channel = body.get("channel", {}).get("id") or body["container"].get("channel_id")
        await backend.record_feedback(
            body["user"]["id"], channel, body["container"]["message_ts"], str(action.get("value"))
        )
        await respond(text=THANKS, response_type="ephemeral", replace_original=False)

    @app.action(re.compile(".*"))
    async def on_other_action(ack: AsyncAck) -> None:
        """Selects and inputs in our modals send nothing we act on; acknowledged."""
        await ack()

    @app.view(SETTINGS_VIEW)
    async def on_settings_saved(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        scope = scope_of(view, user)
        if scope is None:
            await ack(response_action="errors", errors={MODEL_FIELD: STALE_FORM})
            return
        form = await backend.settings_form(user, scope)
        result = validate(submitted_values(view.get("state", {})), form.allowed_models)
        if result.errors:
            shown = {block.get("block_id") for block in view.get("blocks", [])}
            errors: dict[str, str] = {}
            for name, problem in result.errors.items():
                # An error on a field the modal does not have is shown at the top.
                errors.setdefault(name if name in shown else MODEL_FIELD, problem)
            await ack(response_action="errors", errors=errors)
            return
        try:
            await backend.save_settings(user, scope, result.overrides)
        except SettingsRefused as refusal:
            logger.warning("settings refused user=%s scope=%s", user, scope.kind.value)
            await ack(response_action="errors", errors={MODEL_FIELD: str(refusal)})
            return
        logger.info("settings saved user=%s scope=%s", user, scope.kind.value)
        await ack()

    @app.shortcut(THREAD_SETTINGS_SHORTCUT)
    async def on_thread_settings(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user, channel = body["user"]["id"], body["channel"]["id"]
        if not backend.allows(user, channel):
            await respond(NOT_ALLOWED)
            return
        message = body.get("message", {})
        thread_ts = message.get("thread_ts") or message.get("ts") or body.get("message_ts")
        scope = ScopeRef.thread(channel, str(thread_ts))
        await open_settings_modal(client, body["trigger_id"], user, scope)

    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = str(event.get("user"))
        if event.get("tab") != "home":
            return
        if backend.allows(user, None):
            view = home_view(await backend.effective_settings(user))
        else:
            view = notice_home(NOT_ALLOWED)
        await client.views_publish(user_id=user, view=view)
