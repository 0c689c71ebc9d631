"""What slack_client hands over to the pipeline: a person's message, its files, what they
have open beside the app, and who the bot is in this workspace.

These are Slack facts already parsed (by the listeners and the transport); nothing here
reads a payload.
"""

from __future__ import annotations

from dataclasses import dataclass


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
