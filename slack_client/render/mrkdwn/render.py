"""Markdown to Slack mrkdwn: pre-passes over the source that keep pulldown-cmark (through
pyromark) linear on hostile input (capping nesting and table padding) and keep emphasis
characters inside bare URLs from being read as emphasis, then one pass over the parser's
events that writes mrkdwn, escaping what Slack requires and never rewriting code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, cast

import pyromark
from pyromark.event import Event

FENCE = "```"
# A URL can't be split between two messages, so a longer one is not shown as a link.
LINK_URL_LIMIT = 1_000
LONG_LINK_NOTE = "(link too long to show)"

ZERO_WIDTH_SPACE = "\u200b"
BULLET = "•"
RULE = "─" * 10
INDENT = "    "
# Deeper lists are still indented, but no further: the text stays readable and the
# indentation of each line stays bounded however deep a hostile list goes.
MAX_INDENT_LEVELS = 8
# pulldown-cmark checks every open container on each line that continues a paragraph
# lazily, which is quadratic in the nesting depth; no real answer nests this deep.
MAX_NESTING = 16
# GFM pads short table rows with empty cells, so a wide header over thousands of
# one-character rows would make hundreds of thousands of events.
MAX_TABLE_PADDING = 2_000
# Table columns are padded to at most this width (a monospaced line is read whole).
MAX_PADDED_WIDTH = 60

_PARSER = pyromark.Markdown(
    options=pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
)
_LINKABLE = re.compile(r"(?:https?|ftp)://|mailto:", re.IGNORECASE)

# One container marker (quote or list item) at the start of a line, and a line starting
# with more of them than MAX_NESTING. Each alternative starts with a distinct character,
# so a failed match gives up after one look at each character.
_CONTAINER = r"[ \t]*(?:>|[-+*][ \t]|\d{1,9}[.)][ \t])"
_DEEP_LINE = re.compile(rf"^(?:{_CONTAINER}){{{MAX_NESTING}}}(?={_CONTAINER})", re.MULTILINE)
# A table's delimiter row (`| --- | :-: |`). Runs of blanks are never next to each other,
# so a line that fails costs one look at each character.
_DELIMITER_ROW = re.compile(
    r"^(?=[^\n]*\|)[ \t]*(?:\|[ \t]*)?:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*(?:\|[ \t]*)?$",
    re.MULTILINE,
)
# A URL written out in the text, as GitHub recognises it: trailing punctuation is not
# part of it, so `**see https://x.org**` stays bold.
_BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>`]*[^\s<>`?!.,:;*_~'\"]")
_EMPHASIS_CHARS = "*_~"
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_text(text: str) -> str:
    """Escape prose or code: two backticks in a row could make a fence with a third."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("``", f"`{ZERO_WIDTH_SPACE}`")


def _escape_inline_code(code: str) -> str:
    """Slack's inline code can't hold a backtick: a look-alike keeps the code readable."""
    return escape(code).replace("`", "\u02cb")


def _escape_url(url: str) -> str:
    """A `|` would end the URL of a Slack link, and a space would end the link; a
    backtick (never valid in a URL unencoded) could read as a code fence."""
    return escape(url).replace("|", "%7C").replace(" ", "%20").replace("`", "%60")


def _is_boundary(char: str) -> bool:
    """Whether Slack sees a word boundary here (CommonMark's whitespace or punctuation)."""
    return char.isspace() or unicodedata.category(char)[0] in "PS"


