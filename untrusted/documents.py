"""Reading the documents people attach: PDFs, Office files, tables and text, as text a model reads.

Everything here is synchronous CPU work on untrusted bytes: it runs only in the worker
processes of `untrusted.pool`, never in the bot's own process, and must not hang or crash
on hostile input. Every failure becomes one of two exceptions whose message
is a short reason fit for a user: `UnsupportedDocument` (a kind of file we do not read) or
`DocumentUnreadable` (damaged, password-protected, empty, too big).

The pool's memory and CPU limits are the last line of defence, not the plan: every reader
applies its caps while it reads (bytes decoded, characters kept, rows, cells, pages, XML
elements, declared spans) and uses only parsers that are linear in their input (lxml for
HTML and Office XML, a one-pass RTF tokenizer). Whatever is left out is reported in
`ExtractedDocument.cuts`. What only the pool's limits can stop: PDFium expanding a PDF's
nested form XObjects when it loads a page (see tests/hostile.py).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import json
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lxml import etree  # type: ignore[import-untyped]

MAX_DOCUMENT_BYTES = 50 * 2**20
MAX_DOCUMENT_CHARS = (
    150_000  # text kept per document; beyond it the text is cut and the cut is reported
)
# Bytes of a text file decoded: enough for `MAX_DOCUMENT_CHARS` in any encoding.
MAX_TEXT_BYTES = MAX_DOCUMENT_CHARS * 4
MAX_HTML_BYTES = 10 * 2**20
MAX_RTF_BYTES = 5 * 2**20
MAX_PDF_PAGES = 200  # pages whose text is read
MAX_SCANNED_PAGES = 3  # pages rendered to images when a PDF has no text layer
MAX_SHEET_ROWS = 500  # rows per sheet rendered
MAX_SHEETS = 10
MIN_SHEET_CHARS = 200  # room a sheet needs, past its heading, to be read at all
MAX_TABLE_COLUMNS = 50  # columns per sheet / CSV rendered
MAX_CELL_CHARS = 2_000  # characters kept per table cell
# What a docx/xlsx zip may declare unpacked, in all and per part, and how many parts it may
# have: a small file could otherwise unpack to gigabytes.
MAX_UNPACKED_BYTES = 100 * 2**20
MAX_UNPACKED_PART_BYTES = 25 * 2**20
MAX_ZIP_ENTRIES = 10_000
# Markup read per document (the XML elements of a Word body or of worksheets, HTML elements,
# RTF control words and groups): each costs a Python call, and markup without text spends
# no character budget. Enough for any real document to fill that budget first.
MAX_MARKUP_ELEMENTS = 1_000_000
# The fewest bytes of sheet XML a row with a value takes: a declared size that would need a
# larger sheet is not believed.
MIN_ROW_XML_BYTES = 16
MAX_IMAGE_SIDE = 2048  # longest side, in pixels, of a rendered scanned page
SCANNED_PAGE_MIN_CHARS = 20  # a PDF page with fewer non-space characters has no text layer
SUPPORTED_KINDS_TEXT = (
    "PDF, Word (.docx), Excel (.xlsx, .xls), CSV/TSV, text, Markdown, RTF, source code, logs, "
    "JSON, YAML, XML and HTML"
)


class UnsupportedDocument(Exception):
    """We do not read this kind of file; the message says which kind, fit for a user."""


class DocumentUnreadable(Exception):
    """The file is of a kind we read, but this one could not be read; the message says why."""


@dataclass(frozen=True)
class ExtractedDocument:
    name: str
    kind: str
    text: str
    cuts: list[str] = field(default_factory=list)
    page_images: list[bytes] = field(default_factory=list)


# --- deciding the kind -------------------------------------------------------------------

# Source code: extension -> language tag for the fenced block.
_CODE_LANGUAGES: dict[str, str] = {
    "py": "python",
    "pyi": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "ts": "typescript",
    "tsx": "tsx",
    "jsx": "jsx",
    "java": "java",
    "c": "c",
    "h": "c",
    "cpp": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "hh": "cpp",
    "cs": "csharp",
    "go": "go",
    "rs": "rust",
    "rb": "ruby",
    "php": "php",
    "sh": "bash",
    "bash": "bash",
    "zsh": "zsh",
    "ps1": "powershell",
    "sql": "sql",
    "kt": "kotlin",
    "kts": "kotlin",
    "swift": "swift",
    "scala": "scala",
    "r": "r",
    "m": "objectivec",
    "lua": "lua",
    "pl": "perl",
    "dart": "dart",
    "vue": "vue",
    "svelte": "svelte",
    "css": "css",
    "scss": "scss",
    "toml": "toml",
    "ini": "ini",
    "cfg": "ini",
    "conf": "ini",
    "env": "bash",
    "dockerfile": "dockerfile",
    "makefile": "makefile",
    "gradle": "groovy",
}
_CODE_FILE_NAMES = {"dockerfile": "dockerfile", "makefile": "makefile", "gnumakefile": "makefile"}

_EXTENSION_KINDS: dict[str, str] = {
    "pdf": "PDF",
    "docx": "Word",
    "xlsx": "Excel",
    "xlsm": "Excel",
    "xls": "Excel",
    "csv": "CSV",
    "tsv": "CSV",
    "txt": "text",
    "text": "text",
    "md": "Markdown",
    "markdown": "Markdown",
    "log": "log",
    "json": "JSON",
    "jsonl": "JSON",
    "ndjson": "JSON",
    "yaml": "YAML",
    "yml": "YAML",
    "xml": "XML",
    "html": "HTML",
    "htm": "HTML",
    "rtf": "RTF",
    **dict.fromkeys(_CODE_LANGUAGES, "code"),
}

# Document formats people attach that we refuse with a reason (rather than ignore).
_REFUSED_EXTENSIONS: dict[str, str] = {
    "doc": "Word 97 (.doc) files are not supported",
    "dot": "Word 97 (.dot) templates are not supported",
    "docm": "Word files with macros (.docm) are not supported",
    "ppt": "PowerPoint (.ppt) files are not supported",
    "pptx": "PowerPoint (.pptx) files are not supported",
    "pps": "PowerPoint (.pps) files are not supported",
    "ppsx": "PowerPoint (.ppsx) files are not supported",
    "odt": "OpenDocument (.odt) files are not supported",
    "ods": "OpenDocument (.ods) files are not supported",
    "odp": "OpenDocument (.odp) files are not supported",
    "pages": "Apple Pages files are not supported",
    "numbers": "Apple Numbers files are not supported",
    "key": "Apple Keynote files are not supported",
    "epub": "e-books (.epub) are not supported",
    "xlsb": "binary Excel (.xlsb) files are not supported",
}
_REFUSED_MIMETYPES: dict[str, str] = {
    "application/msword": _REFUSED_EXTENSIONS["doc"],
    "application/vnd.ms-powerpoint": _REFUSED_EXTENSIONS["ppt"],
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        _REFUSED_EXTENSIONS["pptx"]
    ),
    "application/vnd.oasis.opendocument.text": _REFUSED_EXTENSIONS["odt"],
    "application/vnd.oasis.opendocument.spreadsheet": _REFUSED_EXTENSIONS["ods"],
    "application/vnd.oasis.opendocument.presentation": _REFUSED_EXTENSIONS["odp"],
}

_MIMETYPE_KINDS: dict[str, str] = {
    "application/pdf": "PDF",
    "application/x-pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-excel.sheet.macroenabled.12": "Excel",
    "application/vnd.ms-excel": "Excel",
    "text/csv": "CSV",
    "application/csv": "CSV",
    "text/tab-separated-values": "CSV",
    "text/plain": "text",
    "text/markdown": "Markdown",
    "text/x-markdown": "Markdown",
    "application/json": "JSON",
    "application/x-ndjson": "JSON",
    "application/jsonl": "JSON",
    "application/yaml": "YAML",
    "application/x-yaml": "YAML",
    "text/yaml": "YAML",
    "text/x-yaml": "YAML",
    "application/xml": "XML",
    "text/xml": "XML",
    "text/html": "HTML",
    "application/xhtml+xml": "HTML",
    "application/rtf": "RTF",
    "text/rtf": "RTF",
    "text/x-log": "log",
}
# Mimetype -> language tag, for code whose name says nothing.
_MIMETYPE_CODE: dict[str, str] = {
    "text/x-python": "python",
    "text/x-script.python": "python",
    "application/x-python": "python",
    "text/javascript": "javascript",
    "application/javascript": "javascript",
    "application/x-javascript": "javascript",
    "text/typescript": "typescript",
    "application/typescript": "typescript",
    "text/x-java": "java",
    "text/x-java-source": "java",
    "text/x-c": "c",
    "text/x-csrc": "c",
    "text/x-chdr": "c",
    "text/x-c++": "cpp",
    "text/x-c++src": "cpp",
    "text/x-csharp": "csharp",
    "text/x-go": "go",
    "text/x-rust": "rust",
    "text/x-ruby": "ruby",
    "application/x-ruby": "ruby",
    "text/x-php": "php",
    "application/x-php": "php",
    "application/x-sh": "bash",
    "text/x-sh": "bash",
    "text/x-shellscript": "bash",
    "application/sql": "sql",
    "text/x-sql": "sql",
    "text/x-kotlin": "kotlin",
    "text/x-swift": "swift",
    "text/x-scala": "scala",
    "text/x-lua": "lua",
    "text/x-perl": "perl",
    "text/css": "css",
    "text/x-scss": "scss",
    "application/toml": "toml",
    "text/x-toml": "toml",
}


def _extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lower()
    if "." not in base:
        return base if base in _CODE_FILE_NAMES else ""
    return base.rsplit(".", 1)[1]


def _mimetype(mimetype: str) -> str:
    return mimetype.split(";", 1)[0].strip().lower()


def _kind_and_language(name: str, mimetype: str) -> tuple[str, str] | None:
    """The kind (and, for code, the language tag) by extension first, then by mimetype."""
    ext = _extension(name)
    if ext in _EXTENSION_KINDS:
        return _EXTENSION_KINDS[ext], _CODE_LANGUAGES.get(ext, "")
    if ext in _CODE_FILE_NAMES:
        return "code", _CODE_FILE_NAMES[ext]
    if ext in _REFUSED_EXTENSIONS:
        return None
    mime = _mimetype(mimetype)
    if mime in _MIMETYPE_KINDS:
        return _MIMETYPE_KINDS[mime], ""
    if mime in _MIMETYPE_CODE:
        return "code", _MIMETYPE_CODE[mime]
    return None


def is_document(name: str, mimetype: str) -> bool:
    """True for every kind `extract_document` reads, and for the office formats it refuses
    with a reason (.doc, .pptx, ...), so the user hears why. False for images, archives
    and other binaries."""
    if _kind_and_language(name, mimetype) is not None:
        return True
    ext = _extension(name)
    return ext in _REFUSED_EXTENSIONS or (not ext and _mimetype(mimetype) in _REFUSED_MIMETYPES)


def is_pdf(name: str, mimetype: str) -> bool:
    """PDFs are read with PDFium, which is not thread-safe: callers run one at a time."""
    found = _kind_and_language(name, mimetype)
    return found is not None and found[0] == "PDF"


def _unsupported(reason: str) -> UnsupportedDocument:
    return UnsupportedDocument(f"{reason}; I can read {SUPPORTED_KINDS_TEXT}")


def extract_document(name: str, mimetype: str, data: bytes) -> ExtractedDocument:
    """The text of one attached document, or `UnsupportedDocument` / `DocumentUnreadable`."""
    found = _kind_and_language(name, mimetype)
    if found is None:
        ext = _extension(name)
        reason = _REFUSED_EXTENSIONS.get(ext) or _REFUSED_MIMETYPES.get(_mimetype(mimetype))
        if reason is None:
            shown = f".{ext} files" if ext else "this kind of file"
            reason = f"{shown} are not supported" if ext else f"{shown} is not supported"
        raise _unsupported(reason)
    kind, language = found
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentUnreadable(f"it is larger than {MAX_DOCUMENT_BYTES // 2**20} MB")
    if not data:
        raise DocumentUnreadable("it is empty")
    try:
        return _EXTRACTORS[kind](name, kind, language, data)
    except (UnsupportedDocument, DocumentUnreadable):
        raise
    except RecursionError as exc:
        raise DocumentUnreadable("it is nested too deeply to read") from exc
    except MemoryError as exc:
        raise DocumentUnreadable("it is too large to read") from exc
    except Exception as exc:  # a library choked on hostile input: still one of our two
        raise DocumentUnreadable("it looks damaged") from exc


# --- shared helpers ----------------------------------------------------------------------


class _Enough(Exception):
    """Raised inside a reader (often from a parser callback) to stop reading: a cap is met."""


class _Budget:
    """What one document may still keep, spent while it is read, so that no reader builds
    text past the cut: characters (`MAX_DOCUMENT_CHARS`) and markup elements read
    (`MAX_MARKUP_ELEMENTS`)."""

    def __init__(self) -> None:
        self.left = MAX_DOCUMENT_CHARS
        self.elements_left = MAX_MARKUP_ELEMENTS
        self.unread = False  # a reader stopped with more of the document before it

    @property
    def spent(self) -> bool:
        return self.left <= 0

    def fits(self, size: int) -> bool:
        return size <= self.left

    def spend(self, size: int) -> None:
        self.left -= size

    def take(self, text: str) -> str:
        """`text`, or as much of it as the budget still allows (noting any rest unread)."""
        kept = text[: max(0, self.left)]
        self.left -= len(text)
        if len(kept) < len(text) and text[len(kept) :].strip():
            self.unread = True
        return kept

    def element(self) -> None:
        """Counts one markup element read; `_Enough` once `MAX_MARKUP_ELEMENTS` have been."""
        self.elements_left -= 1
        if self.elements_left < 0:
            self.unread = True
            raise _Enough

    @property
    def rest(self) -> str | None:
        """How the kept text relates to the whole, when a reader stopped early."""
        return "(the rest was not read)" if self.unread else None


def _keep(parts: list[str], text: str, budget: _Budget) -> None:
    """Appends `text` to `parts` within the budget; `_Enough` when text comes after it is spent."""
    if budget.spent and text.strip():
        budget.unread = True
        raise _Enough
    parts.append(budget.take(text))


class _Collected:
    """Text gathered piece by piece, keeping at most `limit` characters of it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._parts: list[str] = []

    def add(self, text: str) -> None:
        if self.size < self.limit:
            self._parts.append(text[: self.limit - self.size])
        self.size += len(text)

    def text(self) -> str:
        return "".join(self._parts)


