"""The line that ends an answer written from pages: the pages read and those the web
search cited, each a link, once, and a few at most."""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_client.render.mrkdwn import slack_link

MAX_SOURCES_SHOWN = 8
# A title is the site's own words: cut, and on one line.
MAX_TITLE_CHARS = 100


def sources_footer(sources: Sequence[tuple[str, str]]) -> str | None:
    """The answer's sources ((url, title) pairs) as mrkdwn, or None when it has none."""
    titles: dict[str, str] = {}
    for url, title in sources:
        titles.setdefault(url, title)
    if not titles:
        return None
    lines = [f"• {slack_link(_shown_title(title), url)}" for url, title in titles.items()]
    if len(lines) > MAX_SOURCES_SHOWN:
        more = len(lines) - MAX_SOURCES_SHOWN
        lines = [*lines[:MAX_SOURCES_SHOWN], f"• _and {more} more_"]
    return "_:link: Sources:_\n" + "\n".join(lines)


def _shown_title(title: str) -> str:
    title = re.sub(r"\s+", " ", title).strip()
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"