def _width(text: str) -> int:
    """Columns `text` takes in a monospaced font: CJK characters take two."""
    if text.isascii():
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or char == ZERO_WIDTH_SPACE:
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _pad(text: str, width: int, alignment: str) -> str:
    room = width - _width(text)
    if alignment == "Right":
        return " " * room + text
    if alignment == "Center":
        return " " * (room // 2) + text + " " * (room - room // 2)
    return text + " " * room


def _link_as_text(label: str, url: str) -> str:
    """A link where Slack can't show one: in a table, or with an unusable URL."""
    if len(url) > LINK_URL_LIMIT:
        return f"{label} {LONG_LINK_NOTE}".lstrip()
    if not url or url == label:
        return label
    return f"{label} ({url})" if label else url


def slack_link(label: str, url: str) -> str:
    """A link as Slack shows it, its label escaped so it can neither mention nor link
    anyone; as text where Slack cannot link the URL (too long, not a web address)."""
    if len(url) > LINK_URL_LIMIT or not _LINKABLE.match(url):
        return _escape_text(_link_as_text(label, url))
    if not label or label == url:
        return f"<{_escape_url(url)}>"
    return f"<{_escape_url(url)}|{_escape_text(label)}>"


# --- Pre-passes over the source -----------------------------------------------------


def _cap_nesting(markdown: str) -> str:
    """Make a line's container markers past MAX_NESTING plain text (a zero-width space
    before them means they no longer start the line's content)."""
    return _DEEP_LINE.sub(lambda match: match.group() + ZERO_WIDTH_SPACE, markdown)


def _cells(row: str) -> int:
    """Roughly how many cells a table row has (escaped pipes count too, which only
    makes the padding look smaller than it is by at most one cell per two characters)."""
    return row.strip().strip("|").count("|") + 1


def _cap_table_padding(markdown: str) -> str:
    """End a table at a blank line once the document's tables have had MAX_TABLE_PADDING
    empty cells added to short rows; the rest of its rows then read as text."""
    pieces: list[str] = []
    done = 0
    padding = 0
    row_start = 0
    while (delimiter := _DELIMITER_ROW.search(markdown, row_start)) is not None:
        columns = _cells(delimiter.group())
        row_start = delimiter.end() + 1
        while row_start < len(markdown):
            row_end = markdown.find("\n", row_start)
            row_end = len(markdown) if row_end == -1 else row_end
            row = markdown[row_start:row_end]
            if not row.strip():
                break
            padding += max(0, columns - _cells(row))
            if padding > MAX_TABLE_PADDING:
                pieces += [markdown[done:row_start], "\n"]
                done = row_start
                break
            row_start = row_end + 1
    return "".join([*pieces, markdown[done:]]) if pieces else markdown


def _protect_urls(markdown: str) -> tuple[str, dict[int, int]]:
    """Hide emphasis characters inside bare URLs from the parser.

    pulldown-cmark has no GFM autolinks, so `https://x.org/__init__.py` would turn bold.
    Inside each bare URL, `*`, `_` and `~` become private-use characters the text doesn't
    hold, and the returned table turns them back in the rendered output.
    """
    free = _free_private_characters(markdown)
    if free is None or ("://" not in markdown and "www." not in markdown):
        return markdown, {}
    hide = str.maketrans(_EMPHASIS_CHARS, free)
    hidden = _BARE_URL.sub(lambda match: match.group().translate(hide), markdown)
    if hidden == markdown:
        return markdown, {}
    return hidden, str.maketrans(free, _EMPHASIS_CHARS)


def _free_private_characters(text: str) -> str | None:
    """Three private-use characters that `text` does not contain, if it leaves three."""
    if not _PRIVATE_USE.search(text):
        return "\ue000\ue001\ue002"
    used = set(text)
    private = chain(range(0xE000, 0xF900), range(0xF0000, 0xFFFFE), range(0x100000, 0x10FFFE))
    free = "".join(islice((chr(code) for code in private if chr(code) not in used), 3))
    return free if len(free) == 3 else None


# --- Rendering ------------------------------------------------------------------------


@dataclass(slots=True)
class _Mark:
    """An emphasis marker that is open: written once text follows it on the line."""

    char: str
    index: int = -1  # of the written marker in the output chunks; -1 while not written


@dataclass(slots=True)
class _Table:
    alignments: tuple[str, ...]
    rows: list[list[str]] = field(default_factory=list)


_Handler = Callable[[Any], None]


class _Renderer:
    """Builds mrkdwn from pulldown-cmark's events, one event at a time."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.line_open = False  # the current line has its prefix written
        self.line_ends = 0  # owed before the next thing written
        self.after_close = False  # the last thing written closes a marker
        # The document, block quotes and list items hold blocks: line ends between
        # their blocks (2 leaves a blank line), and what their last block was.
        self.separators = [2]
        self.previous: list[str | None] = [None]
        self.items: list[str] = []  # markers of the open list items, outermost first
        self.started_items = 0  # how many of them have had their first line written
        self.quotes = 0
        self.lists: list[int | None] = []  # next number of each open list; None: bullets
        self.marks: list[_Mark] = []
        self.marks_waiting = False  # some open marker is not written yet
        self.depth = dict.fromkeys("*_~", 0)
        self.just_closed: tuple[str, int, int] | None = None  # char, open and close index
        self.plain: list[list[str]] = []  # text collected for link labels and table cells
        self.urls: list[str] = []  # of the open links and images
        self.code: list[str] | None = None
        self.table = _Table(())
        self.starts: dict[str, _Handler] = {
            "Paragraph": self._start_paragraph,
            "Heading": self._start_heading,
            "BlockQuote": self._start_quote,
            "CodeBlock": self._start_code_block,
            "HtmlBlock": self._start_block,
            "List": self._start_list,
            "Item": self._start_item,
            "Table": self._start_table,
            "TableHead": self._start_row,
            "TableRow": self._start_row,
            "TableCell": self._start_cell,
            "Emphasis": lambda _: self._open("_"),
            "Strong": lambda _: self._open("*"),
            "Strikethrough": lambda _: self._open("~"),
            "Link": self._start_link,
            "Image": self._start_link,
        }
        self.ends: dict[str, _Handler] = {
            "Paragraph": _ignore,
            "Heading": lambda _: self._close("*"),
            "BlockQuote": self._end_quote,
            "CodeBlock": self._end_code_block,
            "HtmlBlock": _ignore,
            "List": self._end_list,
            "Item": self._end_item,
            "Table": self._end_table,
            "TableHead": _ignore,
            "TableRow": _ignore,
            "TableCell": self._end_cell,
            "Emphasis": lambda _: self._close("_"),
            "Strong": lambda _: self._close("*"),
            "Strikethrough": lambda _: self._close("~"),
            "Link": self._end_link,
            "Image": self._end_image,
        }
        self.leaves: dict[str, _Handler] = {
            "Text": self._text,
            "Code": self._inline_code,
            "Html": self._html,
            "InlineHtml": self._inline_html,
            "SoftBreak": self._line_break,
            "HardBreak": self._line_break,
            "Rule": self._rule,
        }

    def render(self, events: Iterable[Event]) -> str:
        starts, ends, leaves = self.starts, self.ends, self.leaves
        # Each event is a fresh one-entry dict (or a bare name), so popping its one
        # entry is the quickest way to read it.
        for event in cast(Iterable[Any], events):
            if isinstance(event, str):  # SoftBreak, HardBreak, Rule
                leaves[event](None)
                continue
            kind, value = event.popitem()
            if kind == "Start":
                handlers = starts
            elif kind == "End":
                handlers = ends
            else:
                leaves[kind](value)
                continue
            # A tag is a name, or a one-entry dict of its name and data.
            if isinstance(value, str):
                handlers[value](None)
            else:
                name, data = value.popitem()
                handlers[name](data)
        return "".join(self.chunks)

    # --- Writing ---
    # The chunks are never empty strings, so the last character written is
    # self.chunks[-1][-1].

    def _break(self, line_ends: int) -> None:
        """What comes next starts on a new line (after a blank line, with 2)."""
        self.line_open = False
        if self.line_ends < line_ends:
            self.line_ends = line_ends

    def _open_line(self) -> None:
        chunks = self.chunks
        if chunks:
            chunks.append("\n\n" if self.line_ends > 1 else "\n")
        self.line_ends = 0
        self.line_open = True
        self.after_close = False
        if self.items or self.quotes:
            chunks.append(self._prefix())

    def _prefix(self) -> str:
        """A line's start: a quote marker, the list indentation and any new items' markers."""
        quote = "> " if self.quotes else ""
        items = self.items
        started = self.started_items
        self.started_items = len(items)
        if started == len(items):
            hang = " " * (len(items[-1]) + 1) if items else ""
            return quote + INDENT * min(started - 1, MAX_INDENT_LEVELS) + hang
        if started == len(items) - 1:
            markers = items[-1] + " "
        else:
            markers = "".join(f"{marker} " for marker in items[started:])
        return quote + INDENT * min(started, MAX_INDENT_LEVELS) + markers

    def _open_content(self) -> None:
        """Open the line and write the markers that wait for content."""
        if not self.line_open:
            self._open_line()
        if self.marks_waiting:
            for mark in self.marks:
                if mark.index < 0:
                    self._write_opener(mark)
            self.marks_waiting = False

    def _write(self, text: str) -> None:
        if not text:
            return
        if not self.line_open or self.marks_waiting:
            self._open_content()
        if self.after_close:
            self.after_close = False
            # Slack only sees a closing marker at a word boundary.
            if not _is_boundary(text[0]):
                self.chunks.append(ZERO_WIDTH_SPACE)
        self.chunks.append(text)

    def _write_opener(self, mark: _Mark) -> None:
        chunks = self.chunks
        if chunks and not _is_boundary(chunks[-1][-1]):
            chunks.append(ZERO_WIDTH_SPACE)
        chunks.append(mark.char)
        mark.index = len(chunks) - 1
        self.after_close = False

    def _write_closer(self, mark: _Mark) -> None:
        if mark.index < 0:
            return  # nothing was written inside, so neither marker is
        chunks = self.chunks
        chunks.append(mark.char)
        close = len(chunks) - 1
        inner = self.just_closed
        self.just_closed = (mark.char, mark.index, close)
        if mark.char == "_" and inner == ("*", mark.index + 1, close - 1):
            # `***x***` parses as emphasis around strong; Slack needs `*_x_*`.
            chunks[mark.index : mark.index + 2] = ["*", "_"]
            chunks[close - 1 : close + 1] = ["_", "*"]
            self.just_closed = ("*", mark.index, close)
        self.after_close = True

    def _fenced(self, body: str) -> None:
        """A code block, always at the start of its lines: Slack ends a quote or list
        indentation there, and `split_message` finds fences only on lines of their own."""
        if self.started_items < len(self.items):
            self._open_line()  # a list item opening with code shows its marker first
        if self.chunks:
            self.chunks.append("\n\n" if self.line_ends > 1 else "\n")
        self.chunks.append(f"{FENCE}\n{body}\n{FENCE}")
        self.line_open = False
        self.line_ends = 1
        self.after_close = False

    def _write_lines(self, text: str) -> None:
        for number, line in enumerate(text.split("\n")):
            if number:
                self._line_break(None)
            if line:
                self._write(_escape_text(line))
            elif not self.line_open:
                self._open_line()

    # --- Blocks ---

    def _start_block(self, _: object = None, kind: str = "block") -> None:
        previous = self.previous[-1]
        if previous is not None:
            # A list sits right under the paragraph that introduces it, and a list right
            # after a list is one to the reader (models switch bullet characters
            # mid-list, which starts a new list in CommonMark).
            tight = kind == "list" and previous in ("paragraph", "list")
            self._break(1 if tight else self.separators[-1])
        self.previous[-1] = kind

    def _start_paragraph(self, _: object) -> None:
        self._start_block(kind="paragraph")

    def _start_heading(self, _: object) -> None:
        self._start_block()
        self._open("*")

    def _start_quote(self, _: object) -> None:
        self._start_block()
        self.separators.append(2)
        self.previous.append(None)
        self.quotes += 1

    def _end_quote(self, _: object) -> None:
        self.separators.pop()
        self.previous.pop()
        self.quotes -= 1

    def _start_code_block(self, _: object) -> None:
        self._start_block()
        self.code = []

    def _end_code_block(self, _: object) -> None:
        code = "".join(self.code or ()).removesuffix("\n")
        self.code = None
        if code.strip():
            self._fenced(_escape_text(code))

    def _start_list(self, first_number: int | None) -> None:
        self._start_block(kind="list")
        self.lists.append(first_number)

    def _end_list(self, _: object) -> None:
        self.lists.pop()

    def _start_item(self, _: object) -> None:
        number = self.lists[-1]
        if number is None:
            marker = BULLET
        else:
            marker = f"{number}."
            self.lists[-1] = number + 1
        self._break(1)
        self.items.append(marker)
        self.separators.append(1)
        self.previous.append(None)

    def _end_item(self, _: object) -> None:
        if self.started_items < len(self.items):
            self._open_line()  # an empty item still shows its marker
        self.items.pop()
        self.started_items = len(self.items)
        self.separators.pop()
        self.previous.pop()

    def _start_table(self, alignments: tuple[str, ...]) -> None:
        self._start_block()
        self.table = _Table(alignments)

    def _start_row(self, _: object) -> None:
        self.table.rows.append([])

    def _start_cell(self, _: object) -> None:
        self.plain.append([])

    def _end_cell(self, _: object) -> None:
        self.table.rows[-1].append("".join(self.plain.pop()).strip())

    def _end_table(self, _: object) -> None:
        """Slack has no tables: a code block with aligned columns keeps them readable."""
        rows = self.table.rows
        columns = max(len(row) for row in rows)
        alignments = self.table.alignments + ("None",) * columns
        widths = [0] * columns
        for row in rows:
            for column, cell in enumerate(row):
                widths[column] = max(widths[column], _width(cell))
        # Padding every row to a column's widest cell would make a table of one huge cell
        # over thousands of short rows quadratic; past this, cells keep their own width.
        widths = [min(width, MAX_PADDED_WIDTH) for width in widths]
        lines = []
        for row in rows:
            cells = row + [""] * (columns - len(row))
            lines.append("| " + " | ".join(map(_pad, cells, widths, alignments)) + " |")
        self._fenced(_escape_text("\n".join(lines)))

    def _rule(self, _: object) -> None:
        self._start_block()
        self._write(RULE)

    # --- Inline ---

    def _open(self, char: str) -> None:
        if self.plain:
            return  # link labels and table cells are plain text
        # Slack can't nest a marker in itself (`## **Setup**` is bold once).
        self.depth[char] += 1
        if self.depth[char] == 1:
            self.marks.append(_Mark(char))
            self.marks_waiting = True

    def _close(self, char: str) -> None:
        if self.plain:
            return
        self.depth[char] -= 1
        if self.depth[char] == 0:
            self._write_closer(self.marks.pop())

    def _line_break(self, _: object) -> None:
        if self.plain:
            self.plain[-1].append(" ")
            return
        # Slack's markers don't reach across lines: close them and reopen on the next.
        for mark in reversed(self.marks):
            self._write_closer(mark)
            mark.index = -1
        self.marks_waiting = bool(self.marks)
        self._break(1)

    def _text(self, text: str) -> None:
        if self.code is not None:
            self.code.append(text)
        elif self.plain:
            self.plain[-1].append(text)
        else:
            self._write(_escape_text(text))

    def _inline_code(self, code: str) -> None:
        if self.plain:
            self.plain[-1].append(code)
            return
        if not self.line_open or self.marks_waiting:
            self._open_content()
        self._write_opener(_Mark("`"))
        self.chunks.append(f"{_escape_inline_code(code)}`")
        self.after_close = True

    def _html(self, html: str) -> None:
        """A line of an HTML block, shown as the text it is."""
        self._write_lines(html.removesuffix("\n"))
        self._break(1)

    def _inline_html(self, html: str) -> None:
        if self.plain:
            self.plain[-1].append(html.replace("\n", " "))
        else:
            self._write_lines(html)

    def _start_link(self, link: dict[str, Any]) -> None:
        url = link["dest_url"]
        self.urls.append(f"mailto:{url}" if link["link_type"] == "Email" else url)
        self.plain.append([])

    def _end_link(self, _: object) -> None:
        url = self.urls.pop()
        label = "".join(self.plain.pop()).strip()
        if self.plain:
            self.plain[-1].append(_link_as_text(label, url))
        else:
            self._write(slack_link(label, url))

    def _end_image(self, _: object) -> None:
        """An image is a link to it; inside a link label or a table cell, its alt text."""
        if len(self.plain) > 1:
            url = self.urls.pop()
            alt = "".join(self.plain.pop()).strip()
            self.plain[-1].append(alt or _link_as_text("", url))
        else:
            self._end_link(None)


def _ignore(_: object) -> None:
    """An end that needs nothing: what comes next starts its own line or row anyway."""


def markdown_to_mrkdwn(markdown: str) -> str:
    source, restore = _protect_urls(_cap_table_padding(_cap_nesting(markdown)))
    mrkdwn = _Renderer().render(_PARSER.events(source))
    return mrkdwn.translate(restore) if restore else mrkdwn