def _cut_text(text: str, limit: int, cuts: list[str], rest: str | None = None) -> str:
    """`text` within `limit` characters (cut at a line end when one is near), noting a cut.

    `rest` says how much the whole document holds when `text` is only its start (for example
    "of about 2,400,000"); the cut is then noted even if `text` itself fits."""
    if len(text) <= limit and rest is None:
        return text
    kept = text[:limit]
    if len(text) > limit:
        newline = kept.rfind("\n", max(0, limit - 2_000))
        if newline > 0:
            kept = kept[:newline]
    cuts.append(f"first {len(kept):,} characters {rest or f'of {len(text):,}'}")
    return kept


def _fence(language: str, content: str) -> tuple[str, str]:
    """Opening and closing fence lines, longer than any run of backticks in `content`."""
    longest = max((len(m) for m in re.findall(r"`{3,}", content)), default=2)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n", f"\n{ticks}"


def _fenced(language: str, content: str, cuts: list[str], rest: str | None = None) -> str:
    """`content` in a fenced block, cut so the whole block fits `MAX_DOCUMENT_CHARS`."""
    content = content.strip("\n")
    opening, closing = _fence(language, content)
    content = _cut_text(content, MAX_DOCUMENT_CHARS - len(opening) - len(closing), cuts, rest)
    return opening + content + closing


