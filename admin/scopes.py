"""Which stored settings belong to a Slack id: a person's own, or a channel's and those
of its threads. The keys are settings.py's (`ScopeRef`), so they are read through it."""

from __future__ import annotations

from settings import Scope, ScopeRef
from storage import StoredSettings

# Ids of people (W: an Enterprise Grid member) and of conversations, as Slack writes them.
PERSON_PREFIXES = "UW"
CHANNEL_PREFIXES = "CGD"


def is_slack_id(text: str) -> bool:
    return (
        text.isascii()
        and text.isalnum()
        and text.isupper()
        and len(text) > 1
        and text[0] in PERSON_PREFIXES + CHANNEL_PREFIXES
    )


def belongs_to(owner: str, scope: ScopeRef) -> bool:
    """A person's settings are their own scope; a channel's are its scope and its
    threads'."""
    if owner[0] in PERSON_PREFIXES:
        return scope == ScopeRef.user(owner)
    return scope.kind is not Scope.USER and scope.channel_id == owner


def settings_of(
    owner: str, stored: dict[tuple[str, str], StoredSettings]
) -> list[tuple[str, str, StoredSettings]]:
    """`owner`'s rows among every stored one, as (scope, key, settings), in a stable
    order: the channel's own before its threads'."""
    found = []
    for (kind, key), settings in stored.items():
        try:
            scope = ScopeRef(Scope(kind), key)
        except ValueError:
            continue  # a scope this version does not know is no one's to show
        if belongs_to(owner, scope):
            found.append((kind, key, settings))
    order = [scope.value for scope in Scope]
    return sorted(found, key=lambda row: (order.index(row[0]), row[1]))
