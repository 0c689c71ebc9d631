"""Slack's assistant side panel, through Bolt's `AsyncAssistant`.

Opening the panel starts a thread in the person's DM with the bot: it gets a greeting
and suggested prompts. Each message there names the thread after its first question
and is answered by the same pipeline as any DM, which shows Slack's own "thinking…"
status (with its loading messages) instead of a status message.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.say.async_say import AsyncSay
from slack_bolt.context.set_suggested_prompts.async_set_suggested_prompts import (
    AsyncSetSuggestedPrompts,
)
from slack_bolt.context.set_title.async_set_title import AsyncSetTitle
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError, SlackClientError

from slack_client.backend import PanelBackend
from slack_client.handover import BotIdentity
from slack_client.listeners.agent import PROMPTS_TITLE, SUGGESTED_PROMPTS
from slack_client.listeners.events import parse_message_event
from slack_client.render.views import NOT_ALLOWED
from slack_client.transport.errors import loggable

logger = logging.getLogger(__name__)

GREETING = "Hi! What can I help you with? I can also read files you attach and draw images."
TITLE_CHARS = 80


def build_assistant(backend: PanelBackend, identity: BotIdentity) -> AsyncAssistant:
    assistant = AsyncAssistant(logger=logging.getLogger("slack_bolt.assistant"))

    @assistant.thread_started
    async def on_thread_started(
        event: dict[str, Any], say: AsyncSay, set_suggested_prompts: AsyncSetSuggestedPrompts
    ) -> None:
        thread = event.get("assistant_thread") or {}
        if not backend.allows(str(thread.get("user_id")), None):
            await say(NOT_ALLOWED, unfurl_links=False, unfurl_media=False)
            return
        await backend.add_assistant_thread(
            str(thread.get("channel_id")), str(thread.get("thread_ts"))
        )
        await say(GREETING, unfurl_links=False, unfurl_media=False)
        await set_suggested_prompts(prompts=SUGGESTED_PROMPTS, title=PROMPTS_TITLE)

    @assistant.user_message
    async def on_user_message(
        body: dict[str, Any], event: dict[str, Any], set_title: AsyncSetTitle
    ) -> None:
        message = parse_message_event(
            event, event_id=body.get("event_id"), identity=identity, mention=False
        )
        if message is None:
            return
        channel, thread_ts = message.channel, message.thread_ts
        # Bolt sends every DM thread reply here; only the panel's threads show its status.
        panel = await backend.is_assistant_thread(channel, thread_ts)
        new_thread = await backend.is_new_thread(channel, thread_ts)
        await backend.submit(message)
        if not (panel and new_thread and message.text and backend.allows(message.user, None)):
            return
        # Only informative: a refusal changes nothing.
        try:
            await set_title(_title(message.text))
        except (SlackApiError, SlackClientError, TimeoutError, OSError) as error:
            logger.info("assistant title not set channel=%s: %s", message.channel, loggable(error))

    return assistant


def _title(text: str) -> str:
    first_line = " ".join(text.split())
    return first_line if len(first_line) <= TITLE_CHARS else first_line[: TITLE_CHARS - 1] + "…"
