"""HTML pages as the text a reader sees, through libxml2's HTML parser (linear in its input)
and a parser target that leaves out scripts, styles and markup and stops once the budget is
spent.
"""

from __future__ import annotations

import contextlib
import re

from lxml import etree  # type: ignore[import-untyped]

from untrusted.documents.common import (
    Budget,
    DocumentUnreadable,
    Enough,
    ExtractedDocument,
    finish,
    keep,
)
from untrusted.documents.text import text_body

MAX_HTML_BYTES = 10 * 2**20


class _HTMLText:
    """Readable text of an HTML page (no scripts, styles or markup), as an lxml parser target:
    libxml2's HTML parser is linear in its input, where `html.parser` is quadratic on some
    (a page of unclosed comments or attributes). Stops once the budget is spent."""

    _SKIP = frozenset(
        {"script", "style", "noscript", "template", "svg", "math", "iframe", "object"}
    )
    _BLOCK = frozenset(
        {
            "p", "div", "section", "article", "header", "footer", "nav", "aside", "main",
            "blockquote", "pre", "ul", "ol", "table", "tr", "form", "fieldset", "figure",
            "figcaption", "dl", "dt", "dd", "address", "hr", "title", "caption",
        }
    )  # fmt: skip
    _HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self, budget: Budget) -> None:
        self.parts: list[str] = []
        self._budget = budget
        self._skipping: list[str] = []
        self._pre = 0
        self._text: list[str] = []  # text since the last tag, which lxml splits at entities

    def start(self, tag: str, attrib: object) -> None:
        self._budget.element()
        self._flush()
        if tag in self._SKIP:
            self._skipping.append(tag)
        elif self._skipping:
            return
        elif tag in self._HEADINGS:
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in self._BLOCK:
            self.parts.append("\n\n" if tag in ("p", "pre", "table", "blockquote") else "\n")
        if tag == "pre":
            self._pre += 1

    def end(self, tag: str) -> None:
        self._flush()
        if tag in self._SKIP:
            if tag in self._skipping:
                while self._skipping and self._skipping.pop() != tag:
                    pass
            return
        if self._skipping:
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in self._BLOCK or tag in self._HEADINGS or tag == "li":
            self.parts.append("\n")

    def data(self, data: str) -> None:
        if not self._skipping:
            self._text.append(data)

    def _flush(self) -> None:
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            keep(self.parts, text if self._pre else re.sub(r"\s+", " ", text), self._budget)

    def close(self) -> str:
        with contextlib.suppress(Enough):
            self._flush()
        # Line by line rather than by regular expressions like `[ \t]+\n`, which backtrack
        # quadratically over a long run of spaces.
        lines = (line.strip(" \t") for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def extract_html(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    if len(data) > MAX_HTML_BYTES:
        raise DocumentUnreadable(f"it is larger than {MAX_HTML_BYTES // 2**20} MB for an HTML file")
    budget = Budget()
    target = _HTMLText(budget)
    # Nothing is fetched, and libxml2's HTML parser expands no entity a page declares.
    parser = etree.HTMLParser(target=target, no_network=True)
    try:
        parser.feed(text_body(data, MAX_HTML_BYTES).text)
        text = parser.close()  # the parser holds back the end of its input until closed
    except Enough:
        text = target.close()
    return finish(name, kind, text, [], rest=budget.rest)
