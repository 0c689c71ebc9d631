"""Web pages people paste, as the text a reader comes for: the main content (not menus,
footers or sidebars) as Markdown, and the page's title.

Runs only in the worker processes (`untrusted.pool`): a page is hostile input. trafilatura
parses it with lxml's HTML parser (libxml2, linear in its input) and fetches nothing; the
worker's CPU and memory limits end what it cannot read in time. Every failure is a
`PageUnreadable`, whose message is a short reason fit for a user.
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING

from untrusted.documents.common import DocumentUnreadable, cut_text
from untrusted.documents.text import text_body

if TYPE_CHECKING:
    from lxml.html import HtmlElement  # type: ignore[import-untyped]

# What a page may be: larger pages are refused before they are downloaded in full.
MAX_PAGE_BYTES = 5 * 2**20
# Text kept per page, beyond it cut and the cut stated: a page is read with the question,
# and several may come in one message.
MAX_PAGE_CHARS = 20_000
MAX_TITLE_CHARS = 200
# trafilatura measures a table row once per cell, and lxml counts an element's children
# one by one: a row of 100,000 cells would take a minute. No real table is that wide.
MAX_ROW_CELLS = 1_000
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Codecs Python counts as text encodings that no page is written in; punycode decodes in
# quadratic time. A page naming one is read as if it named none.
NOT_PAGE_CHARSETS = frozenset({"punycode", "idna", "unicode_escape", "raw_unicode_escape"})
NO_TEXT = "I found no readable text on the page"
BROKEN = "the page could not be read"


class PageUnreadable(Exception):
    """The page was fetched but holds nothing to read; the message says why."""


def read_page(data: bytes, content_type: str, charset: str | None) -> tuple[str, str, list[str]]:
    """The page's title ("" if it has none), its main text and the cuts made to it."""
    text = _decoded(data, charset)
    title = ""
    cuts: list[str] = []
    if content_type in HTML_TYPES:
        title, text = _main_content(text, cuts)
    text = cut_text(text.strip(), MAX_PAGE_CHARS, cuts)
    if not text.strip():
        raise PageUnreadable(NO_TEXT)
    return title, text, cuts


def _decoded(data: bytes, charset: str | None) -> str:
    """The page as text: in the charset the site named, if Python knows it; otherwise by
    its byte order mark, as UTF-8, or in the encoding charset-normalizer guesses."""
    if charset and _codec(charset) not in NOT_PAGE_CHARSETS:
        try:
            # bytes.decode takes text encodings only: a "charset" naming zlib or base64
            # is refused, not run.
            return data.decode(charset, "replace")
        except LookupError:
            pass  # a charset Python does not know: guessed below, like an unnamed one
    try:
        return text_body(data, len(data)).text
    except DocumentUnreadable as error:
        raise PageUnreadable(NO_TEXT) from error


def _codec(charset: str) -> str | None:
    try:
        return codecs.lookup(charset).name.replace("-", "_")
    except LookupError:
        return None


def _main_content(html: str, cuts: list[str]) -> tuple[str, str]:
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    try:
        tree = load_html(html)
        if tree is None:
            raise PageUnreadable(NO_TEXT)
        title = _title(tree)  # read first: the extraction prunes the tree it is given
        if _narrowed(tree):
            cuts.append(f"cells past the first {MAX_ROW_CELLS:,} of a table row")
        # No metadata but the title: dates and authors would double the time a page takes.
        found = bare_extraction(
            tree, include_comments=False, include_formatting=True, include_tables=True
        )
    except (MemoryError, RecursionError, PageUnreadable):
        raise  # the worker names the first two itself
    except Exception as error:  # the extractor choked on hostile input
        raise PageUnreadable(BROKEN) from error
    if found is None or isinstance(found, dict):  # dict only with `as_dict`, never asked
        raise PageUnreadable(NO_TEXT)
    return title, found.text or ""


def _title(tree: HtmlElement) -> str:
    """The title the page gives itself for sharing, or else its <title>; on one line."""
    shared = tree.find(".//meta[@property='og:title']")
    title = shared.get("content", "") if shared is not None else ""
    title = title or tree.findtext(".//title") or ""
    return re.sub(r"\s+", " ", title).strip()[:MAX_TITLE_CHARS]


def _narrowed(tree: HtmlElement) -> bool:
    """Drops the cells of table rows past `MAX_ROW_CELLS`; True if there were any."""
    narrowed = False
    for row in tree.iter("tr"):
        cells = list(row)
        for cell in cells[MAX_ROW_CELLS:]:
            row.remove(cell)
            narrowed = True
    return narrowed
