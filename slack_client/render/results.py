"""Results of browser-automation actions, formatted for Slack.

The automation service answers with JSON (dialog lists, status, candidates, resumes)
or, when something goes wrong, with plain text. `format_result` turns any of it into
Slack mrkdwn that reads well: lists of flat records as aligned tables, other lists as
bullets, records as "*Key*: value" lines. Whenever the message leaves anything out
(rows, fields, the end of a long value) the complete rendering comes back as
`snippet`, to be attached as a file, so nothing is dumped raw and nothing is lost.

The module is pure: no Slack calls, no I/O. Values come from an outside service, so
every one is escaped (a value can never mention @channel or inject a link), and the
rendering is bounded in depth, items and characters: odd or huge input still returns
quickly and never raises.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import chain, islice

from slack_client.render.mrkdwn import FENCE, escape

logger = logging.getLogger(__name__)

# Slack renders up to 40,000 characters but a result longer than this is a wall of
# text in a thread; past it the message shows a summary and the file has the rest.
MAX_TEXT_CHARS = 3_000
FILE_NOTE = "_Full result attached as a file._"
TABLE_MAX_COLUMNS = 6
TABLE_MAX_ROWS = 20
CELL_WIDTH = 40

INDENT = "    "
BULLET = "• "
PART_SEPARATOR = " · "
ELLIPSIS = "…"
NONE_TEXT = "—"
TITLE_CHARS = 100
KEY_CHARS = 60
# Short lists of scalars read better on the key's own line ("Skills: Python, SQL").
INLINE_LIST_ITEMS = 8
# In the file nothing is cut, so a column with long text would make every row of a
# table that wide: such lists are written as bullets there instead.
PLAIN_CELL_WIDTH = 60
PLAIN_CELL_CHARS = 2 * PLAIN_CELL_WIDTH  # combining characters take no column
# Envelopes are rarely nested more than twice; the bound only guards odd input.
MAX_UNWRAPS = 5
# The most name-like field leads a bullet; the first of these keys present wins.
NAME_KEYS = ("name", "title", "label", "display_name", "full_name", "username", "nickname", "id")
# Abbreviations that humanised keys keep in capitals ("chat_id" -> "Chat ID").
UPPER_WORDS = frozenset({"id", "ids", "url", "urls", "api", "uid", "ip", "html", "json"})

# C0/C1 controls and bidirectional overrides: invisible in Slack, or able to make a
# value display as something other than what it is.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\n\t]+")
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SEPARATORS = re.compile(r"[\s_\-]+")
_FILE_UNSAFE = re.compile(r"[^\w.-]+", re.ASCII)
# An entity ("&amp;") cut short would show as literal text.
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


@dataclass(frozen=True)
class FormattedResult:
    text: str  # Slack mrkdwn, at most MAX_TEXT_CHARS characters
    snippet: str | None = None  # the full result as readable text, when it does not fit in `text`
    snippet_name: str = "result.txt"


@dataclass(frozen=True)
class _Limits:
    depth: int  # nesting levels shown before a container becomes "{…3 fields}"
    items: int  # table rows and bullets per list
    fields: int  # fields per record
    value_chars: int | None  # longer strings are cut with "…"
    cell_width: int | None  # table cells, in display columns
    line_chars: int | None  # one bullet or field line
    nodes: int  # values visited in all: bounds the work on huge input
    chars: int  # characters written in all


_SLACK = _Limits(
    depth=4,
    items=TABLE_MAX_ROWS,
    fields=40,
    value_chars=300,
    cell_width=CELL_WIDTH,
    line_chars=600,
    nodes=5_000,
    # Past this the attempt is too long anyway and a shorter one follows.
    chars=4 * MAX_TEXT_CHARS,
)
# Tried in turn until the message fits: fewer rows and shorter values, never a cut
# through the middle of a table.
_SLACK_ATTEMPTS = (
    _SLACK,
    replace(_SLACK, depth=3, items=8, fields=15, value_chars=120, cell_width=30, line_chars=300),
    replace(_SLACK, depth=2, items=3, fields=6, value_chars=60, cell_width=20, line_chars=160),
)
# The file: nothing cut short, but still bounded so that a pathological result
# cannot stall the bot.
_PLAIN = _Limits(
    depth=12,
    items=50_000,
    fields=10_000,
    value_chars=None,
    cell_width=None,
    line_chars=None,
    nodes=200_000,
    chars=2_000_000,
)


def format_result(data: object, *, title: str) -> FormattedResult:
    """Render an automation result (parsed JSON, or text) as a Slack message."""
    try:
        return _format(data, title)
    except Exception:  # a result that cannot be shown must not lose the reply itself
        logger.exception("Could not format the result of %.100r", title)
        return FormattedResult(text=f"{_title_line(title)}\n_(The result could not be shown.)_")


def _format(data: object, title: str) -> FormattedResult:
    head = _title_line(title)
    name = _snippet_name(title)
    payload = _unwrap(data)
    if isinstance(payload, str):
        return _format_text(payload, head, name)
    body: list[str] = []
    for limits in _SLACK_ATTEMPTS:
        renderer = _Renderer(limits, slack=True)
        body = renderer.render(payload)
        text = "\n".join([head, *body])
        if not renderer.cut and len(text) <= MAX_TEXT_CHARS:
            return FormattedResult(text=text)
        if len(text) + 1 + len(FILE_NOTE) <= MAX_TEXT_CHARS:
            return _with_file(text, _plain_rendering(payload), name)
    text = _first_lines([head, *body], MAX_TEXT_CHARS - 1 - len(FILE_NOTE))
    return _with_file(text, _plain_rendering(payload), name)


def _with_file(text: str, snippet: str, name: str) -> FormattedResult:
    return FormattedResult(text=f"{text}\n{FILE_NOTE}", snippet=snippet, snippet_name=name)


def _plain_rendering(payload: object) -> str:
    return "\n".join(_Renderer(_PLAIN, slack=False).render(payload))


def _format_text(text: str, head: str, name: str) -> FormattedResult:
    """Text that is not JSON (an error page, a log line) is shown as it is."""
    cleaned = _clean(text[: _PLAIN.chars], single_line=False)
    shown = _slack_escape(cleaned) if cleaned.strip() else "_(empty)_"
    full = f"{head}\n{shown}"
    if len(full) <= MAX_TEXT_CHARS:
        return FormattedResult(text=full)
    budget = MAX_TEXT_CHARS - len(head) - len(FILE_NOTE) - 2 - len(ELLIPSIS)
    part = _PARTIAL_ENTITY.sub("", shown[:budget])
    # Prefer ending on a whole line when one ends reasonably late.
    line_end = part.rfind("\n")
    if line_end > budget // 2:
        part = part[:line_end]
    return _with_file(f"{head}\n{part}{ELLIPSIS}", cleaned, name)


def _title_line(title: object) -> str:
    text = _clean(_safe_str(title)[:TITLE_CHARS], single_line=True) or "result"
    return f"*{_slack_escape(text)}*"


def _snippet_name(title: str) -> str:
    stem = _FILE_UNSAFE.sub("_", _safe_str(title)[:KEY_CHARS]).strip("._")
    return f"{stem or 'result'}.txt"


@dataclass(frozen=True)
class _Listing:
    """An envelope's one list, after the scalar details that came with it (a total, a page)."""

    details: Mapping[object, object]
    items: Sequence[object]


