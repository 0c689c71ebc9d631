"""The lines that end an answer written from pages: the pages read and those the web
search cited, each a link, once, and a few at most; written for where the answer ends
(section blocks take mrkdwn, Slack's native stream takes Markdown). The same pages, made
as safe, are the sources of a task chunk.

Titles and addresses are a site's or a search's words: a title can neither mention
anyone, nor link elsewhere, nor start markup; an address that is not a web address of a
sane length is shown as text, not linked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from urllib.parse import quote

from slack_client.render.mrkdwn import LINK_URL_LIMIT, slack_link

MAX_SOURCES_SHOWN = 8
# A title is the site's own words: cut, and on one line.
MAX_TITLE_CHARS = 100
HEADING = "_:link: Sources:_"
# In a Markdown link's text these would end it, start markup or (as < >) mention someone;
# & stays itself, so no entity there can decode into a mention.
_MARKDOWN_TITLE = str.maketrans(
    {"[": "(", "]": ")", "<": None, ">": None, "*": None, "`": None, "_": " ", "~": None,
     "\\": None, "&": "&amp;"}
)  # fmt: skip
_CHUNK_TITLE = str.maketrans({"<": None, ">": None})
_ADDRESS_SAFE = ":/?#@!$&'*+,;=%-._~"
# A source's link: (url, title) to text.
_Link = Callable[[str, str], str]


def shown_sources(sources: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each web address once, titles on one line and cut; at most MAX_SOURCES_SHOWN.
    As a task chunk takes them: no `<` or `>` in a title, and only web addresses."""
    titles: dict[str, str] = {}
    for url, title in sources:
        if _web_address(url):
            shown = _shown_title(title).translate(_CHUNK_TITLE).strip()
            titles.setdefault(url, shown or _shown_title(url))
    return list(titles.items())[:MAX_SOURCES_SHOWN]


def sources_mrkdwn(sources: Sequence[tuple[str, str]]) -> str | None:
    """The answer's sources ((url, title) pairs) as mrkdwn, or None when it has none."""
    return _listed(sources, lambda url, title: slack_link(title, url))


def sources_markdown(sources: Sequence[tuple[str, str]]) -> str | None:
    """The same as Markdown, for Slack's native stream: `[title](url)` links, the title
    unable to close the link, start markup or mention anyone, the address unable to end
    the link."""

    def link(url: str, title: str) -> str:
        shown = title.translate(_MARKDOWN_TITLE).strip() or url.translate(_MARKDOWN_TITLE)
        if not _web_address(url):
            return shown
        return f"[{shown}]({quote(url, safe=_ADDRESS_SAFE)})"

    return _listed(sources, link)


def _listed(sources: Sequence[tuple[str, str]], link: _Link) -> str | None:
    titles: dict[str, str] = {}
    for url, title in sources:
        titles.setdefault(url, title)
    if not titles:
        return None
    lines = [f"• {link(url, _shown_title(title))}" for url, title in titles.items()]
    if len(lines) > MAX_SOURCES_SHOWN:
        more = len(lines) - MAX_SOURCES_SHOWN
        lines = [*lines[:MAX_SOURCES_SHOWN], f"• _and {more} more_"]
    return "\n".join([HEADING, *lines])


def _web_address(url: str) -> bool:
    return len(url) <= LINK_URL_LIMIT and url.lower().startswith(("https://", "http://"))


def _shown_title(title: str) -> str:
    title = re.sub(r"\s+", " ", title).strip()
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"
