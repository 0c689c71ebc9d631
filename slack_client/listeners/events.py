"""What a Slack message event means to the bot, parsed once at the edge."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_client.handover import AppContext, BotIdentity, IncomingMessage, is_dm_channel
from slack_client.transport.files import parse_files

# Subtypes that still carry a person's words; every other subtype (edits, deletions,
# joins, bot messages, topic changes…) is ignored.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_ID = re.compile(r"^[CDG][A-Z0-9]{1,20}$")


def parse_message_event(
    event: Mapping[str, Any], *, event_id: str | None, identity: BotIdentity, mention: bool
) -> IncomingMessage | None:
    """An IncomingMessage for a person's message, or None for anything to ignore."""
    if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    text = event.get("text") or ""
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    if user == identity.user_id or not isinstance(text, str) or not _TS.match(ts):
        return None
    thread_ts = event.get("thread_ts")
    if not (isinstance(thread_ts, str) and _TS.match(thread_ts)):
        thread_ts = ts
    is_dm = event.get("channel_type") == "im" or is_dm_channel(channel)
    return IncomingMessage(
        channel=channel,
        user=user,
        text=text,
        ts=ts,
        thread_ts=thread_ts,
        is_dm=is_dm,
        is_mention=mention or f"<@{identity.user_id}>" in text,
        team_id=event.get("team") if isinstance(event.get("team"), str) else identity.team_id,
        event_id=event_id,
        client_msg_id=event.get("client_msg_id")
        if isinstance(event.get("client_msg_id"), str)
        else None,
        files=parse_files(event.get("files")),
        viewing=parse_app_context(event.get("app_context")),
        external=is_external(event, identity),
    )


def is_external(event: Mapping[str, Any], identity: BotIdentity) -> bool:
    """Whether the author of `event` belongs to another organisation (Slack Connect).

    Slack names the author's team in `user_team` (an organisation id on Enterprise Grid)
    and `team`, and in `user_profile.team` where a profile comes along. Any of them that
    is not the bot's own team or organisation makes the author external.
    """
    profile = event.get("user_profile")
    return identity.is_foreign(
        event.get("user_team"),
        event.get("team"),
        profile.get("team") if isinstance(profile, Mapping) else None,
    )


def parse_app_context(raw: object) -> AppContext | None:
    """The most relevant conversation among Slack's context entities, if any.

    Entities come most relevant first: a channel (``slack#/types/channel_id``) or a
    message in one (``slack#/types/message_context``, whose thread is read). Canvases
    and lists are not conversations the bot can read, so they give None.
    """
    entities = raw.get("entities") if isinstance(raw, Mapping) else None
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, Mapping):
            continue
        kind, value = entity.get("type"), entity.get("value")
        if kind == "slack#/types/channel_id" and isinstance(value, str) and _ID.match(value):
            return AppContext(value)
        if kind == "slack#/types/message_context" and isinstance(value, Mapping):
            channel, ts = value.get("channel_id"), value.get("message_ts")
            if isinstance(channel, str) and _ID.match(channel):
                thread = ts if isinstance(ts, str) and _TS.match(ts) else None
                return AppContext(channel, thread)
    return None