def _unwrap(data: object) -> object:
    """Drop the envelope: `success: true`, and wrappers holding one list or record.

    `{"success": true, "dialogs": [...]}` is shown as the list of dialogs, and
    `{"success": true, "total": 57, "candidates": [...]}` as the total, then the list.
    A failure (`success: false`) and any other detail stay visible.
    """
    for _ in range(MAX_UNWRAPS):
        if not isinstance(data, Mapping):
            return data
        body = {key: value for key, value in data.items() if not _is_success(key, value)}
        if not body:
            return data  # `{"success": true}` alone: that is the whole result
        if len(body) != 1:
            return _listing(body) if "success" in data else body
        (inner,) = body.values()
        if not _is_container(inner):
            return body
        data = inner
    return data


def _listing(body: Mapping[object, object]) -> object:
    """A `_Listing` when the envelope holds one list and otherwise only scalars."""
    lists = [key for key, value in body.items() if isinstance(value, list | tuple)]
    if len(lists) != 1 or any(_is_container(body[key]) for key in body if key != lists[0]):
        return body
    details = {key: value for key, value in body.items() if key != lists[0]}
    return _Listing(details, _as_sequence(body[lists[0]]))


def _is_success(key: object, value: object) -> bool:
    return key == "success" and value is True


# --- Values ---------------------------------------------------------------------------


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def _is_container(value: object) -> bool:
    return isinstance(value, Mapping) or _is_list(value)


