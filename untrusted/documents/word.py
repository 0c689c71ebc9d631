"""Word (.docx) files, read straight from the body's XML within the budget: paragraphs in
Markdown (titles, headings and list items by their style's name) and tables through
`Table`.
"""

from __future__ import annotations

import re
import zipfile

from untrusted.documents.common import (
    Budget,
    Collected,
    DocumentUnreadable,
    Enough,
    ExtractedDocument,
    finish,
)
from untrusted.documents.office import (
    Part,
    decimal,
    main_part,
    open_office_zip,
    parse_part,
    related_part,
    relationships,
)
from untrusted.documents.tables import MAX_CELL_CHARS, MAX_TABLE_COLUMNS, Table

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def extract_docx(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    budget = Budget()
    cuts: list[str] = []
    with open_office_zip(data, "Word 97 (.doc) files are not supported") as archive:
        main = main_part(archive)
        body = _DocxBody(_docx_styles(archive, main), budget, cuts)
        parse_part(archive, main, body)
    return finish(name, kind, "\n\n".join(body.blocks), cuts, rest=budget.rest)


class _DocxStyles(Part):
    """Style names (lower case) by style id."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._style: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _W + "style":
            self._style = attrib.get(_W + "styleId")
        elif tag == _W + "name" and self._style is not None:
            self.names[self._style] = attrib.get(_W + "val", "").strip().lower()

    def end(self, tag: str) -> None:
        if tag == _W + "style":
            self._style = None


def _docx_styles(archive: zipfile.ZipFile, main: str) -> dict[str, str]:
    part = related_part(relationships(archive, main), "styles")
    if part is None or part not in archive.NameToInfo:
        return {}
    styles = _DocxStyles()
    parse_part(archive, part, styles)
    return styles.names


def _docx_block(text: str, style: str) -> str:
    """A paragraph in Markdown: titles, headings and list items by their style's name."""
    if style == "title":
        return f"# {text}"
    match = re.fullmatch(r"heading (\d)", style)
    if match:
        return "#" * min(6, int(match.group(1))) + " " + text
    if style.startswith("list bullet"):
        return f"- {text}"
    if style.startswith("list number"):
        return f"1. {text}"
    return text


class _DocxBody(Part):
    """The Markdown blocks of a Word body as it is parsed: paragraphs, and tables whose rows
    go through `Table`. A cell spanning columns is shown once, its span clamped to the
    columns still kept; text boxes (paragraphs inside a paragraph) are left out."""

    def __init__(self, styles: dict[str, str], budget: Budget, cuts: list[str]) -> None:
        self.blocks: list[str] = []
        self._styles = styles
        self._budget = budget
        self._cuts = cuts
        self._root = True
        self._paragraphs = 0  # open w:p
        self._runs = 0  # open w:r
        self._in_text = False
        self._style = ""
        self._tables = 0  # open w:tbl (tables nest in cells)
        self._count = 0  # top-level tables so far
        self._table: Table | None = None
        self._row: list[str] = []
        self._text = Collected(0)  # where text goes: the paragraph or the cell being read
        self._span = 1
        self._merged = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._budget.element()
        if self._root and tag != _W + "document":
            raise DocumentUnreadable("it looks damaged")
        self._root = False
        local = tag[len(_W) :] if tag.startswith(_W) else ""
        if local == "p":
            self._start_paragraph()
        elif local == "r":
            self._runs += 1
        elif local == "tbl":
            self._start_table()
        elif self._paragraphs == 1 and self._runs:
            self._run_content(local, attrib)
        elif local == "pStyle" and self._paragraphs == 1 and not self._tables:
            self._style = self._styles.get(attrib.get(_W + "val", ""), "")
        elif self._tables == 1 and not self._paragraphs:
            self._table_content(local, attrib)

    def end(self, tag: str) -> None:
        local = tag[len(_W) :] if tag.startswith(_W) else ""
        if local == "t":
            self._in_text = False
        elif local == "r":
            self._runs -= 1
        elif local == "p":
            self._end_paragraph()
        elif local == "tbl":
            self._end_table()
        elif local == "tc" and self._tables == 1:
            self._end_cell()
        elif local == "tr" and self._tables == 1 and self._table is not None:
            self._table.add(self._row)  # rows past the caps are counted, not kept

    def data(self, text: str) -> None:
        if self._in_text:
            self._text.add(text)

    def _start_paragraph(self) -> None:
        self._paragraphs += 1
        if self._paragraphs > 1:
            return
        if not self._tables:
            self._style = ""
            self._text = Collected(max(0, self._budget.left) + 1)
        elif self._text.size:  # the next paragraph of a cell
            self._text.add("\n")

    def _end_paragraph(self) -> None:
        self._paragraphs -= 1
        if self._paragraphs or self._tables:
            return
        text = self._text.text().strip()
        if text:
            self._add(_docx_block(text, self._style))

    def _run_content(self, local: str, attrib: dict[str, str]) -> None:
        if local == "t":
            self._in_text = True
        elif local in ("tab", "ptab"):
            self._text.add("\t")
        elif local == "cr" or (
            local == "br" and attrib.get(_W + "type", "textWrapping") == "textWrapping"
        ):
            self._text.add("\n")
        elif local == "noBreakHyphen":
            self._text.add("-")

    def _start_table(self) -> None:
        self._tables += 1
        if self._tables == 1:
            self._stop_if_spent()
            self._count += 1
            self._table = Table(f"table {self._count}", self._budget)

    def _table_content(self, local: str, attrib: dict[str, str]) -> None:
        if local == "tr":
            self._row = []
        elif local == "tc":
            self._text = Collected(MAX_CELL_CHARS + 1)
            self._span = 1
            self._merged = False
        elif local == "gridSpan":
            self._span = max(1, decimal(attrib.get(_W + "val"), 1))
        elif local == "vMerge":  # a cell continuing the one above: its text is shown there
            self._merged = attrib.get(_W + "val", "continue") == "continue"

    def _end_cell(self) -> None:
        text = "" if self._merged else self._text.text()
        # One column past the cap is kept: it tells `Table` that the table is wider.
        room = MAX_TABLE_COLUMNS + 1 - len(self._row)
        if room > 0:
            self._row += [text, *[""] * (min(self._span, room) - 1)]
        elif text.strip():
            self._row[-1] = text

    def _end_table(self) -> None:
        self._tables -= 1
        if self._tables or self._table is None:
            return
        markdown = self._table.finish(self._cuts, counted=True)
        self._table = None
        if markdown:
            self.blocks.append(markdown)
            self._budget.spend(2)

    def _add(self, block: str) -> None:
        self._stop_if_spent()
        self.blocks.append(self._budget.take(block))
        self._budget.spend(2)  # the blank line between blocks
        if self._budget.unread:
            raise Enough

    def _stop_if_spent(self) -> None:
        if self._budget.spent:
            self._budget.unread = True
            raise Enough
