"""What was made of a message's attachments and links, whichever reader made it."""

from __future__ import annotations

from dataclasses import dataclass, field

from openai_client import ModelImage


@dataclass
class Attachments:
    images: list[ModelImage] = field(default_factory=list)
    # Documents and web pages as labelled text blocks, for the model.
    documents: list[str] = field(default_factory=list)
    # One line per file or link that could not be used, and per document only partly
    # read, each naming the file: for the model and the reply's footer.
    unread: list[str] = field(default_factory=list)
    partly_read: list[str] = field(default_factory=list)
    # Pages read, as (url, title): the answer's sources.
    sources: list[tuple[str, str]] = field(default_factory=list)

    def past_the_limit(self, count: int, limit: int, one: str, read: str) -> None:
        """One line for what is past a message's `limit` (a message may hold thousands
        of links): "3 more links: only the first 3 pages of a message are read"."""
        if count > limit:
            more = count - limit
            self.unread.append(
                f"{more} more {one}{'' if more == 1 else 's'}: only the first {limit} "
                f"{read} of a message are read"
            )

    def __add__(self, other: Attachments) -> Attachments:
        return Attachments(
            images=self.images + other.images,
            documents=self.documents + other.documents,
            unread=self.unread + other.unread,
            partly_read=self.partly_read + other.partly_read,
            sources=self.sources + other.sources,
        )
