"""Excel files, each sheet a Markdown table under its heading: .xlsx and .xlsm read straight
from the worksheets' XML (with the shared strings and the styles that make a number a date),
and legacy .xls through xlrd.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from untrusted.documents.common import (
    Budget,
    Collected,
    DocumentUnreadable,
    Enough,
    ExtractedDocument,
    finish,
)
from untrusted.documents.kinds import extension
from untrusted.documents.office import (
    ENCRYPTED_PACKAGE,
    OLE_MAGIC,
    Part,
    decimal,
    main_part,
    open_office_zip,
    parse_part,
    related_part,
    relationships,
)
from untrusted.documents.tables import MAX_CELL_CHARS, MAX_TABLE_COLUMNS, Table, is_blank

MAX_SHEETS = 10
MIN_SHEET_CHARS = 200  # room a sheet needs, past its heading, to be read at all
# The fewest bytes of sheet XML a row with a value takes: a declared size that would need a
# larger sheet is not believed.
MIN_ROW_XML_BYTES = 16

_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def extract_excel(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_PACKAGE in data:
            raise DocumentUnreadable("it is password-protected")
        return _extract_xls(name, kind, data)
    if extension(name) == "xls" and not data.startswith(b"PK"):
        return _extract_xls(name, kind, data)  # let xlrd say what is wrong with it
    return _extract_xlsx(name, kind, data)


def _sheet_heading(title: str, budget: Budget) -> str | None:
    """A sheet's heading, spent from the budget before its rows are read; None when the
    budget has no room left for the sheet (its heading and a row or so)."""
    heading = f"## Sheet: {title}\n\n"
    if not budget.fits(len(heading) + 2 + MIN_SHEET_CHARS):
        return None
    budget.spend(len(heading) + 2)  # with the blank line before the next sheet
    return heading


def _sheet_block(heading: str, table: Table, markdown: str) -> str:
    return heading + (markdown or ("(not read)" if table.seen else "(empty)"))


def _sheets_note(read: int, count: int, cuts: list[str]) -> None:
    if read < count:
        cuts.append(f"only the first {read} of {count} sheets")


@dataclass(frozen=True)
class _Workbook:
    sheets: list[tuple[str, str]]  # (title, part) of every worksheet
    strings: list[str]
    dates: frozenset[int]  # cell styles showing a number as a date or time
    durations: frozenset[int]  # cell styles showing a number as a duration
    epoch: dt.datetime


def _extract_xlsx(name: str, kind: str, data: bytes) -> ExtractedDocument:
    budget = Budget()
    cuts: list[str] = []
    blocks: list[str] = []
    any_rows = False
    with open_office_zip(data, "binary Excel files are not supported") as archive:
        book = _workbook(archive)
        for title, part in book.sheets[:MAX_SHEETS]:
            heading = None if budget.elements_left <= 0 else _sheet_heading(title, budget)
            if heading is None:
                break
            table = Table(f"sheet '{title}'", budget)
            markdown = _read_sheet(archive, part, book, table, budget, cuts)
            any_rows = any_rows or table.seen > 0
            blocks.append(_sheet_block(heading, table, markdown))
    _sheets_note(len(blocks), len(book.sheets), cuts)
    if not any_rows:
        raise DocumentUnreadable("it is too large to read" if budget.unread else "it is empty")
    return finish(name, kind, "\n\n".join(blocks), cuts)


class _WorkbookPart(Part):
    def __init__(self) -> None:
        self.sheets: list[tuple[str, str]] = []  # (title, relationship id)
        self.date1904 = False
        self._root = True

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self._root and tag != _S + "workbook":
            raise DocumentUnreadable("it looks damaged")
        self._root = False
        if tag == _S + "sheet":
            self.sheets.append((attrib.get("name", ""), attrib.get(_R_ID, "")))
        elif tag == _S + "workbookPr":
            self.date1904 = attrib.get("date1904", "").strip().lower() in ("1", "true")


def _workbook(archive: zipfile.ZipFile) -> _Workbook:
    """What every sheet needs: the worksheets, shared strings, date styles and epoch. These
    parts are read whole (each within `MAX_UNPACKED_PART_BYTES`, in linear time)."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH

    main = main_part(archive)
    part = _WorkbookPart()
    parse_part(archive, main, part)
    related = relationships(archive, main)
    sheets = [
        (title, related[rid][1])
        for title, rid in part.sheets
        if rid in related and related[rid][0].endswith("/worksheet")
    ]
    strings = _SharedStrings()
    shared = related_part(related, "sharedStrings")
    if shared is not None and shared in archive.NameToInfo:
        parse_part(archive, shared, strings)
    styles = _CellStyles()
    styles_part = related_part(related, "styles")
    if styles_part is not None and styles_part in archive.NameToInfo:
        parse_part(archive, styles_part, styles)
    dates, durations = styles.date_styles()
    epoch = CALENDAR_MAC_1904 if part.date1904 else WINDOWS_EPOCH
    return _Workbook(sheets, strings.strings, dates, durations, epoch)


