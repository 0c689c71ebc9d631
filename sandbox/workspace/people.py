"""People and channels of the fake workspace: who is who (Slack Connect guests included),
DM channels, who is in which conversation, and the names Slack shows for them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from sandbox.workspace.errors import SlackError
from sandbox.workspace.records import Person
from sandbox.workspace.state import WorkspaceState


def add_user(
    state: WorkspaceState, user_id: str, name: str, *, is_bot: bool = False, team: str | None = None
) -> None:
    """A person (or bot) of this workspace, or, with another `team`, a Slack Connect
    guest from another organisation, whose messages Slack marks as such."""
    state.users[user_id] = Person(user_id, name, is_bot, team)


def dm_channel(state: WorkspaceState, user: str) -> str:
    """The user's direct-message channel with the bot: one stable "D…" id per user.

    Made up from the user id unless :attr:`dm_channels` names one for the user.
    """
    chosen = state.dm_channels.get(user)
    if chosen is not None:
        return chosen
    return "D" + hashlib.sha256(user.encode()).hexdigest()[:10].upper()


def add_channel(
    state: WorkspaceState,
    channel: str,
    members: Sequence[str],
    *,
    private: bool = False,
    bot: bool = True,
) -> None:
    """Who is in `channel` (the bot too, unless `bot` is False), and whether it is
    private. A conversation the bot is not in cannot be read by it: Slack answers
    ``not_in_channel`` (public) or ``channel_not_found`` (private, which it cannot
    even see)."""
    state.channel_members[channel] = set(members) | ({state.bot_user_id} if bot else set())
    if private:
        state.private_channels.add(channel)


def user_name(state: WorkspaceState, user: str) -> str:
    """The name a user is shown with (see :func:`add_user`); made up when unknown."""
    known = state.users.get(user)
    return known.name if known is not None else user.lower()


def channel_name(state: WorkspaceState, channel: str) -> str:
    named = state.channel_names.get(channel)
    if named is not None:
        return named
    return {"D": "directmessage", "G": "privategroup"}.get(channel[:1], channel.lower())


def members(state: WorkspaceState, channel: str) -> set[str]:
    """Who is in `channel`: as set by add_channel, else whoever wrote there, and the bot."""
    known = state.channel_members.get(channel)
    if known is not None:
        return set(known)
    return {m.user for m in state.sorted_messages(channel) if m.user} | {state.bot_user_id}


def readable(state: WorkspaceState, channel: str) -> None:
    """Raise like Slack when the bot is not in `channel`."""
    if state.bot_user_id in members(state, channel):
        return
    raise SlackError("channel_not_found" if channel in state.private_channels else "not_in_channel")


def escape_names(state: WorkspaceState, text: str) -> str:
    """#channel and @person as Slack writes them in an escaping command's text."""
    channels = {name: channel for channel, name in state.channel_names.items()}
    people = {known.name: known.id for known in state.users.values()}

    def channel(found: re.Match[str]) -> str:
        named = channels.get(found.group(1))
        return f"<#{named}|{found.group(1)}>" if named else found.group(0)

    def person(found: re.Match[str]) -> str:
        named = people.get(found.group(1))
        return f"<@{named}|{found.group(1)}>" if named else found.group(0)

    text = re.sub(r"(?<![\w<])#([a-z0-9_-]{1,80})", channel, text)
    return re.sub(r"(?<![\w<])@([\w.-]{1,80})", person, text)