def _finish(
    name: str,
    kind: str,
    text: str,
    cuts: list[str],
    images: list[bytes] | None = None,
    rest: str | None = None,
) -> ExtractedDocument:
    text = _cut_text(text.strip("\n"), MAX_DOCUMENT_CHARS, cuts, rest)
    if not text.strip() and not images:
        raise DocumentUnreadable("it is empty" if rest is None else "it is too large to read")
    return ExtractedDocument(name=name, kind=kind, text=text, cuts=cuts, page_images=images or [])


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


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


class _Table:
    """The rows of one table kept as they are read: non-empty rows up to `MAX_SHEET_ROWS`, the
    first `MAX_TABLE_COLUMNS` columns, and only while the document's budget lasts."""

    def __init__(self, label: str, budget: _Budget) -> None:
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
            self._wide = self._wide or not all(map(_is_blank, row[MAX_TABLE_COLUMNS:]))
            row = row[:MAX_TABLE_COLUMNS]
        if all(map(_is_blank, row)):
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


# --- text-like files ---------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")


@dataclass(frozen=True)
class _Text:
    text: str
    scale: float = 1.0  # the file's size over the size of the start that was decoded

    @property
    def rest(self) -> str | None:
        """How much the whole file holds, when only its start was decoded."""
        if self.scale == 1.0:
            return None
        return f"of about {round(len(self.text) * self.scale):,}"


def _decode(data: bytes, encoding: str, errors: str, final: bool) -> str:
    """`data` decoded; unless `final`, a character cut off at its end is left out."""
    return codecs.getincrementaldecoder(encoding)(errors).decode(data, final)