class _SharedStrings(Part):
    """The shared strings, each cut to what a cell keeps (phonetic guides left out)."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._text = Collected(0)
        self._in_text = False
        self._phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _S + "si":
            self._text = Collected(MAX_CELL_CHARS + 1)
        elif tag == _S + "rPh":
            self._phonetic += 1
        elif tag == _S + "t":
            self._in_text = not self._phonetic

    def end(self, tag: str) -> None:
        if tag == _S + "si":
            self.strings.append(self._text.text())
        elif tag == _S + "rPh":
            self._phonetic -= 1
        elif tag == _S + "t":
            self._in_text = False

    def data(self, text: str) -> None:
        if self._in_text:
            self._text.add(text)


class _CellStyles(Part):
    """The number format of each cell style: enough to tell dates from numbers."""

    def __init__(self) -> None:
        self.codes: dict[int, str] = {}  # custom number formats
        self.formats: list[int] = []  # number format id by cell style
        self._in_cell_styles = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _S + "numFmt":
            self.codes[decimal(attrib.get("numFmtId"), -1)] = attrib.get("formatCode", "")
        elif tag == _S + "cellXfs":
            self._in_cell_styles = True
        elif tag == _S + "xf" and self._in_cell_styles:
            self.formats.append(decimal(attrib.get("numFmtId"), 0))

    def end(self, tag: str) -> None:
        if tag == _S + "cellXfs":
            raise Enough  # the rest of the styles do not matter here

    def date_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        kinds: dict[int, tuple[bool, bool]] = {}
        for fmt in set(self.formats):
            code = self.codes.get(fmt) or BUILTIN_FORMATS.get(fmt)
            # openpyxl's checks are regular expressions that backtrack on long codes;
            # real number formats are short.
            if code is not None and len(code) <= 100:
                kinds[fmt] = (is_date_format(code), is_timedelta_format(code))
        dates = (i for i, fmt in enumerate(self.formats) if kinds.get(fmt, (False,))[0])
        durations = (i for i, fmt in enumerate(self.formats) if kinds.get(fmt, (False, False))[1])
        return frozenset(dates), frozenset(durations)


_NO_ATTRIBUTES: dict[str, str] = {}
_CELL_REFERENCE = re.compile(r"([A-Z]{1,3})[0-9]")
_DIMENSION = re.compile(r"[A-Z]{1,3}([0-9]{1,9})(?::[A-Z]{1,3}([0-9]{1,9}))?")


def _column(reference: str) -> int:
    """The column (from 1) of a cell reference such as "B7"; one past the kept columns when
    the reference is absurd."""
    match = _CELL_REFERENCE.match(reference)
    if match is None:
        return MAX_TABLE_COLUMNS + 1
    number = 0
    for letter in match.group(1):
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _read_sheet(
    archive: zipfile.ZipFile,
    part: str,
    book: _Workbook,
    table: Table,
    budget: Budget,
    cuts: list[str],
) -> str:
    """One worksheet's table in Markdown, noting what was left out."""
    rows = _SheetRows(book, table, budget, archive.getinfo(part).file_size)
    if not parse_part(archive, part, rows) and not rows.done:
        table.full = True  # stopped by the element budget: the rest was not read
    return table.finish(cuts, about=rows.declared)


