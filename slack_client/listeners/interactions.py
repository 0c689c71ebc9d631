"""Buttons, the settings modal, the message shortcuts and App Home.

Every interaction is acknowledged first; what it changes goes through the `Backend`,
which checks what was submitted and who may change what. A modal's submission is
answered within Slack's acknowledgement, so errors show inside the modal, next to the
field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from settings import Scope, ScopeRef
from slack_client.backend import (
    Backend,
    SettingsChange,
    SettingsDesk,
    SettingsInvalid,
    SettingsRefused,
    ToolActions,
)
from slack_client.listeners.agent import ViewedContexts, messages_tab_opened
from slack_client.listeners.event_registry import EventListeners
from slack_client.listeners.seal import ScopeSeal
from slack_client.render.views import (
    ANSWER_FEEDBACK,
    APPROVE_ACTION,
    CANCEL_ACTION,
    MODEL_FIELD,
    NOT_ALLOWED,
    OPEN_SETTINGS,
    SETTINGS_VIEW,
    SHOW_USAGE,
    SUMMARIZE_SHORTCUT,
    THREAD_SETTINGS_SHORTCUT,
    form_values,
    home_view,
    notice_home,
    settings_modal,
    submitted_values,
    text_modal,
    thread_settings_notice,
    usage_text,
)
from slack_client.transport.errors import loggable

logger = logging.getLogger(__name__)

THANKS = "Thanks for the feedback: it helps whoever runs this bot tune it."
STALE_FORM = "This form is out of date. Close it and open the settings again."
NOT_SAVED = "Your settings could not be saved just now. Please try again."
SUMMARY_FAILED = "I couldn't start that summary just now. Please try again in a moment."
NOT_OPENED = "I couldn't open this thread's settings just now. Please try again in a moment."
# Actions with a listener of their own; the catch-all acknowledges every other one (the
# selects and inputs of our modals), whatever the order listeners are registered in.
HANDLED_ACTIONS = frozenset(
    {OPEN_SETTINGS, SHOW_USAGE, MODEL_FIELD, ANSWER_FEEDBACK, APPROVE_ACTION, CANCEL_ACTION}
)


async def open_settings_modal(
    client: AsyncWebClient,
    backend: SettingsDesk,
    seal: ScopeSeal,
    *,
    trigger_id: str,
    user: str,
    scope: ScopeRef,
    thread_starter: str | None = None,
) -> None:
    """Raises SettingsRefused, before anything is shown, when `user` may not see them."""
    form = await backend.settings_form(user, scope, thread_starter)
    metadata = seal.seal(scope, user, thread_starter)
    view = settings_modal(form, form_values(form.stored), metadata)
    await client.views_open(trigger_id=trigger_id, view=view)


def register_interactions(
    app: AsyncApp,
    events: EventListeners,
    backend: Backend,
    seal: ScopeSeal,
    contexts: ViewedContexts,
) -> None:
    _register_settings(app, backend, seal)
    _register_buttons(app, backend)
    _register_summary(app, backend)
    _register_home(events, backend, contexts)


def _register_settings(app: AsyncApp, backend: Backend, seal: ScopeSeal) -> None:
    """The settings modal: opened from App Home or a thread's menu, rebuilt for the model
    chosen, saved."""

    @app.action(OPEN_SETTINGS)
    async def on_open_settings(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        if backend.allows(user, None):
            await open_settings_modal(
                client,
                backend,
                seal,
                trigger_id=body["trigger_id"],
                user=user,
                scope=ScopeRef.user(user),
            )

    @app.action(MODEL_FIELD)
    async def on_model_chosen(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The modal shows only what the chosen model accepts: rebuild it for the new one."""
        await ack()
        view, user = body["view"], body["user"]["id"]
        sealed = seal.open(view, user)
        if sealed is None:
            return
        try:
            form = await backend.settings_form(user, sealed.scope, sealed.starter)
        except SettingsRefused:
            # Left as it is: saving it says why, where the person looks.
            logger.warning("settings form refused user=%s", user)
            return
        values = submitted_values(view.get("state", {}))
        await client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=settings_modal(form, values, seal.seal(sealed.scope, user, sealed.starter)),
        )

    @app.view(SETTINGS_VIEW)
    async def on_settings_saved(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        sealed = seal.open(view, user)
        if sealed is None:
            await ack(response_action="errors", errors={MODEL_FIELD: STALE_FORM})
            return
        scope = sealed.scope
        submitted = submitted_values(view.get("state", {}))
        try:
            change = await backend.save_settings(user, scope, submitted, sealed.starter)
        except SettingsInvalid as invalid:
            shown = {block.get("block_id") for block in view.get("blocks", [])}
            errors: dict[str, str] = {}
            for name, problem in invalid.errors.items():
                # An error on a field the modal does not have is shown at the top.
                errors.setdefault(name if name in shown else MODEL_FIELD, problem)
            await ack(response_action="errors", errors=errors)
            return
        except SettingsRefused as refusal:
            logger.warning("settings refused user=%s scope=%s", user, scope.kind.value)
            await ack(response_action="errors", errors={MODEL_FIELD: str(refusal)})
            return
        except Exception as error:  # noqa: BLE001 - shown in the modal, which stays open
            logger.error("settings not saved user=%s: %s", user, loggable(error))
            await ack(response_action="errors", errors={MODEL_FIELD: NOT_SAVED})
            return
        logger.info("settings saved user=%s scope=%s", user, scope.kind.value)
        await ack()
        await _after_save(client, backend, user, scope, change)

    @app.shortcut(THREAD_SETTINGS_SHORTCUT)
    async def on_thread_settings(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user, channel = body["user"]["id"], body["channel"]["id"]
        if not backend.allows(user, channel):
            await respond(NOT_ALLOWED, unfurl_links=False, unfurl_media=False)
            return
        message = body.get("message", {})
        thread_ts = message.get("thread_ts") or message.get("ts") or body.get("message_ts")
        scope = ScopeRef.thread(channel, str(thread_ts))
        trigger_id = body["trigger_id"]
        try:
            await open_settings_modal(
                client,
                backend,
                seal,
                trigger_id=trigger_id,
                user=user,
                scope=scope,
                thread_starter=_thread_starter(message),
            )
        except SettingsRefused as refusal:
            logger.info("thread settings refused user=%s channel=%s", user, channel)
            await _refuse_in_modal(client, respond, trigger_id, str(refusal))
        except Exception as error:  # noqa: BLE001 - one short line for the person
            logger.error("thread settings not opened user=%s: %s", user, loggable(error))
            await respond(NOT_OPENED)


def _register_buttons(app: AsyncApp, backend: Backend) -> None:
    """Buttons on the bot's messages and App Home: usage, feedback, approvals."""

    @app.action(SHOW_USAGE)
    async def on_show_usage(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        if backend.allows(user, None):
            text = usage_text(await backend.usage(user))
            await client.views_open(
                trigger_id=body["trigger_id"], view=text_modal("Your usage", text)
            )

    @app.action(ANSWER_FEEDBACK)
    async def on_feedback(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        channel = body.get("channel", {}).get("id") or body["container"].get("channel_id")
        if not backend.allows(body["user"]["id"], channel):
            return
        await backend.record_feedback(
            body["user"]["id"], channel, body["container"]["message_ts"], str(action.get("value"))
        )
        await respond(
            text=THANKS,
            response_type="ephemeral",
            replace_original=False,
            unfurl_links=False,
            unfurl_media=False,
        )

    @app.action(APPROVE_ACTION)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _decide(backend, body, respond, approve=True)

    @app.action(CANCEL_ACTION)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _decide(backend, body, respond, approve=False)

    async def unhandled(body: dict[str, Any]) -> bool:
        actions = body.get("actions") or [{}]
        return actions[0].get("action_id") not in HANDLED_ACTIONS

    @app.action(re.compile(".*"), matchers=[unhandled])
    async def on_other_action(ack: AsyncAck) -> None:
        """Selects and inputs in our modals send nothing we act on; acknowledged."""
        await ack()


def _register_summary(app: AsyncApp, backend: Backend) -> None:
    """The message shortcut that summarises a thread into the person's DM."""

    @app.shortcut(SUMMARIZE_SHORTCUT)
    async def on_summarize_thread(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user, channel = body["user"]["id"], body["channel"]["id"]
        # Before the budget, as for `/ai`: someone not answered here is told so, not counted.
        if not backend.allows(user, channel):
            await respond(NOT_ALLOWED, unfurl_links=False, unfurl_media=False)
            return
        # It calls the model as `/ai summarize` does: the same per-person budget.
        if refusal := await backend.throttled(user):
            await respond(refusal, unfurl_links=False, unfurl_media=False)
            return
        message = body.get("message", {})
        thread_ts = message.get("thread_ts") or message.get("ts") or body.get("message_ts")
        try:
            note = await backend.summarize(user, channel, str(thread_ts), None)
        except Exception as error:  # noqa: BLE001 - one short line for the person
            logger.error("summary not started user=%s: %s", user, loggable(error))
            note = SUMMARY_FAILED
        await respond(note, unfurl_links=False, unfurl_media=False)


def _register_home(events: EventListeners, backend: Backend, contexts: ViewedContexts) -> None:
    """App Home: the settings it shows, or the Messages tab of the agent experience."""

    @events.on("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = str(event.get("user"))
        if event.get("tab") == "messages":
            await messages_tab_opened(client, backend, contexts, event)
            return
        if event.get("tab") != "home":
            return
        if backend.allows(user, None):
            view = home_view(await backend.effective_settings(user))
        else:
            view = notice_home(NOT_ALLOWED)
        await client.views_publish(user_id=user, view=view)


async def _decide(
    backend: ToolActions, body: dict[str, Any], respond: AsyncRespond, *, approve: bool
) -> None:
    user = body["user"]["id"]
    approval_id = str(body["actions"][0].get("value") or "")
    note = await backend.decide_tool_call(user, approval_id, approve)
    if note:
        await respond(
            text=note,
            response_type="ephemeral",
            replace_original=False,
            unfurl_links=False,
            unfurl_media=False,
        )


async def _refuse_in_modal(
    client: AsyncWebClient, respond: AsyncRespond, trigger_id: str, refusal: str
) -> None:
    """A refusal where the person expected the modal: private, and seen wherever they
    used the shortcut (a thread's pane or the channel). Should Slack not open it (the
    trigger expired), the same line comes as a message only they see."""
    try:
        await client.views_open(trigger_id=trigger_id, view=text_modal("Thread settings", refusal))
    except Exception as error:  # noqa: BLE001 - said privately below instead
        logger.warning("refusal modal not opened: %s", loggable(error))
        await respond(refusal)


def _thread_starter(message: Mapping[str, Any]) -> str | None:
    """Who started the thread of a shortcut's message: the message's author when it is
    the thread's root, else the `parent_user_id` Slack gives every reply."""
    ts, thread_ts = message.get("ts"), message.get("thread_ts")
    starter = message.get("user") if thread_ts in (None, ts) else message.get("parent_user_id")
    return starter if isinstance(starter, str) and starter else None


async def _after_save(
    client: AsyncWebClient,
    backend: SettingsDesk,
    user: str,
    scope: ScopeRef,
    change: SettingsChange,
) -> None:
    """What others should know, and what should show the change: a thread's settings
    change every answer in it, so the thread is told; App Home shows the new values."""
    try:
        if scope.channel_id is not None and scope.thread_ts is not None:
            await client.chat_postMessage(
                channel=scope.channel_id,
                thread_ts=scope.thread_ts,
                text=thread_settings_notice(user, change.after, change.before),
                # The instructions quoted are anyone's words: nothing in them unfurls.
                unfurl_links=False,
                unfurl_media=False,
            )
        elif scope.kind is Scope.USER:
            view = home_view(await backend.effective_settings(user))
            await client.views_publish(user_id=user, view=view)
    except Exception as error:  # noqa: BLE001 - the settings are saved either way
        logger.warning("after saving settings user=%s: %s", user, loggable(error))
