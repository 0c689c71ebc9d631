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

This module is the package's public API: `extract_document` decides a file's kind (see
`kinds`) and hands it to the reader registered for that kind in `_EXTRACTORS`. Each reader
is a module of its own, applying the caps it defines; the caps are re-exported here to be
read, and are changed (in tests) in the module that reads them.
"""

from __future__ import annotations

from collections.abc import Callable

from untrusted.documents.common import (
    MAX_DOCUMENT_CHARS,
    MAX_MARKUP_ELEMENTS,
    DocumentUnreadable,
    ExtractedDocument,
    UnsupportedDocument,
    unsupported,
)
from untrusted.documents.excel import MAX_SHEETS, MIN_ROW_XML_BYTES, MIN_SHEET_CHARS, extract_excel
from untrusted.documents.html import MAX_HTML_BYTES, extract_html
from untrusted.documents.kinds import (
    REFUSED_EXTENSIONS,
    REFUSED_MIMETYPES,
    SUPPORTED_KINDS_TEXT,
    bare_mimetype,
    extension,
    is_document,
    is_pdf,
    kind_and_language,
)
from untrusted.documents.office import MAX_UNPACKED_BYTES, MAX_UNPACKED_PART_BYTES, MAX_ZIP_ENTRIES
from untrusted.documents.pdf import (
    MAX_IMAGE_SIDE,
    MAX_PDF_PAGES,
    MAX_SCANNED_PAGES,
    SCANNED_PAGE_MIN_CHARS,
    extract_pdf,
)
from untrusted.documents.rtf import MAX_RTF_BYTES, extract_rtf
from untrusted.documents.tables import MAX_CELL_CHARS, MAX_SHEET_ROWS, MAX_TABLE_COLUMNS
from untrusted.documents.text import (
    MAX_TEXT_BYTES,
    extract_code,
    extract_csv,
    extract_json,
    extract_plain,
    extract_xml,
    extract_yaml,
)
from untrusted.documents.word import extract_docx

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_DOCUMENT_BYTES",
    "MAX_DOCUMENT_CHARS",
    "MAX_HTML_BYTES",
    "MAX_IMAGE_SIDE",
    "MAX_MARKUP_ELEMENTS",
    "MAX_PDF_PAGES",
    "MAX_RTF_BYTES",
    "MAX_SCANNED_PAGES",
    "MAX_SHEETS",
    "MAX_SHEET_ROWS",
    "MAX_TABLE_COLUMNS",
    "MAX_TEXT_BYTES",
    "MAX_UNPACKED_BYTES",
    "MAX_UNPACKED_PART_BYTES",
    "MAX_ZIP_ENTRIES",
    "MIN_ROW_XML_BYTES",
    "MIN_SHEET_CHARS",
    "SCANNED_PAGE_MIN_CHARS",
    "SUPPORTED_KINDS_TEXT",
    "DocumentUnreadable",
    "ExtractedDocument",
    "UnsupportedDocument",
    "extract_document",
    "is_document",
    "is_pdf",
]

MAX_DOCUMENT_BYTES = 50 * 2**20


def extract_document(name: str, mimetype: str, data: bytes) -> ExtractedDocument:
    """The text of one attached document, or `UnsupportedDocument` / `DocumentUnreadable`."""
    found = kind_and_language(name, mimetype)
    if found is None:
        ext = extension(name)
        reason = REFUSED_EXTENSIONS.get(ext) or REFUSED_MIMETYPES.get(bare_mimetype(mimetype))
        if reason is None:
            shown = f".{ext} files" if ext else "this kind of file"
            reason = f"{shown} are not supported" if ext else f"{shown} is not supported"
        raise unsupported(reason)
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


_EXTRACTORS: dict[str, Callable[[str, str, str, bytes], ExtractedDocument]] = {
    "PDF": extract_pdf,
    "Word": extract_docx,
    "Excel": extract_excel,
    "CSV": extract_csv,
    "text": extract_plain,
    "Markdown": extract_plain,
    "log": extract_plain,
    "code": extract_code,
    "JSON": extract_json,
    "YAML": extract_yaml,
    "XML": extract_xml,
    "HTML": extract_html,
    "RTF": extract_rtf,
}
