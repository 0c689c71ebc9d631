"""What in a turn the asker did not write.

Documents, fetched links, web-search results, other people's messages (and the bot's
own earlier answers, which may have been built from them) can all carry instructions
aimed at the model. A turn that holds any of it may still use the browser service, but
every call the model makes then waits for the asker's approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Outside(Enum):
    """A kind of content the asker did not write, as the approval names it."""

    OTHERS = "messages by others"
    ANSWERS = "my earlier answers"
    FILES = "attached files"
    LINKS = "fetched links"
    WEB = "web search results"
    CONVERSATION = "a conversation read for you"
    TOOLS = "tool results"
    INSTRUCTIONS = "this thread's instructions, set by someone else"


@dataclass
class Provenance:
    """Filled in while the turn's conversation is assembled and as the model works
    (a search, a tool's result); travels with the turn."""

    outside: set[Outside] = field(default_factory=set)

    def add(self, kind: Outside) -> None:
        self.outside.add(kind)

    @property
    def untrusted(self) -> bool:
        return bool(self.outside)

    def describe(self) -> str:
        """What the turn holds, in a fixed order: "attached files and fetched links"."""
        names = [kind.value for kind in Outside if kind in self.outside]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