def _decode_text(data: bytes, final: bool) -> str:
    """`data` (all of a file, or its start unless `final`) as text, or DocumentUnreadable if it
    is binary rather than text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _decode(data[len(bom) :], encoding, "replace", final)
            break
    else:
        if b"\x00" in data:
            raise DocumentUnreadable("it does not look like text")
        try:
            text = _decode(data, "utf-8", "strict", final)
        except UnicodeDecodeError:
            text = _decode_guessed(data, final)
    sample = text[:100_000]
    if sample:
        controls = sum(
            1
            for ch in sample
            if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
        )
        if controls > max(2, len(sample) // 50):
            raise DocumentUnreadable("it does not look like text")
    return text


def _decode_guessed(data: bytes, final: bool) -> str:
    import charset_normalizer

    try:
        best = charset_normalizer.from_bytes(data).best()
    except (ValueError, LookupError, TypeError, RuntimeError):  # detector failed: use UTF-8
        best = None
    encoding = best.encoding if best is not None else "utf-8"
    return _decode(data, encoding, "replace", final)


def _text_body(data: bytes, limit: int | None = None) -> _Text:
    """The text of a text-like file, decoding only its first `limit` bytes
    (`MAX_TEXT_BYTES` unless given)."""
    limit = MAX_TEXT_BYTES if limit is None else limit
    head = data[:limit]
    if len(head) < len(data):
        # Cut after a line end when there is one near: in UTF-8 and the legacy multi-byte
        # encodings a newline byte is never part of another character, so the detector
        # sees no broken character.
        newline = head.rfind(b"\n", limit - 4096)
        if newline > 0:
            head = head[: newline + 1]
    text = _decode_text(head, final=len(head) == len(data))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentUnreadable("it is empty")
    return _Text(text, len(data) / len(head))


def _extract_plain(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    body = _text_body(data)
    return _finish(name, kind, body.text, [], rest=body.rest)


def _extract_code(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    return _extract_fenced(language, name, kind, data)


def _extract_fenced(language: str, name: str, kind: str, data: bytes) -> ExtractedDocument:
    body = _text_body(data)
    cuts: list[str] = []
    return _finish(name, kind, _fenced(language, body.text, cuts, body.rest), cuts)


def _extract_json(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    body = _text_body(data)
    text = body.text
    if body.rest is None and _extension(name) not in ("jsonl", "ndjson"):
        text = _pretty_json(text) or text
    cuts: list[str] = []
    return _finish(name, kind, _fenced("json", text, cuts, body.rest), cuts)


def _pretty_json(text: str) -> str | None:
    """`text` indented, if it is valid JSON whose indented form fits the document: indenting
    deeply nested JSON multiplies its size, so it is built only up to that size."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not valid JSON, or nested too deep: kept as written
        return None
    chunks = json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value)
    kept: list[str] = []
    size = 0
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_DOCUMENT_CHARS:
                return None
            kept.append(chunk)
    except RecursionError:
        return None
    return "".join(kept)


