"""The model's Markdown as Slack shows it natively: `markdown` blocks and `table` blocks.

Slack renders standard Markdown in a `markdown` block (at most 12,000 characters across
the markdown blocks of one message) but not its tables, which go in a `table` block
(at most 100 rows of at most 20 cells). An answer is parsed once by pulldown-cmark
(through pyromark, linear in the text) and cut at its top-level blocks into messages:
each message holds at most `MARKDOWN_PART_LIMIT` characters of Markdown and at most one
table (a longer table continues in the next message under its header again), in the
answer's order. A single
block too long for a message is cut too: a code block into several fenced blocks, any
other block at a line end or space. Each message's Markdown source is also kept, for
the `text` that notifications and search show (converted to mrkdwn by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyromark

Block = dict[str, Any]

# Slack's cumulative limit for the markdown blocks of one message.
MARKDOWN_LIMIT = 12_000
# What one message takes, leaving room for a fence closed and reopened in a cut.
MARKDOWN_PART_LIMIT = 11_000
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
# Slack refuses an empty raw_text cell.
EMPTY_CELL = " "
_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
_ALIGN = {"Left": "left", "Center": "center", "Right": "right"}


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]  # the header first
    align: tuple[str, ...]

    def markdown(self) -> str:
        """The table as Markdown again (for the fallback text): only its own rows."""
        lines = [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in self.rows
        ]
        rule = (
            "|"
            + "|".join({"center": ":-:", "right": "--:"}.get(a, "---") for a in self.align)
            + "|"
        )
        return "\n".join([lines[0], rule, *lines[1:]])

    def block(self) -> Block:
        return {
            "type": "table",
            "column_settings": [{"align": a, "is_wrapped": True} for a in self.align],
            "rows": [
                [{"type": "raw_text", "text": cell or EMPTY_CELL} for cell in row]
                for row in self.rows
            ],
        }


@dataclass
class MessagePart:
    """One message of an answer: Markdown and at most one table, in the answer's order."""

    # Markdown text, or a table.
    segments: list[str | Table] = field(default_factory=list)

    @property
    def markdown_chars(self) -> int:
        return sum(len(s) for s in self.segments if isinstance(s, str))

    @property
    def has_table(self) -> bool:
        return any(not isinstance(s, str) for s in self.segments)

    @property
    def text(self) -> str:
        """The fallback text: the part's Markdown source, tables included."""
        return "\n\n".join(s if isinstance(s, str) else s.markdown() for s in self.segments)

    def blocks(self) -> list[Block]:
        return [
            {"type": "markdown", "text": s} if isinstance(s, str) else s.block()
            for s in self.segments
        ]

    def add_text(self, piece: str) -> None:
        if self.segments and isinstance(self.segments[-1], str):
            self.segments[-1] += "\n\n" + piece
        else:
            self.segments.append(piece)


def markdown_parts(markdown: str, limit: int = MARKDOWN_PART_LIMIT) -> list[MessagePart]:
    """The messages that show `markdown`, in order; none for blank text."""
    parts: list[MessagePart] = [MessagePart()]
    for source, table in _top_level_blocks(markdown):
        if table is not None:
            for rows in _table_pieces(table):
                if parts[-1].has_table:
                    parts.append(MessagePart())
                parts[-1].segments.append(rows)
            continue
        for piece in _cut(source, limit):
            if parts[-1].markdown_chars + len(piece) + 2 > limit:
                parts.append(MessagePart())
            parts[-1].add_text(piece)
    return [p for p in parts if p.segments]


def has_table(markdown: str) -> bool:
    return any(table is not None for _, table in _top_level_blocks(markdown))


def _top_level_blocks(markdown: str) -> list[tuple[str, Table | None]]:
    """Each top-level block's source, with its table if it is one."""
    blocks: list[tuple[str, Table | None]] = []
    # pulldown-cmark's ranges count UTF-8 bytes, not characters.
    encoded = markdown.encode()
    depth = 0
    table: _TableReader | None = None
    for event, span in pyromark.events_with_range(markdown, options=_OPTIONS):
        if isinstance(event, dict) and "Start" in event:
            start = event["Start"]
            if depth == 0 and isinstance(start, dict) and "Table" in start:
                table = _TableReader(tuple(_ALIGN.get(a, "left") for a in start["Table"]))
            elif table is not None:
                table.start(start)
            depth += 1
        elif isinstance(event, dict) and "End" in event:
            depth -= 1
            if table is not None:
                table.end(event["End"])
            if depth == 0:
                source = encoded[span["start"] : span["end"]].decode().strip("\n")
                blocks.append((source, table.table() if table is not None else None))
                table = None
        elif table is not None:
            table.add(event)
        elif depth == 0 and isinstance(event, str) and event == "Rule":
            blocks.append((encoded[span["start"] : span["end"]].decode().strip("\n"), None))
    return blocks


class _TableReader:
    """Collects a table's cells as plain text from its events."""

    def __init__(self, align: tuple[str, ...]) -> None:
        self.align = align
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def start(self, kind: object) -> None:
        if kind in ("TableHead", "TableRow"):
            self.rows.append([])
        elif kind == "TableCell":
            self.cell = []

    def end(self, kind: object) -> None:
        if kind == "TableCell" and self.cell is not None and self.rows:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def add(self, event: object) -> None:
        if self.cell is None or not isinstance(event, dict):
            if self.cell is not None and event in ("SoftBreak", "HardBreak"):
                self.cell.append(" ")
            return
        for kind in ("Text", "Code", "InlineHtml"):
            if kind in event:
                self.cell.append(str(event[kind]))

    def table(self) -> Table | None:
        if not self.rows or max(len(r) for r in self.rows) > MAX_TABLE_CELLS:
            return None  # too wide for Slack: it stays Markdown
        width = len(self.align)
        rows = tuple(tuple((row + [""] * width)[:width]) for row in self.rows)
        return Table(rows, self.align)


def _table_pieces(table: Table) -> list[Table]:
    """A table of more rows than Slack shows at once, in pieces under the same header."""
    header, body = table.rows[0], table.rows[1:]
    step = MAX_TABLE_ROWS - 1
    pieces = [body[i : i + step] for i in range(0, len(body), step)] or [()]
    return [Table((header, *rows), table.align) for rows in pieces]


def _cut(source: str, limit: int) -> list[str]:
    """`source` in pieces of at most `limit` characters: a fenced code block as several
    fenced blocks, other text at line ends or spaces."""
    if len(source) <= limit:
        return [source]
    lines = source.split("\n")
    fence = lines[0].strip()
    if fence.startswith(("```", "~~~")) and len(lines) > 2 and lines[-1].strip() == fence[:3]:
        return _cut_code(lines[0], lines[1:-1], lines[-1], limit)
    pieces: list[str] = []
    while len(source) > limit:
        cut = source.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = source.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(source[:cut])
        source = source[cut:].lstrip()
    return [*pieces, source] if source else pieces


def _cut_code(opening: str, body: list[str], closing: str, limit: int) -> list[str]:
    room = max(1, limit - len(opening) - len(closing) - 2)
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in body:
        for chunk in [line[i : i + room] for i in range(0, len(line), room)] or [""]:
            if current and size + len(chunk) + 1 > room:
                pieces.append("\n".join([opening, *current, closing]))
                current, size = [], 0
            current.append(chunk)
            size += len(chunk) + 1
    pieces.append("\n".join([opening, *current, closing]))
    return pieces