class _SheetRows(Part):
    """A worksheet's rows offered to a `Table` as they are parsed: only rows that are there,
    so a gap in row numbers costs nothing; only the first columns, so a huge column reference
    costs nothing either; and no further than the table keeps rows."""

    def __init__(self, book: _Workbook, table: Table, budget: Budget, size: int) -> None:
        self.declared: int | None = None  # rows the sheet's dimension claims, if believable
        self.done = False  # the sheet's data was read to its end
        self._book = book
        self._table = table
        self._budget = budget
        self._size = size
        self._root = True
        self._row: dict[int, object] = {}
        self._column = 0
        self._type = "n"
        self._style = 0
        self._value = Collected(0)
        self._has_value = False
        self._in_value = False
        self._inline = False
        self._phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._budget.element()
        if self._root and tag != _S + "worksheet":
            raise DocumentUnreadable("it looks damaged")
        self._root = False
        # lxml hands an element without attributes a mapping whose get() is slow Python.
        attrib = attrib or _NO_ATTRIBUTES
        local = tag[len(_S) :] if tag.startswith(_S) else ""
        if local == "c":
            reference = attrib.get("r")
            self._column = _column(reference) if reference else self._column + 1
            self._type = attrib.get("t", "n")
            style = attrib.get("s")
            self._style = decimal(style, 0) if style else 0
            self._has_value = False
        elif local == "v" or (local == "t" and self._inline and not self._phonetic):
            if not self._has_value:
                self._value = Collected(MAX_CELL_CHARS + 1)
            self._in_value = self._has_value = True
        elif local == "is":
            self._inline = True
        elif local == "rPh":
            self._phonetic += 1
        elif local == "row":
            self._row = {}
            self._column = 0
        elif local == "dimension":
            self._declare(attrib.get("ref", ""))

    def end(self, tag: str) -> None:
        local = tag[len(_S) :] if tag.startswith(_S) else ""
        if local == "c":
            self._end_cell()
        elif local in ("v", "t"):
            self._in_value = False
        elif local == "is":
            self._inline = False
        elif local == "rPh":
            self._phonetic -= 1
        elif local == "row":
            width = max(self._row, default=0)
            if not self._table.add([self._row.get(column) for column in range(1, width + 1)]):
                raise Enough
        elif local == "sheetData":
            self.done = True
            raise Enough  # what follows the cells (merged ranges, formatting) is not needed

    def data(self, text: str) -> None:
        if self._in_value:
            self._value.add(text)

    def _end_cell(self) -> None:
        if not self._has_value:
            return
        value = self._cell_value(self._value.text())
        if self._column <= MAX_TABLE_COLUMNS:
            self._row[self._column] = value
        elif not is_blank(value):  # past the kept columns: only whether there is anything
            self._row[MAX_TABLE_COLUMNS + 1] = value

    def _cell_value(self, text: str) -> object:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        kind = self._type
        if kind == "s":
            index = decimal(text, -1)
            return self._book.strings[index] if 0 <= index < len(self._book.strings) else None
        if kind in ("inlineStr", "str", "e"):
            return text
        if kind == "b":
            return text.strip().lower() in ("1", "true")
        with contextlib.suppress(ValueError, OverflowError):
            if kind == "d":
                return from_ISO8601(text.strip())
            number: float = float(text) if any(c in text for c in ".eE") else int(text)
            if self._style in self._book.dates:
                timedelta = self._style in self._book.durations
                return from_excel(number, self._book.epoch, timedelta=timedelta)
            return number
        return text

    def _declare(self, reference: str) -> None:
        match = _DIMENSION.fullmatch(reference.strip().upper())
        if match is None:
            return
        first, last = match.group(1), match.group(2) or match.group(1)
        rows = int(last) - int(first) + 1
        if rows > 0 and rows * MIN_ROW_XML_BYTES <= self._size:
            self.declared = rows


def _extract_xls(name: str, kind: str, data: bytes) -> ExtractedDocument:
    import xlrd

    try:
        book = xlrd.open_workbook(
            file_contents=data, on_demand=True, ragged_rows=True, logfile=io.StringIO()
        )
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise DocumentUnreadable("it is password-protected") from exc
        raise DocumentUnreadable("it looks damaged") from exc
    budget = Budget()
    cuts: list[str] = []
    blocks: list[str] = []
    any_rows = False
    try:
        cell_value = _xls_cell_reader(book)
        for index in range(min(book.nsheets, MAX_SHEETS)):
            sheet = book.sheet_by_index(index)
            heading = _sheet_heading(sheet.name, budget)
            if heading is None:
                break
            table = Table(f"sheet '{sheet.name}'", budget)
            for r in range(sheet.nrows):
                row = sheet.row_slice(r, 0, MAX_TABLE_COLUMNS + 1)
                if not table.add([cell_value(cell) for cell in row]):
                    break
            any_rows = any_rows or table.seen > 0
            blocks.append(_sheet_block(heading, table, table.finish(cuts, about=sheet.nrows)))
            book.unload_sheet(index)
        _sheets_note(len(blocks), book.nsheets, cuts)
    finally:
        book.release_resources()
    if not any_rows:
        raise DocumentUnreadable("it is empty")
    return finish(name, kind, "\n\n".join(blocks), cuts)


def _xls_cell_reader(book: object) -> Callable[[object], object]:
    import xlrd

    def read(cell: object) -> object:
        ctype = getattr(cell, "ctype", xlrd.XL_CELL_EMPTY)
        value: object = getattr(cell, "value", None)
        if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return None
        if ctype == xlrd.XL_CELL_DATE:
            try:
                return xlrd.xldate.xldate_as_datetime(value, getattr(book, "datemode", 0))
            except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                return value
        if ctype == xlrd.XL_CELL_BOOLEAN:
            return bool(value)
        if ctype == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(value, "#ERROR")
        return value

    return read