def _extract_yaml(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    return _extract_fenced("yaml", name, kind, data)


def _extract_xml(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    # Kept as written: never parsed, so no entity expansion and nothing fetched.
    return _extract_fenced("xml", name, kind, data)


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

    def __init__(self, budget: _Budget) -> None:
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
            _keep(self.parts, text if self._pre else re.sub(r"\s+", " ", text), self._budget)

    def close(self) -> str:
        with contextlib.suppress(_Enough):
            self._flush()
        # Line by line rather than by regular expressions like `[ \t]+\n`, which backtrack
        # quadratically over a long run of spaces.
        lines = (line.strip(" \t") for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _extract_html(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    if len(data) > MAX_HTML_BYTES:
        raise DocumentUnreadable(f"it is larger than {MAX_HTML_BYTES // 2**20} MB for an HTML file")
    budget = _Budget()
    target = _HTMLText(budget)
    # Nothing is fetched, and libxml2's HTML parser expands no entity a page declares.
    parser = etree.HTMLParser(target=target, no_network=True)
    try:
        parser.feed(_text_body(data, MAX_HTML_BYTES).text)
        text = parser.close()  # the parser holds back the end of its input until closed
    except _Enough:
        text = target.close()
    return _finish(name, kind, text, [], rest=budget.rest)


# RTF, in one pass over its tokens. A third-party reader (striprtf) ran regular expressions
# that took over a minute on 60 KB of nested fields; this tokenizer's pattern has no nested
# repetition, so it is linear.
_RTF_TOKEN = re.compile(
    r"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # control word, its parameter and delimiting space
    r"|\\'([0-9a-fA-F]{2})"  # a byte in the document's code page
    r"|\\(.)"  # control symbol
    r"|([{}])"
    r"|[\r\n]+"  # line breaks in the source are not text
    r"|([^\\{}\r\n]+)"  # text
    r"|\\",  # a backslash ending the file
    re.DOTALL,
)
# Groups whose content is not text. A `\*` group is skipped too, whatever it holds.
_RTF_SKIPPED = frozenset(
    {
        "annotation", "atnauthor", "atndate", "atnid", "atnref", "author", "bkmkend",
        "bkmkstart", "blipuid", "category", "colorschememapping", "colortbl", "comment",
        "company", "creatim", "datafield", "datastore", "defchp", "defpap", "do", "doccomm",
        "docvar", "factoidname", "falt", "fchars", "ffdeftext", "ffentrymcr", "ffexitmcr",
        "ffformat", "ffhelptext", "ffl", "ffname", "ffstattext", "file", "filetbl", "fldinst",
        "fldtype", "fname", "fontemb", "fontfile", "fonttbl", "footer", "footerf", "footerl",
        "footerr", "footnote", "formfield", "generator", "header", "headerf", "headerl",
        "headerr", "info", "keywords", "latentstyles", "levelnumbers", "leveltext", "list",
        "listoverridetable", "listpicture", "listtable", "manager", "nesttableprops",
        "nonesttables", "objclass", "objdata", "object", "objname", "operator", "panose",
        "password", "passwordhash", "pgptbl", "picprop", "pict", "pn", "pntext", "pntxta",
        "pntxtb", "printim", "private", "propname", "revtbl", "revtim", "rsidtbl", "shp",
        "shpinst", "stylesheet", "subject", "template", "themedata", "title", "userprops",
        "xmlnstbl",
    }
)  # fmt: skip
_RTF_TEXT = {
    "par": "\n", "line": "\n", "sect": "\n\n", "page": "\n\n", "row": "\n", "cell": " | ",
    "nestcell": " | ", "tab": "\t", "emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022",
    "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d",
    "emspace": "\u2003", "enspace": "\u2002", "qmspace": "\u2005",
}  # fmt: skip
_RTF_SYMBOLS = {
    "\\": "\\", "{": "{", "}": "}", "~": "\xa0", "_": "\u2011", "\n": "\n", "\r": "\n",
}  # fmt: skip
# \fcharsetN -> code page of that font's \'hh bytes.
_RTF_CHARSETS = {
    77: "mac_roman", 128: "cp932", 129: "cp949", 134: "gbk", 136: "cp950", 161: "cp1253",
    162: "cp1254", 163: "cp1258", 177: "cp1255", 178: "cp1256", 186: "cp1257", 204: "cp1251",
    222: "cp874", 238: "cp1250", 254: "cp437", 255: "cp850",
}  # fmt: skip
_RTF_HYPERLINK = re.compile(r'HYPERLINK\s+"([^"]{1,2000})"')
_RTF_INSTRUCTION_CHARS = 2100  # of a field's instruction: enough for a HYPERLINK


@dataclass(frozen=True)
class _RtfGroup:
    skip: bool = False  # the group's content is not text
    uc: int = 1  # characters of fallback that follow each \uN
    font: int | None = None


class _RtfReader:
    """The text of an RTF document, token by token, within the budget."""

    def __init__(self, raw: str, text_codec: str, budget: _Budget) -> None:
        self._out: list[str] = []
        self._raw = raw
        self._text_codec = text_codec  # for bytes written unescaped in the file
        self._budget = budget
        self._codepage = "cp1252"
        self._fonts: dict[int, str] = {}
        self._font_defined: int | None = None
        self._group = _RtfGroup()
        self._stack: list[_RtfGroup] = []
        self._hex = bytearray()  # consecutive \'hh bytes: one multi-byte character may span them
        self._fallback = 0  # fallback characters still to skip after a \uN
        self._fields: list[tuple[int, list[str]]] = []  # open \field groups: depth, links
        self._instruction: _Collected | None = None  # start of the \fldinst being read
        self._instruction_depth = 0

    def read(self) -> str:
        with contextlib.suppress(_Enough):
            self._read()
        text = "".join(self._out)
        if any("\ud800" <= ch <= "\udfff" for ch in text):  # \uN pairs of UTF-16 halves
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return text

    def _read(self) -> None:
        pos = 0
        end = len(self._raw)
        while pos < end:
            match = _RTF_TOKEN.match(self._raw, pos)
            assert match is not None  # the pattern matches at any character
            pos = match.end()
            word, arg, hexbyte, symbol, brace, text = match.groups()
            if hexbyte is None:
                self._flush_hex()
            if word is not None:
                pos = self._control(word, arg, pos)
            elif hexbyte is not None:
                self._hexbyte(hexbyte)
            elif symbol is not None:
                self._symbol(symbol)
            elif brace is not None:
                self._brace(brace)
            elif text is not None:
                self._text(text)
        self._flush_hex()

    def _emit(self, text: str) -> None:
        if self._instruction is not None:
            self._instruction.add(text)
        elif not self._group.skip:
            _keep(self._out, text, self._budget)

    def _control(self, word: str, arg: str | None, pos: int) -> int:
        """Handles one control word; returns where reading goes on (after \\bin data)."""
        self._budget.element()
        self._fallback = 0
        number = int(arg) if arg is not None else None
        if word == "bin":  # raw bytes follow, which are not tokens
            return pos + max(0, number or 0)
        if word in _RTF_SKIPPED:
            self._group = _RtfGroup(True, self._group.uc, self._group.font)
            if word == "fldinst" and self._fields:
                self._instruction = _Collected(_RTF_INSTRUCTION_CHARS)
                self._instruction_depth = len(self._stack)
        elif word == "field":
            self._fields.append((len(self._stack), []))
        elif word == "ansicpg" and number is not None:
            with contextlib.suppress(LookupError):
                self._codepage = codecs.lookup(f"cp{number}").name
        elif word == "f" and number is not None:
            self._font_defined = number
            self._group = _RtfGroup(self._group.skip, self._group.uc, number)
        elif word == "fcharset" and number in _RTF_CHARSETS and self._font_defined is not None:
            self._fonts[self._font_defined] = _RTF_CHARSETS[number]
        elif word == "uc" and number is not None:
            self._group = _RtfGroup(self._group.skip, max(0, number), self._group.font)
        elif word == "u" and number is not None:
            self._emit(chr(number % 0x10000))
            self._fallback = self._group.uc
        elif word in _RTF_TEXT:
            self._emit(_RTF_TEXT[word])
        return pos

    def _symbol(self, symbol: str) -> None:
        self._budget.element()
        self._fallback = 0
        if symbol == "*":
            self._group = _RtfGroup(True, self._group.uc, self._group.font)
        elif symbol in _RTF_SYMBOLS:
            self._emit(_RTF_SYMBOLS[symbol])

    def _brace(self, brace: str) -> None:
        self._budget.element()
        self._fallback = 0
        if brace == "{":
            self._stack.append(self._group)
            return
        if self._stack:
            self._group = self._stack.pop()
        depth = len(self._stack)
        if self._instruction is not None and depth < self._instruction_depth:
            found = _RTF_HYPERLINK.search(self._instruction.text())
            if found is not None:
                self._fields[-1][1].append(found.group(1))
            self._instruction = None
        if self._fields and depth < self._fields[-1][0]:
            _, links = self._fields.pop()
            for link in links:
                self._emit(f" ({link})")

    def _hexbyte(self, hexbyte: str) -> None:
        self._budget.element()
        if self._fallback > 0:
            self._fallback -= 1
        else:
            self._hex.append(int(hexbyte, 16))

    def _flush_hex(self) -> None:
        if self._hex:
            font = self._group.font
            codec = self._codepage if font is None else self._fonts.get(font, self._codepage)
            self._emit(bytes(self._hex).decode(codec, errors="replace"))
            self._hex.clear()

    def _text(self, text: str) -> None:
        if self._fallback > 0:
            skipped = min(self._fallback, len(text))
            self._fallback -= skipped
            text = text[skipped:]
        if text:
            self._emit(text.encode("latin-1").decode(self._text_codec, errors="replace"))


def _extract_rtf(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    if not data.lstrip().startswith(b"{\\rtf"):
        if not data.strip():
            raise DocumentUnreadable("it is empty")
        raise DocumentUnreadable("it looks damaged")
    if len(data) > MAX_RTF_BYTES:
        raise DocumentUnreadable(f"it is larger than {MAX_RTF_BYTES // 2**20} MB for an RTF file")
    try:
        data.decode("utf-8")
        text_codec = "utf-8"
    except UnicodeDecodeError:
        text_codec = "cp1252"
    budget = _Budget()
    # Latin-1 maps each byte to one character, so tokens are found on the bytes as written.
    text = _RtfReader(data.decode("latin-1"), text_codec, budget).read()
    return _finish(name, kind, text, [], rest=budget.rest)


def _extract_csv(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    body = _text_body(data)
    text = body.text
    default = "\t" if _extension(name) == "tsv" or "tab-separated" in name.lower() else ","
    sample = text[:4096]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = default
    cuts: list[str] = []
    table = _Table("the table", _Budget())
    try:
        # Rows past the caps are still counted, not kept: the decoded text is bounded.
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            table.add(row)
    except csv.Error:  # e.g. a field longer than the csv module's limit: keep it as written
        cuts = []
        return _finish(name, kind, _fenced("csv", text, cuts, body.rest), cuts)
    if not table.seen:
        raise DocumentUnreadable("it is empty")
    if body.rest is None:
        markdown = table.finish(cuts, counted=True)
    else:  # only the start was decoded: the rows counted there, scaled to the whole file
        table.full = True
        markdown = table.finish(cuts, about=round(table.seen * body.scale))
    return _finish(name, kind, markdown, cuts)


# --- zip-based Office files --------------------------------------------------------------
#
# Word and Excel files are read straight from their XML with lxml parser targets: nothing
# is built but the text kept, and reading stops at the caps. python-docx and openpyxl are
# not used to read them: python-docx parses the whole body into a tree (a 71 KB file of
# empty paragraphs took 900 MB) and expands a cell's declared span (`row.cells`); openpyxl's
# read-only rows fill gaps in row numbers with empty rows; and both unpack parts with
# `ZipFile.read`, which inflates up to 2 GiB in one call before cutting to the declared size.

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_READ_CHUNK = 64 * 1024
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _open_office_zip(data: bytes, legacy: str) -> zipfile.ZipFile:
    """The zip of a Word or Excel file, refused before anything is unpacked when it is not a
    sound one: an encrypted Office file (an OLE compound file holding an EncryptedPackage), a
    legacy binary file (`legacy` names it), a damaged zip, one with too many entries, or one
    that declares more than `MAX_UNPACKED_BYTES` unpacked."""
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise DocumentUnreadable("it is password-protected")
        raise _unsupported(legacy)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise DocumentUnreadable("it looks damaged") from exc
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise DocumentUnreadable("it holds too many files")
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES or any(
        info.file_size > MAX_UNPACKED_PART_BYTES for info in infos
    ):
        raise DocumentUnreadable("it unpacks to too much data")
    # Office writes only these two; zipfile inflates bzip2 and LZMA without an output bound.
    if any(info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for info in infos):
        raise DocumentUnreadable("it looks damaged")
    return archive


class _Part:
    """Base of the lxml parser targets that read Office XML parts. Office XML has no DTD, and
    one is refused: libxml2 expands a DTD's internal entities for a target even with
    `resolve_entities=False`."""

    def doctype(self, name: str, public_id: str | None, system_url: str | None) -> None:
        raise DocumentUnreadable("it looks damaged")

    def close(self) -> None:
        return None


def _parse_part(archive: zipfile.ZipFile, name: str, target: _Part) -> bool:
    """Feeds one XML part to `target` a chunk at a time; False if the target stopped reading
    (`_Enough`) before the end. zipfile inflates no more than each read asks for, and never
    past the size the entry declares (then checks its CRC), so a header that understates a
    part's size cannot make this unpack more than it says."""
    parser = etree.XMLParser(
        target=target, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        with archive.open(name) as part:
            while chunk := part.read(_READ_CHUNK):
                parser.feed(chunk)
        parser.close()
    except _Enough:
        return False
    return True


class _Relationships(_Part):
    def __init__(self) -> None:
        self.found: dict[str, tuple[str, str]] = {}  # id -> (type, target)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _RELATIONSHIP and attrib.get("TargetMode") != "External":
            self.found[attrib.get("Id", "")] = (attrib.get("Type", ""), attrib.get("Target", ""))


def _relationships(archive: zipfile.ZipFile, source: str) -> dict[str, tuple[str, str]]:
    """The relationships of part `source` ("" for the package): id -> (type, part name)."""
    folder, base = posixpath.split(source)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in archive.NameToInfo:
        return {}
    target = _Relationships()
    _parse_part(archive, rels, target)
    return {rid: (kind, _part_name(folder, path)) for rid, (kind, path) in target.found.items()}


def _part_name(folder: str, target: str) -> str:
    """The zip entry a relationship's target names, from the folder of its source part."""
    path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
    return posixpath.normpath(path)


def _related(relationships: dict[str, tuple[str, str]], kind: str) -> str | None:
    """The first part of a relationship type (named by its last path segment)."""
    return next((path for rel, path in relationships.values() if rel.endswith("/" + kind)), None)


def _main_part(archive: zipfile.ZipFile) -> str:
    main = _related(_relationships(archive, ""), "officeDocument")
    if main is None:
        raise DocumentUnreadable("it looks damaged")
    return main


def _decimal(value: str | None, default: int) -> int:
    """A non-negative decimal attribute, `default` if it is not one; huge ones are capped."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit():
        return default
    return int(value) if len(value) <= 9 else 10**9


# --- Word ----------------------------------------------------------------------------------


def _extract_docx(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    budget = _Budget()
    cuts: list[str] = []
    with _open_office_zip(data, "Word 97 (.doc) files are not supported") as archive:
        main = _main_part(archive)
        body = _DocxBody(_docx_styles(archive, main), budget, cuts)
        _parse_part(archive, main, body)
    return _finish(name, kind, "\n\n".join(body.blocks), cuts, rest=budget.rest)


class _DocxStyles(_Part):
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
    part = _related(_relationships(archive, main), "styles")
    if part is None or part not in archive.NameToInfo:
        return {}
    styles = _DocxStyles()
    _parse_part(archive, part, styles)
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


class _DocxBody(_Part):
    """The Markdown blocks of a Word body as it is parsed: paragraphs, and tables whose rows
    go through `_Table`. A cell spanning columns is shown once, its span clamped to the
    columns still kept; text boxes (paragraphs inside a paragraph) are left out."""

    def __init__(self, styles: dict[str, str], budget: _Budget, cuts: list[str]) -> None:
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
        self._table: _Table | None = None
        self._row: list[str] = []
        self._text = _Collected(0)  # where text goes: the paragraph or the cell being read
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
            self._text = _Collected(max(0, self._budget.left) + 1)
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
            self._table = _Table(f"table {self._count}", self._budget)

    def _table_content(self, local: str, attrib: dict[str, str]) -> None:
        if local == "tr":
            self._row = []
        elif local == "tc":
            self._text = _Collected(MAX_CELL_CHARS + 1)
            self._span = 1
            self._merged = False
        elif local == "gridSpan":
            self._span = max(1, _decimal(attrib.get(_W + "val"), 1))
        elif local == "vMerge":  # a cell continuing the one above: its text is shown there
            self._merged = attrib.get(_W + "val", "continue") == "continue"

    def _end_cell(self) -> None:
        text = "" if self._merged else self._text.text()
        # One column past the cap is kept: it tells `_Table` that the table is wider.
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
            raise _Enough

    def _stop_if_spent(self) -> None:
        if self._budget.spent:
            self._budget.unread = True
            raise _Enough


# --- Excel ---------------------------------------------------------------------------------


def _extract_excel(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise DocumentUnreadable("it is password-protected")
        return _extract_xls(name, kind, data)
    if _extension(name) == "xls" and not data.startswith(b"PK"):
        return _extract_xls(name, kind, data)  # let xlrd say what is wrong with it
    return _extract_xlsx(name, kind, data)


def _sheet_heading(title: str, budget: _Budget) -> str | None:
    """A sheet's heading, spent from the budget before its rows are read; None when the
    budget has no room left for the sheet (its heading and a row or so)."""
    heading = f"## Sheet: {title}\n\n"
    if not budget.fits(len(heading) + 2 + MIN_SHEET_CHARS):
        return None
    budget.spend(len(heading) + 2)  # with the blank line before the next sheet
    return heading


def _sheet_block(heading: str, table: _Table, markdown: str) -> str:
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
    budget = _Budget()
    cuts: list[str] = []
    blocks: list[str] = []
    any_rows = False
    with _open_office_zip(data, "binary Excel files are not supported") as archive:
        book = _workbook(archive)
        for title, part in book.sheets[:MAX_SHEETS]:
            heading = None if budget.elements_left <= 0 else _sheet_heading(title, budget)
            if heading is None:
                break
            table = _Table(f"sheet '{title}'", budget)
            markdown = _read_sheet(archive, part, book, table, budget, cuts)
            any_rows = any_rows or table.seen > 0
            blocks.append(_sheet_block(heading, table, markdown))
    _sheets_note(len(blocks), len(book.sheets), cuts)
    if not any_rows:
        raise DocumentUnreadable("it is too large to read" if budget.unread else "it is empty")
    return _finish(name, kind, "\n\n".join(blocks), cuts)


class _WorkbookPart(_Part):
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

    main = _main_part(archive)
    part = _WorkbookPart()
    _parse_part(archive, main, part)
    related = _relationships(archive, main)
    sheets = [
        (title, related[rid][1])
        for title, rid in part.sheets
        if rid in related and related[rid][0].endswith("/worksheet")
    ]
    strings = _SharedStrings()
    shared = _related(related, "sharedStrings")
    if shared is not None and shared in archive.NameToInfo:
        _parse_part(archive, shared, strings)
    styles = _CellStyles()
    styles_part = _related(related, "styles")
    if styles_part is not None and styles_part in archive.NameToInfo:
        _parse_part(archive, styles_part, styles)
    dates, durations = styles.date_styles()
    epoch = CALENDAR_MAC_1904 if part.date1904 else WINDOWS_EPOCH
    return _Workbook(sheets, strings.strings, dates, durations, epoch)


class _SharedStrings(_Part):
    """The shared strings, each cut to what a cell keeps (phonetic guides left out)."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._text = _Collected(0)
        self._in_text = False
        self._phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _S + "si":
            self._text = _Collected(MAX_CELL_CHARS + 1)
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


class _CellStyles(_Part):
    """The number format of each cell style: enough to tell dates from numbers."""

    def __init__(self) -> None:
        self.codes: dict[int, str] = {}  # custom number formats
        self.formats: list[int] = []  # number format id by cell style
        self._in_cell_styles = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _S + "numFmt":
            self.codes[_decimal(attrib.get("numFmtId"), -1)] = attrib.get("formatCode", "")
        elif tag == _S + "cellXfs":
            self._in_cell_styles = True
        elif tag == _S + "xf" and self._in_cell_styles:
            self.formats.append(_decimal(attrib.get("numFmtId"), 0))

    def end(self, tag: str) -> None:
        if tag == _S + "cellXfs":
            raise _Enough  # the rest of the styles do not matter here

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
    table: _Table,
    budget: _Budget,
    cuts: list[str],
) -> str:
    """One worksheet's table in Markdown, noting what was left out."""
    rows = _SheetRows(book, table, budget, archive.getinfo(part).file_size)
    if not _parse_part(archive, part, rows) and not rows.done:
        table.full = True  # stopped by the element budget: the rest was not read
    return table.finish(cuts, about=rows.declared)


class _SheetRows(_Part):
    """A worksheet's rows offered to a `_Table` as they are parsed: only rows that are there,
    so a gap in row numbers costs nothing; only the first columns, so a huge column reference
    costs nothing either; and no further than the table keeps rows."""

    def __init__(self, book: _Workbook, table: _Table, budget: _Budget, size: int) -> None:
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
        self._value = _Collected(0)
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
            self._style = _decimal(style, 0) if style else 0
            self._has_value = False
        elif local == "v" or (local == "t" and self._inline and not self._phonetic):
            if not self._has_value:
                self._value = _Collected(MAX_CELL_CHARS + 1)
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
                raise _Enough
        elif local == "sheetData":
            self.done = True
            raise _Enough  # what follows the cells (merged ranges, formatting) is not needed

    def data(self, text: str) -> None:
        if self._in_value:
            self._value.add(text)

    def _end_cell(self) -> None:
        if not self._has_value:
            return
        value = self._cell_value(self._value.text())
        if self._column <= MAX_TABLE_COLUMNS:
            self._row[self._column] = value
        elif not _is_blank(value):  # past the kept columns: only whether there is anything
            self._row[MAX_TABLE_COLUMNS + 1] = value

    def _cell_value(self, text: str) -> object:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        kind = self._type
        if kind == "s":
            index = _decimal(text, -1)
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
    budget = _Budget()
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
            table = _Table(f"sheet '{sheet.name}'", budget)
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
    return _finish(name, kind, "\n\n".join(blocks), cuts)


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


# --- PDF ---------------------------------------------------------------------------------


def _extract_pdf(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise DocumentUnreadable("it is password-protected") from exc
        if code == pdfium_c.FPDF_ERR_SUCCESS:  # it opened, but has no pages
            raise DocumentUnreadable("it is empty") from exc
        raise DocumentUnreadable("it looks damaged") from exc
    budget = _Budget()
    try:
        total = len(pdf)
        if total < 1:
            raise DocumentUnreadable("it is empty")
        parts: list[str] = []
        images: list[bytes] = []
        scanned = 0
        has_text = False
        for index in range(min(total, MAX_PDF_PAGES)):
            if budget.spent:  # pages past the cut are not even loaded
                break
            text, text_layer, has_objects, image = _pdf_page(
                pdf, index, len(images) < MAX_SCANNED_PAGES, budget
            )
            number = index + 1
            if text_layer:
                has_text = True
                part = f"--- page {number} ---\n{text}"
            elif not has_objects:
                part = f"--- page {number}: blank ---"
            else:
                scanned += 1
                if image is not None:
                    images.append(image)
                    note = "scanned, sent as an image"
                else:
                    note = "scanned, not sent as an image"
                # What little text a scanned page has (a stamp, a page number) is kept.
                part = f"--- page {number}: {note} ---" + (f"\n{text}" if text else "")
            parts.append(part)
            budget.spend(len(part) + 2)
        cuts: list[str] = []
        if len(parts) < total:
            cuts.append(f"read pages 1-{len(parts)} of {total}")
        if scanned > len(images):
            cuts.append(f"only {len(images)} of {scanned} scanned pages sent as images")
    finally:
        pdf.close()
    if not has_text and not images:
        raise DocumentUnreadable("it is empty")
    return _finish(name, kind, "\n\n".join(parts), cuts, images, rest=budget.rest)


def _has_text_layer(text: str) -> bool:
    return sum(1 for ch in text if not ch.isspace()) >= SCANNED_PAGE_MIN_CHARS


def _pdf_page(
    pdf: object, index: int, may_render: bool, budget: _Budget
) -> tuple[str, bool, bool, bytes | None]:
    """One page's text, whether that is a text layer, whether the page draws anything, and
    its PNG rendering if it is scanned. Reads no more text than the budget has left."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    assert isinstance(pdf, pdfium.PdfDocument)
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            count = textpage.count_chars()
            text = textpage.get_text_range(0, min(count, budget.left)) if count > 0 else ""
        finally:
            textpage.close()
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
        if count > budget.left:  # more text than is kept: a text layer, cut
            budget.unread = True
            return text, True, True, None
        if _has_text_layer(text):
            return text, True, True, None
        has_objects = bool(pdfium_c.FPDFPage_CountObjects(page.raw) > 0)
        if not has_objects or not may_render:
            return text, False, has_objects, None
        return text, False, True, _render_page(page)
    finally:
        page.close()


def _render_page(page: object) -> bytes | None:
    """The page as a PNG whose longest side is at most `MAX_IMAGE_SIDE`, or None."""
    import pypdfium2 as pdfium

    assert isinstance(page, pdfium.PdfPage)
    width, height = page.get_size()
    longest = max(width, height)
    if not (longest > 0 and min(width, height) > 0) or longest == float("inf"):
        return None
    scale = min(MAX_IMAGE_SIDE / longest, 4.0) * 0.999
    if min(width, height) * scale < 1:  # a sliver of a page: not even one pixel across
        return None
    bitmap = page.render(scale=scale, may_draw_forms=False)
    try:
        image = bitmap.to_pil()
        image = image.convert("RGB")
    finally:
        bitmap.close()
    if max(image.size) > MAX_IMAGE_SIDE:
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


_EXTRACTORS: dict[str, Callable[[str, str, str, bytes], ExtractedDocument]] = {
    "PDF": _extract_pdf,
    "Word": _extract_docx,
    "Excel": _extract_excel,
    "CSV": _extract_csv,
    "text": _extract_plain,
    "Markdown": _extract_plain,
    "log": _extract_plain,
    "code": _extract_code,
    "JSON": _extract_json,
    "YAML": _extract_yaml,
    "XML": _extract_xml,
    "HTML": _extract_html,
    "RTF": _extract_rtf,
}
