"""Text-like files: decoding only a file's start (by its byte order mark, as UTF-8, or in a
guessed encoding) and refusing what is binary rather than text; then plain text, Markdown
and logs as written, source code, JSON, YAML and XML in fenced blocks, and CSV/TSV as a
Markdown table.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from dataclasses import dataclass

from untrusted.documents.common import (
    MAX_DOCUMENT_CHARS,
    Budget,
    DocumentUnreadable,
    ExtractedDocument,
    fenced,
    finish,
)
from untrusted.documents.kinds import extension
from untrusted.documents.tables import Table

# Bytes of a text file decoded: enough for `MAX_DOCUMENT_CHARS` in any encoding.
MAX_TEXT_BYTES = MAX_DOCUMENT_CHARS * 4

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


def text_body(data: bytes, limit: int | None = None) -> _Text:
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


def extract_plain(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    body = text_body(data)
    return finish(name, kind, body.text, [], rest=body.rest)


def extract_code(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    return _extract_fenced(language, name, kind, data)


def _extract_fenced(language: str, name: str, kind: str, data: bytes) -> ExtractedDocument:
    body = text_body(data)
    cuts: list[str] = []
    return finish(name, kind, fenced(language, body.text, cuts, body.rest), cuts)


def extract_json(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    body = text_body(data)
    text = body.text
    if body.rest is None and extension(name) not in ("jsonl", "ndjson"):
        text = _pretty_json(text) or text
    cuts: list[str] = []
    return finish(name, kind, fenced("json", text, cuts, body.rest), cuts)


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


def extract_yaml(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    return _extract_fenced("yaml", name, kind, data)


def extract_xml(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    # Kept as written: never parsed, so no entity expansion and nothing fetched.
    return _extract_fenced("xml", name, kind, data)


def extract_csv(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    body = text_body(data)
    text = body.text
    default = "\t" if extension(name) == "tsv" or "tab-separated" in name.lower() else ","
    sample = text[:4096]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = default
    cuts: list[str] = []
    table = Table("the table", Budget())
    try:
        # Rows past the caps are still counted, not kept: the decoded text is bounded.
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            table.add(row)
    except csv.Error:  # e.g. a field longer than the csv module's limit: keep it as written
        cuts = []
        return finish(name, kind, fenced("csv", text, cuts, body.rest), cuts)
    if not table.seen:
        raise DocumentUnreadable("it is empty")
    if body.rest is None:
        markdown = table.finish(cuts, counted=True)
    else:  # only the start was decoded: the rows counted there, scaled to the whole file
        table.full = True
        markdown = table.finish(cuts, about=round(table.seen * body.scale))
    return finish(name, kind, markdown, cuts)
