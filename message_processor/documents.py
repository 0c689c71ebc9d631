"""Reading the documents people attach: PDFs, Office files, tables and text, as text a model reads.

Everything here is synchronous CPU work (the bot runs it in a worker thread) and must not
hang or crash on hostile input. Every failure becomes one of two exceptions whose message
is a short reason fit for a user: `UnsupportedDocument` (a kind of file we do not read) or
`DocumentUnreadable` (damaged, password-protected, empty, too big).

Bounds: the input size, the pages read from a PDF, the pages rendered to images, the rows
and sheets of a table, the size a zip (docx, xlsx) unpacks to, and the text kept. Whatever
is left out is reported in `ExtractedDocument.cuts`.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

MAX_DOCUMENT_BYTES = 50 * 2**20
MAX_DOCUMENT_CHARS = (
    150_000  # text kept per document; beyond it the text is cut and the cut is reported
)
MAX_PDF_PAGES = 200  # pages whose text is read
MAX_SCANNED_PAGES = 3  # pages rendered to images when a PDF has no text layer
MAX_SHEET_ROWS = 500  # rows per sheet rendered
MAX_SHEETS = 10
MAX_TABLE_COLUMNS = 50  # columns per sheet / CSV rendered
MAX_CELL_CHARS = 2_000  # characters kept per table cell
# What a docx/xlsx zip may declare unpacked, in all and per part: its XML is parsed into
# memory at many times its size, so a small file could otherwise take gigabytes.
MAX_UNPACKED_BYTES = 100 * 2**20
MAX_UNPACKED_PART_BYTES = 25 * 2**20
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


def _cut_text(text: str, limit: int, cuts: list[str]) -> str:
    """`text` within `limit` characters (cut at a line end when one is near), noting a cut."""
    if len(text) <= limit:
        return text
    kept = text[:limit]
    newline = kept.rfind("\n", max(0, limit - 2_000))
    if newline > 0:
        kept = kept[:newline]
    cuts.append(f"first {len(kept):,} characters of {len(text):,}")
    return kept


def _fence(language: str, content: str) -> tuple[str, str]:
    """Opening and closing fence lines, longer than any run of backticks in `content`."""
    longest = max((len(m) for m in re.findall(r"`{3,}", content)), default=2)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n", f"\n{ticks}"


def _fenced(language: str, content: str, cuts: list[str]) -> str:
    """`content` in a fenced block, cut so the whole block fits `MAX_DOCUMENT_CHARS`."""
    content = content.strip("\n")
    opening, closing = _fence(language, content)
    content = _cut_text(content, MAX_DOCUMENT_CHARS - len(opening) - len(closing), cuts)
    return opening + content + closing


def _finish(
    name: str, kind: str, text: str, cuts: list[str], images: list[bytes] | None = None
) -> ExtractedDocument:
    text = _cut_text(text.strip("\n"), MAX_DOCUMENT_CHARS, cuts)
    if not text.strip() and not images:
        raise DocumentUnreadable("it is empty")
    return ExtractedDocument(name=name, kind=kind, text=text, cuts=cuts, page_images=images or [])


def _md_cell(value: str) -> str:
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>").strip()


def _markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with the first row as the header; short rows are padded."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    lines = []
    for i, row in enumerate(rows):
        cells = [_md_cell(cell) for cell in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
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


def _read_table(
    rows: Iterable[Sequence[object]], label: str, cuts: list[str], declared_rows: int | None
) -> list[list[str]]:
    """Up to `MAX_SHEET_ROWS` non-empty rows (and `MAX_TABLE_COLUMNS` columns), noting cuts.

    Rows past the cap are counted, not read, when `declared_rows` is unknown (CSV); when it is
    known (a sheet's declared size) reading stops at the cap."""
    kept: list[list[str]] = []
    total = 0
    wide = False
    for row in rows:
        if len(row) > MAX_TABLE_COLUMNS:
            wide = wide or any(cell not in (None, "") for cell in row[MAX_TABLE_COLUMNS:])
            row = row[:MAX_TABLE_COLUMNS]
        if not any(cell is not None and str(cell).strip() for cell in row):
            continue
        total += 1
        if total <= MAX_SHEET_ROWS:
            kept.append([_cell_text(cell) for cell in row])
        elif declared_rows is not None:
            break
    if total > MAX_SHEET_ROWS:
        if declared_rows is None:
            cuts.append(f"{label} first {MAX_SHEET_ROWS:,} of {total:,} rows")
        elif declared_rows > MAX_SHEET_ROWS:
            cuts.append(f"{label} first {MAX_SHEET_ROWS:,} of about {declared_rows:,} rows")
        else:
            cuts.append(f"{label} first {MAX_SHEET_ROWS:,} rows (the rest was not read)")
    if wide:
        cuts.append(f"{label} first {MAX_TABLE_COLUMNS} columns only")
    return _trim_table(kept)


# --- text-like files ---------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")


def _decode_text(data: bytes) -> str:
    """`data` as text, or DocumentUnreadable if it is binary rather than text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding.removesuffix("-sig"), errors="replace")
            break
    else:
        if b"\x00" in data:
            raise DocumentUnreadable("it does not look like text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_guessed(data)
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


def _decode_guessed(data: bytes) -> str:
    import charset_normalizer

    try:
        best = charset_normalizer.from_bytes(data).best()
    except (ValueError, LookupError, TypeError, RuntimeError):  # detector failed: use UTF-8
        best = None
    if best is None:
        return data.decode("utf-8", errors="replace")
    return str(best)


def _text_body(data: bytes) -> str:
    text = _decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentUnreadable("it is empty")
    return text


def _extract_plain(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    return _finish(name, kind, _text_body(data), [])


def _extract_code(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    cuts: list[str] = []
    return _finish(name, kind, _fenced(language, _text_body(data), cuts), cuts)


def _extract_json(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    text = _text_body(data)
    cuts: list[str] = []
    if _extension(name) not in ("jsonl", "ndjson") and len(text) <= MAX_DOCUMENT_CHARS * 4:
        # Not valid JSON (or nested too deep): kept as written.
        with contextlib.suppress(ValueError, RecursionError):
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return _finish(name, kind, _fenced("json", text, cuts), cuts)


def _extract_yaml(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    cuts: list[str] = []
    return _finish(name, kind, _fenced("yaml", _text_body(data), cuts), cuts)


def _extract_xml(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    # Kept as written: never parsed, so no entity expansion and nothing fetched.
    cuts: list[str] = []
    return _finish(name, kind, _fenced("xml", _text_body(data), cuts), cuts)


class _HTMLText(HTMLParser):
    """Readable text of an HTML page: no scripts, styles or markup."""

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

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping.append(tag)
        elif self._skipping:
            return
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
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

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            if tag in self._skipping:
                while self._skipping and self._skipping.pop() != tag:
                    pass
            return
        if self._skipping:
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in self._BLOCK or tag in ("h1", "h2", "h3", "h4", "h5", "h6", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        text = "".join(self.parts)
        text = re.sub(r"[ \t]+\n", "\n", text)
        text = re.sub(r"\n[ \t]+(?=\S)", "\n", text)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def _extract_html(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    parser = _HTMLText()
    parser.feed(_text_body(data))
    parser.close()
    return _finish(name, kind, parser.text(), [])


def _extract_rtf(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        if not data.strip():
            raise DocumentUnreadable("it is empty")
        raise DocumentUnreadable("it looks damaged")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError:
        raw = data.decode("cp1252", errors="replace")
    text = rtf_to_text(raw, errors="replace")  # type: ignore[no-untyped-call]
    return _finish(name, kind, text.replace("\r\n", "\n").replace("\r", "\n"), [])


def _extract_csv(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    text = _text_body(data)
    default = "\t" if _extension(name) == "tsv" or "tab-separated" in name.lower() else ","
    sample = text[:4096]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = default
    cuts: list[str] = []
    try:
        rows = _read_table(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), "the table", cuts, None
        )
    except csv.Error:  # e.g. a field longer than the csv module's limit: keep it as written
        cuts = []
        return _finish(name, kind, _fenced("csv", text, cuts), cuts)
    if not rows:
        raise DocumentUnreadable("it is empty")
    return _finish(name, kind, _markdown_table(rows), cuts)


# --- zip-based Office files --------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def _check_office_zip(data: bytes, legacy: str) -> None:
    """Refuses what is not a sound zip before a library unpacks it: an encrypted Office file
    (an OLE compound file holding an EncryptedPackage), a legacy binary file (`legacy` names
    it), a damaged zip, or one that declares more than `MAX_UNPACKED_BYTES` unpacked."""
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise DocumentUnreadable("it is password-protected")
        raise _unsupported(legacy)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise DocumentUnreadable("it looks damaged") from exc
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES or any(
        info.file_size > MAX_UNPACKED_PART_BYTES for info in infos
    ):
        raise DocumentUnreadable("it unpacks to too much data")


def _extract_docx(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    _check_office_zip(data, "Word 97 (.doc) files are not supported")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    cuts: list[str] = []
    size = 0
    for i, item in enumerate(document.iter_inner_content()):
        if isinstance(item, Paragraph):
            block = _docx_paragraph(item)
        elif isinstance(item, Table):
            block = _docx_table(item, f"table {i + 1}", cuts)
        else:  # pragma: no cover - iter_inner_content yields only these two
            continue
        if block:
            blocks.append(block)
            size += len(block) + 2
        if size > MAX_DOCUMENT_CHARS * 2:  # enough to fill the cap; the rest is cut anyway
            cuts.append("the rest of the document was not read")
            break
    return _finish(name, kind, "\n\n".join(blocks), cuts)


def _docx_paragraph(paragraph: object) -> str:
    from docx.text.paragraph import Paragraph

    assert isinstance(paragraph, Paragraph)
    text = paragraph.text.strip()
    if not text:
        return ""
    style = paragraph.style.name if paragraph.style is not None else ""
    style = (style or "").strip().lower()
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


def _docx_table(table: object, label: str, cuts: list[str]) -> str:
    from docx.table import Table

    assert isinstance(table, Table)
    rows = _read_table(
        ([cell.text for cell in row.cells] for row in table.rows), label, cuts, len(table.rows)
    )
    return _markdown_table(rows)


def _extract_excel(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise DocumentUnreadable("it is password-protected")
        return _extract_xls(name, kind, data)
    if _extension(name) == "xls" and not data.startswith(b"PK"):
        return _extract_xls(name, kind, data)  # let xlrd say what is wrong with it
    _check_office_zip(data, "binary Excel files are not supported")
    return _extract_xlsx(name, kind, data)


def _sheet_block(title: str, rows: list[list[str]]) -> str:
    return f"## Sheet: {title}\n\n" + (_markdown_table(rows) if rows else "(empty)")


def _sheets_note(count: int, cuts: list[str]) -> None:
    if count > MAX_SHEETS:
        cuts.append(f"only the first {MAX_SHEETS} of {count} sheets")


def _extract_xlsx(name: str, kind: str, data: bytes) -> ExtractedDocument:
    import openpyxl

    workbook = openpyxl.load_workbook(
        io.BytesIO(data), read_only=True, data_only=True, keep_links=False
    )
    try:
        sheets = list(workbook.worksheets)
        cuts: list[str] = []
        blocks = []
        any_rows = False
        for sheet in sheets[:MAX_SHEETS]:
            declared = sheet.max_row if isinstance(sheet.max_row, int) else 0
            rows = _read_table(
                sheet.iter_rows(values_only=True, max_col=MAX_TABLE_COLUMNS + 1),
                f"sheet '{sheet.title}'",
                cuts,
                declared,
            )
            any_rows = any_rows or bool(rows)
            blocks.append(_sheet_block(sheet.title, rows))
        _sheets_note(len(sheets), cuts)
    finally:
        workbook.close()
    if not any_rows:
        raise DocumentUnreadable("it is empty")
    return _finish(name, kind, "\n\n".join(blocks), cuts)


def _extract_xls(name: str, kind: str, data: bytes) -> ExtractedDocument:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise DocumentUnreadable("it is password-protected") from exc
        raise DocumentUnreadable("it looks damaged") from exc
    try:
        count = book.nsheets
        cuts: list[str] = []
        blocks = []
        any_rows = False
        for index in range(min(count, MAX_SHEETS)):
            sheet = book.sheet_by_index(index)
            cell_text = _xls_cell_reader(book)
            rows = _read_table(
                (
                    [cell_text(cell) for cell in sheet.row_slice(r, 0, MAX_TABLE_COLUMNS + 1)]
                    for r in range(sheet.nrows)
                ),
                f"sheet '{sheet.name}'",
                cuts,
                sheet.nrows,
            )
            any_rows = any_rows or bool(rows)
            blocks.append(_sheet_block(sheet.name, rows))
            book.unload_sheet(index)
        _sheets_note(count, cuts)
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
    try:
        total = len(pdf)
        if total < 1:
            raise DocumentUnreadable("it is empty")
        parts: list[str] = []
        images: list[bytes] = []
        scanned = 0
        has_text = False
        for index in range(min(total, MAX_PDF_PAGES)):
            text, has_objects, image = _pdf_page(pdf, index, len(images) < MAX_SCANNED_PAGES)
            number = index + 1
            if _has_text_layer(text):
                has_text = True
                parts.append(f"--- page {number} ---\n{text}")
            elif not has_objects:
                parts.append(f"--- page {number}: blank ---")
            else:
                scanned += 1
                if image is not None:
                    images.append(image)
                    note = "scanned, sent as an image"
                else:
                    note = "scanned, not sent as an image"
                parts.append(f"--- page {number}: {note} ---" + (f"\n{text}" if text else ""))
        cuts: list[str] = []
        if total > MAX_PDF_PAGES:
            cuts.append(f"read pages 1-{MAX_PDF_PAGES} of {total}")
        if scanned > len(images):
            cuts.append(f"only {len(images)} of {scanned} scanned pages sent as images")
    finally:
        pdf.close()
    if not has_text and not images:
        raise DocumentUnreadable("it is empty")
    return _finish(name, kind, "\n\n".join(parts), cuts, images)


def _has_text_layer(text: str) -> bool:
    return sum(1 for ch in text if not ch.isspace()) >= SCANNED_PAGE_MIN_CHARS


def _pdf_page(pdf: object, index: int, may_render: bool) -> tuple[str, bool, bytes | None]:
    """One page's text, whether it draws anything, and its PNG rendering if it is scanned."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    assert isinstance(pdf, pdfium.PdfDocument)
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
        finally:
            textpage.close()
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
        if _has_text_layer(text):
            return text, True, None
        has_objects = bool(pdfium_c.FPDFPage_CountObjects(page.raw) > 0)
        if not has_objects or not may_render:
            return text, has_objects, None
        return text, True, _render_page(page)
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