def _as_sequence(value: object) -> Sequence[object]:
    if isinstance(value, list | tuple):
        return value
    if isinstance(value, set | frozenset):
        return list(value)
    return []


def _size(value: object) -> int:
    return len(value) if isinstance(value, Mapping | list | tuple | set | frozenset) else 0


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def _safe_str(value: object) -> str:
    """str() of anything: a failing __str__ from odd input must not stop the rendering."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - any object may be handed in; its type name is enough
        return f"({type(value).__name__})"


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # CPython refuses to print integers of more than 4,300 digits
        digits = int(value.bit_length() * 0.30103) + 1
        return f"(a number of about {digits:,} digits)"


def _raw_text(value: object, cap: int) -> str:
    """A scalar as unescaped text; strings are sliced first so huge ones cost little."""
    if value is None:
        return NONE_TEXT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return _int_text(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value[:cap]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"({len(value):,} bytes)"
    return _safe_str(value)[:cap]


def _clean(text: str, *, single_line: bool) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if single_line:
        return _LINE_BREAKS.sub(" ", text).strip()
    return text


def _slack_escape(text: str) -> str:
    """Escape for mrkdwn; also break runs of backticks that would open a code block."""
    return escape(text).replace("``", "`\u200b`")


def _code_escape(text: str) -> str:
    """Inside a code block any backtick could end it early: a look-alike stands in."""
    return escape(text).replace("`", "\u02cb")


def _cut_escaped(text: str, limit: int) -> str:
    """Cut escaped text to `limit` characters, never through an entity."""
    if len(text) <= limit:
        return text
    kept = _PARTIAL_ENTITY.sub("", text[: max(limit - len(ELLIPSIS), 0)])
    return kept + ELLIPSIS


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _width(text: str) -> int:
    """Columns in a monospaced font: CJK characters and most emoji take two."""
    return sum(_char_width(char) for char in text)


def _cut_width(text: str, width: int, *, longer: bool = False) -> str:
    """Cut to `width` columns with "…"; `longer` says the text was already cut short."""
    if not longer and _width(text) <= width:
        return text
    used = 0
    for index, char in enumerate(text):
        used += _char_width(char)
        if used > width - 1:
            return text[:index] + ELLIPSIS
    return text + ELLIPSIS


def humanise(key: object) -> str:
    """A key as a label: new_message_count -> "New message count", lastMessage -> "Last message"."""
    return _humanise_text(_safe_str(key)[: KEY_CHARS + 1])


# Every record of a list repeats the same keys: caching spares re-splitting them.
@lru_cache(maxsize=4_096)
def _humanise_text(key: str) -> str:
    raw = _clean(key, single_line=True)
    if len(raw) > KEY_CHARS:
        raw = raw[: KEY_CHARS - len(ELLIPSIS)] + ELLIPSIS
    words = [word for word in _WORD_SEPARATORS.split(_WORD_BOUNDARY.sub(" ", raw)) if word]
    if not words:
        return raw or NONE_TEXT
    text = " ".join(_shape_word(word) for word in words)
    return text[:1].upper() + text[1:]


def _shape_word(word: str) -> str:
    if word.lower() in UPPER_WORDS:
        return word.upper()
    # Acronyms stay as they are ("HTTP"); other words read as lower case.
    return word if word.isupper() and len(word) > 1 else word.lower()


def _name_key(record: Mapping[object, object]) -> object | None:
    """The field that names a record: name, title, label, then "… name", then "… ID"."""
    keys = {_safe_str(key).lower(): key for key in islice(record, _SLACK.fields)}
    # Humanised, "chatId", "chat_id" and "CHAT-ID" all end in " ID" and "paid" does not.
    humanised = {key: humanise(key).lower() for key in keys.values()}
    candidates = chain(
        (keys[name] for name in NAME_KEYS if name in keys),
        (key for key, words in humanised.items() if words.endswith(" name")),
        (key for key, words in humanised.items() if words.endswith(" id")),
    )
    for key in candidates:
        value = record[key]
        if not _is_container(value) and value not in (None, ""):
            return key
    return None


def _table_columns(items: Sequence[object]) -> list[object] | None:
    """Columns when every item is a flat record and together they have few keys."""
    columns: dict[object, None] = {}
    for item in islice(items, _PLAIN.items):
        if not isinstance(item, Mapping) or not item:
            return None
        for key, value in item.items():
            if _is_container(value):
                return None
            columns.setdefault(key, None)
            if len(columns) > TABLE_MAX_COLUMNS:
                return None
    return list(columns)


def _fits_plain_table(rows: Sequence[Mapping[object, object]]) -> bool:
    """In the file a table is used only while no cell would be wider than the limit."""
    return all(
        len(text) <= PLAIN_CELL_CHARS and _width(text) <= PLAIN_CELL_WIDTH
        for row in rows
        for text in (_raw_text(value, PLAIN_CELL_CHARS + 1) for value in row.values())
    )


def _is_numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _first_lines(lines: Sequence[str], budget: int) -> str:
    """The lines that fit in `budget`, closing a code block the cut falls inside."""
    reserve = len(FENCE) + len(ELLIPSIS) + 2
    kept: list[str] = []
    used = 0
    in_code = False
    for line in lines:
        if used + len(line) + 1 > budget - reserve:
            break
        kept.append(line)
        used += len(line) + 1
        in_code = in_code != (line == FENCE)
    if not kept:
        kept.append(_cut_escaped(lines[0], budget - reserve) if lines else "")
    if in_code:
        kept.append(FENCE)
    kept.append(ELLIPSIS)
    return "\n".join(kept)


# --- Rendering ------------------------------------------------------------------------


class _Renderer:
    """Writes one value as lines, either as Slack mrkdwn or as plain text for the file.

    `cut` records whether anything was left out, in which case the caller attaches
    the plain rendering. Loops stop once the node or character budget is spent.
    """

    def __init__(self, limits: _Limits, *, slack: bool) -> None:
        self.limits = limits
        self.slack = slack
        self.lines: list[str] = []
        self.cut = False
        self._nodes = 0
        self._chars = 0  # written
        self._read = 0  # taken from values: one line may hold many long ones

    @property
    def exhausted(self) -> bool:
        return (
            self._nodes >= self.limits.nodes
            or self._chars >= self.limits.chars
            or self._read >= self.limits.chars
        )

    def render(self, value: object) -> list[str]:
        if isinstance(value, _Listing):
            self._mapping(value.details, indent=0, depth=0)
            self._list(value.items, indent=0, depth=0)
        else:
            self._block(value, indent=0, depth=0)
        if self.exhausted:
            self.cut = True
            self._emit(0, ELLIPSIS)
        return self.lines

    # Output

    def _emit(self, indent: int, text: str) -> None:
        line = INDENT * indent + text
        if self.limits.line_chars is not None and len(line) > self.limits.line_chars:
            line = _cut_escaped(line, self.limits.line_chars)
            self.cut = True
        self._emit_raw(line)

    def _emit_raw(self, line: str) -> None:
        self.lines.append(line)
        self._chars += len(line) + 1

    def _more(self, hidden: int, indent: int, noun: str = "") -> None:
        if hidden > 0:
            self.cut = True
            self._emit(indent, f"{ELLIPSIS}and {hidden:,} more{noun}")

    # Pieces of text

    def _raw(self, value: object, cap: int) -> tuple[str, bool]:
        """A scalar's text, at most `cap` characters, and whether the value was longer.

        What is read counts toward the budget, so that a result repeating one huge
        string many times (possible only from odd input) still costs little.
        """
        cap = min(cap, max(self.limits.chars - self._read, 0) + 1)
        raw = _raw_text(value, cap)
        self._read += len(raw)
        return raw, isinstance(value, str) and len(value) > cap

    def _show(self, raw: str, limit: int | None, *, longer: bool = False) -> str:
        if limit is not None and (longer or len(raw) > limit):
            raw = raw[: limit - len(ELLIPSIS)] + ELLIPSIS
            self.cut = True
        return _slack_escape(raw) if self.slack else raw

    def _scalar(self, value: object) -> str:
        limit = self.limits.value_chars
        raw, longer = self._raw(value, self.limits.chars if limit is None else limit)
        return self._show(_clean(raw, single_line=True), limit, longer=longer)

    def _key(self, key: object) -> str:
        return self._show(humanise(key), None)

    def _label(self, key: object) -> str:
        return f"*{self._key(key)}*:" if self.slack else f"{self._key(key)}:"

    def _bold(self, text: str) -> str:
        return f"*{text}*" if self.slack and text else text

    def _none(self) -> str:
        return "_(none)_" if self.slack else "(none)"

    def _summary(self, value: object) -> str:
        """A container past the depth limit, in one word."""
        self.cut = True
        if isinstance(value, Mapping):
            return f"{{{ELLIPSIS}{_count(len(value), 'field')}}}"
        return f"[{ELLIPSIS}{_count(_size(value), 'item')}]"

    def _join(self, parts: Iterable[str], separator: str, max_parts: int) -> str:
        """Join lazily made parts, stopping at the part or line limit."""
        kept: list[str] = []
        length = 0
        line_chars = self.limits.line_chars
        for part in parts:
            if len(kept) >= max_parts or (line_chars is not None and length > line_chars):
                self.cut = True
                kept.append(ELLIPSIS)
                break
            kept.append(part)
            length += len(part) + len(separator)
            if self.exhausted:  # checked after, so that a part already made is kept
                self.cut = True
                kept.append(ELLIPSIS)
                break
        return separator.join(kept)

    def _inline(self, value: object, depth: int, *, nested: bool = False) -> str:
        """Any value on one line; containers in a list are bracketed to stay apart."""
        self._nodes += 1
        if not _is_container(value):
            return self._scalar(value)
        if not _size(value):
            return self._none()
        if depth >= self.limits.depth:
            return self._summary(value)
        if isinstance(value, Mapping):
            parts = (f"{self._key(k)}: {self._inline(v, depth + 1)}" for k, v in value.items())
            return f"({self._join(parts, ', ', self.limits.fields)})"
        items = (self._inline(item, depth + 1, nested=True) for item in _as_sequence(value))
        joined = self._join(items, ", ", self.limits.items)
        return f"[{joined}]" if nested else joined

    # Blocks

    def _block(self, value: object, indent: int, depth: int) -> None:
        self._nodes += 1
        if isinstance(value, Mapping):
            self._mapping(value, indent, depth)
        elif _is_list(value):
            self._list(_as_sequence(value), indent, depth)
        elif not self.slack and isinstance(value, str):
            self._text_lines(value, indent)
        else:
            self._emit(indent, self._scalar(value))

    def _text_lines(self, text: str, indent: int) -> None:
        """In the file a multi-line value keeps its lines (already bounded by the read)."""
        raw, _ = self._raw(text, self.limits.chars)
        for line in _clean(raw, single_line=False).split("\n"):
            self._emit(indent, line)

    def _mapping(self, record: Mapping[object, object], indent: int, depth: int) -> None:
        if not record:
            self._emit(indent, self._none())
            return
        for key, value in islice(record.items(), self.limits.fields):
            if self.exhausted:
                return
            self._field(key, value, indent, depth + 1)
        self._more(len(record) - self.limits.fields, indent, " fields")

    def _field(self, key: object, value: object, indent: int, depth: int) -> None:
        """`*Key*: value`, or the key alone with the value indented below it."""
        label = self._label(key)
        if self._fits_on_label_line(value, depth):
            self._emit(indent, f"{label} {self._inline(value, depth)}")
            return
        self._emit(indent, label)
        self._block(value, indent + 1, depth)

    def _fits_on_label_line(self, value: object, depth: int) -> bool:
        if isinstance(value, str):
            return self.slack or "\n" not in value
        if not _is_container(value) or not _size(value) or depth >= self.limits.depth:
            return True
        return (
            _is_list(value)
            and _size(value) <= INLINE_LIST_ITEMS
            and not any(_is_container(item) for item in _as_sequence(value))
        )

    def _list(self, items: Sequence[object], indent: int, depth: int) -> None:
        if not items:
            self._emit(indent, self._none())
            return
        columns = _table_columns(items)
        if columns is not None and self._table(items, columns, indent):
            return
        for item in islice(items, self.limits.items):
            if self.exhausted:
                return
            self._emit(indent, BULLET + self._bullet(item, depth + 1))
        self._more(len(items) - self.limits.items, indent)

    def _bullet(self, item: object, depth: int) -> str:
        if isinstance(item, Mapping) and item and depth < self.limits.depth:
            return self._record_line(item, depth)
        return self._inline(item, depth, nested=True)

    def _record_line(self, record: Mapping[object, object], depth: int) -> str:
        """The record's name first, in bold, then `key: value` pairs."""
        self._nodes += 1
        name_key = _name_key(record)
        head: list[str] = []
        if name_key is not None:
            head.append(self._bold(self._scalar(record[name_key])))
        pairs = (
            f"{self._key(key)}: {self._inline(value, depth + 1)}"
            for key, value in record.items()
            if name_key is None or key is not name_key
        )
        return self._join(chain(head, pairs), PART_SEPARATOR, self.limits.fields + len(head))

    # Tables

    def _table(self, rows: Sequence[object], columns: list[object], indent: int) -> bool:
        """An aligned table; False when the file would rather have bullets."""
        shown = [row for row in islice(rows, self.limits.items) if isinstance(row, Mapping)]
        if self.limits.cell_width is None and not _fits_plain_table(shown):
            return False
        cells = [[self._cell(row, column) for column in columns] for row in shown]
        header = [
            _cut_width(humanise(column), self.limits.cell_width or KEY_CHARS) for column in columns
        ]
        numeric = [all(_is_numeric(row.get(column, 0)) for row in shown) for column in columns]
        widths = [
            max(_width(text) for text in [title, *(row[i] for row in cells)])
            for i, title in enumerate(header)
        ]
        lines = [header, ["-" * width for width in widths], *cells]
        text_lines = [self._table_line(line, widths, numeric) for line in lines]
        if self.slack:
            for line in [FENCE, *(_code_escape(line) for line in text_lines), FENCE]:
                self._emit_raw(line)
        else:
            for line in text_lines:
                self._emit(indent, line)
        self._more(len(rows) - self.limits.items, indent)
        return True

    def _cell(self, row: Mapping[object, object], column: object) -> str:
        self._nodes += 1
        if column not in row:
            return ""
        width = self.limits.cell_width
        # Even at one column per character, this many show whether the cell is cut.
        raw, longer = self._raw(row[column], PLAIN_CELL_CHARS if width is None else width)
        raw = _clean(raw, single_line=True)
        if width is None:
            return raw
        cell = _cut_width(raw, width, longer=longer)
        self.cut = self.cut or cell != raw
        return cell

    @staticmethod
    def _table_line(cells: list[str], widths: list[int], numeric: list[bool]) -> str:
        padded = []
        for cell, width, right in zip(cells, widths, numeric, strict=True):
            padding = " " * (width - _width(cell))
            padded.append(padding + cell if right else cell + padding)
        return "  ".join(padded).rstrip()
