"""What a Slack message event means to the bot, parsed once at the edge."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Subtypes that still carry a person's words; every other subtype (edits, deletions,
# joins, bot messages, topic changes…) is ignored.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_ID = re.compile(r"^[CDG][A-Z0-9]{1,20}$")


def is_dm_channel(channel: str) -> bool:
    """Whether a conversation id is a direct message's: Slack's ids start with their kind."""
    return channel.startswith("D")


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str
    team_id: str
    # The Enterprise Grid organisation the bot's workspace belongs to, if any.
    enterprise_id: str | None = None

    def is_foreign(self, *teams: object) -> bool:
        """Whether any of these team (or organisation) ids, where given, is not the
        bot's own."""
        home = (self.team_id, self.enterprise_id)
        return any(isinstance(team, str) and team and team not in home for team in teams)


@dataclass(frozen=True)
class AppContext:
    """What a person has open beside the app's Messages tab (agent apps): a channel, or a
    thread in it. Slack sends it as ``app_context_changed`` and on their messages."""

    channel: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class SharedFile:
    """A file attached to a message, as the event describes it (not yet downloaded)."""

    id: str
    name: str
    mimetype: str
    filetype: str
    size: int
    url: str


@dataclass(frozen=True)
class IncomingMessage:
    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str
    is_dm: bool
    is_mention: bool
    team_id: str | None
    event_id: str | None
    client_msg_id: str | None
    files: tuple[SharedFile, ...] = ()
    # What the person had open beside the app when they wrote (agent apps).
    viewing: AppContext | None = None
    # Written by someone of another organisation (Slack Connect).
    external: bool = False

    @property
    def is_thread_reply(self) -> bool:
        return self.thread_ts != self.ts

    def dedupe_keys(self) -> list[str]:
        """Ids under which Slack may deliver this same message more than once."""
        keys = [f"msg:{self.channel}:{self.ts}"]
        if self.event_id:
            keys.append(f"event:{self.event_id}")
        if self.client_msg_id:
            keys.append(f"client_msg:{self.client_msg_id}")
        return keys


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


def parse_files(raw: object) -> tuple[SharedFile, ...]:
    """The downloadable files of a message; deleted or hidden ones carry no URL and drop out."""
    if not isinstance(raw, list):
        return ()
    files: list[SharedFile] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        url = item.get("url_private_download") or item.get("url_private")
        file_id, name = item.get("id"), item.get("name") or item.get("title") or "file"
        if not (isinstance(url, str) and isinstance(file_id, str) and isinstance(name, str)):
            continue
        size = item.get("size")
        files.append(
            SharedFile(
                id=file_id,
                name=name,
                mimetype=str(item.get("mimetype") or ""),
                filetype=str(item.get("filetype") or ""),
                size=size if isinstance(size, int) and size >= 0 else 0,
                url=url,
            )
        )
    return tuple(files)
