"""Tables in Markdown, for the CSV, Word and Excel readers: cells as text, and `Table`, which
keeps a table's rows as they are read, within the row, column and character caps, and notes
what it left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from untrusted.documents.common import Budget

MAX_SHEET_ROWS = 500  # rows per sheet rendered
MAX_TABLE_COLUMNS = 50  # columns per sheet / CSV rendered
MAX_CELL_CHARS = 2_000  # characters kept per table cell


def _md_cell(value: str) -> str:
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>").strip()


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_md_cell(cell) for cell in cells) + " |"


def _markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with the first row as the header; short rows are padded."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    lines = []
    for i, row in enumerate(rows):
        lines.append(_markdown_row([*row, *[""] * (width - len(row))]))
        if i == 0:
            lines.append("|" + "---|" * width)
    return "\n".join(lines)


def _trim_table(rows: list[list[str]]) -> list[list[str]]:
    """Drops rows and columns that are entirely empty."""
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    width = max(len(row) for row in rows)
    keep = [c for c in range(width) if any(c < len(row) and row[c].strip() for row in rows)]
    return [[row[c] if c < len(row) else "" for c in keep] for row in rows]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + "…"
    return text


def is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


class Table:
    """The rows of one table kept as they are read: non-empty rows up to `MAX_SHEET_ROWS`, the
    first `MAX_TABLE_COLUMNS` columns, and only while the document's budget lasts."""

    def __init__(self, label: str, budget: Budget) -> None:
        self.label = label
        self.rows: list[list[str]] = []
        self.seen = 0  # non-empty rows offered, kept or not
        self.full = False  # no further row is kept
        self._budget = budget
        self._wide = False

    def add(self, row: Sequence[object]) -> bool:
        """Offers the next row; False once rows are no longer kept, so a reader that need not
        count the rest can stop."""
        if len(row) > MAX_TABLE_COLUMNS:
            self._wide = self._wide or not all(map(is_blank, row[MAX_TABLE_COLUMNS:]))
            row = row[:MAX_TABLE_COLUMNS]
        if all(map(is_blank, row)):
            return not self.full
        self.seen += 1
        if self.full:
            return False
        cells = [_cell_text(cell) for cell in row]
        # Its Markdown line, plus the header's rule line for the first row.
        cost = len(_markdown_row(cells)) + 1 + (4 * len(cells) + 2 if not self.rows else 0)
        if len(self.rows) >= MAX_SHEET_ROWS or not self._budget.fits(cost):
            self.full = True
            return False
        self._budget.spend(cost)
        self.rows.append(cells)
        return True

    def finish(self, cuts: list[str], counted: bool = False, about: int | None = None) -> str:
        """The table in Markdown, noting what was left out. `counted`: every row was offered,
        so `seen` is the exact total; otherwise `about` is the believable size, if any."""
        if self.full:
            kept = f"{self.label} first {len(self.rows):,}"
            if counted:
                cuts.append(f"{kept} of {self.seen:,} rows")
            elif about is not None and about > len(self.rows):
                cuts.append(f"{kept} of about {about:,} rows")
            else:
                cuts.append(f"{kept} rows (the rest was not read)")
        if self._wide:
            cuts.append(f"{self.label} first {MAX_TABLE_COLUMNS} columns only")
        return _markdown_table(_trim_table(self.rows))
