"""Unit tests for untrusted.documents: every input is built here, in memory."""

from __future__ import annotations

import datetime
import io
import json
import struct
import zipfile
import zlib

import docx
import openpyxl
import pytest
from PIL import Image

from tests.hostile import (
    ZipEntry,
    document_xml,
    docx_of,
    docx_package,
    inline_cell,
    paragraph,
    xlsx_of,
    zip_entry,
    zip_of,
)
from tests.pdfs import pdf_file, pdf_stream
from untrusted import documents
from untrusted.documents import (
    SUPPORTED_KINDS_TEXT,
    DocumentUnreadable,
    ExtractedDocument,
    UnsupportedDocument,
    common,
    excel,
    extract_document,
    is_document,
    office,
    tables,
)
from untrusted.documents import html as html_reader
from untrusted.documents import pdf as pdf_reader
from untrusted.documents import rtf as rtf_reader
from untrusted.documents import text as text_reader


def _cap_document_chars(monkeypatch: pytest.MonkeyPatch, chars: int) -> None:
    """Sets the characters a document may keep, in each module that reads that cap."""
    monkeypatch.setattr(common, "MAX_DOCUMENT_CHARS", chars)
    monkeypatch.setattr(text_reader, "MAX_DOCUMENT_CHARS", chars)


# --- building inputs -----------------------------------------------------------------------


def _text_content(text: str) -> bytes:
    return b"BT /F1 10 Tf 10 50 Td (" + text.encode("latin-1") + b") Tj ET"


_IMAGE_CONTENT = b"q 300 0 0 400 0 0 cm /Im1 Do Q"


def _make_pdf(pages: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """Pages given as content streams; each page may use font /F1 and a 2x2 image /Im1.
    Objects: 1 catalog, 2 pages, 3 font, 4 image, then (page, content) pairs."""
    first = 5
    kids = b" ".join(b"%d 0 R" % (first + 2 * i) for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        pdf_stream(
            bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]),
            b"/Type /XObject /Subtype /Image /Width 2 /Height 2 "
            b"/ColorSpace /DeviceRGB /BitsPerComponent 8 ",
        ),
    ]
    for i, content in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 400] "
            b"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 4 0 R >> >> "
            b"/Contents %d 0 R >>" % (first + 2 * i + 1)
        )
        objects.append(pdf_stream(content))
    return _make_pdf_objects(objects, trailer_extra)


def _make_pdf_objects(objects: list[bytes], trailer_extra: bytes) -> bytes:
    return pdf_file(objects, trailer_extra=trailer_extra)


def _docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew in every region.")
    document.add_heading("Details", level=2)
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Region", "Sales"), ("North|East", "10"), ("South", "2\n3")]):
        table.cell(r, 0).text = a
        table.cell(r, 1).text = b
    document.add_paragraph("After the table.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Summary"
    first.append(["Name", None, "Joined", "Score"])
    first.append(["Ann", None, datetime.date(2024, 1, 2), 3.0])
    first.append([None, None, None, None])
    first.append(["Bob", None, datetime.datetime(2024, 5, 6, 7, 8), 2.5])
    raw = workbook.create_sheet("Raw")
    raw.append(["n", "square"])
    for n in range(1, 8):
        raw.append([n, n * n])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _is_png(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size


# --- kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mimetype", "expected"),
    [
        ("report.PDF", "application/octet-stream", True),
        ("notes.docx", "", True),
        ("main.py", "text/plain", True),
        ("Dockerfile", "", True),
        (".env", "", True),
        ("data.TSV", "", True),
        ("untitled", "application/pdf", True),
        ("untitled", "text/x-python", True),
        ("old.doc", "application/msword", True),  # refused with a reason, not ignored
        ("photo.png", "image/png", False),
        ("photo.jpeg", "image/jpeg", False),
        ("anim.gif", "image/gif", False),
        ("pic.webp", "image/webp", False),
        ("archive.zip", "application/zip", False),
        ("blob", "application/octet-stream", False),
    ],
)
def test_is_document(name: str, mimetype: str, expected: bool) -> None:
    assert is_document(name, mimetype) is expected


@pytest.mark.parametrize("name", ["old.doc", "deck.pptx", "deck.ppt", "x.pages", "a.zip", "b"])
def test_unsupported_kinds_name_what_is_supported(name: str) -> None:
    with pytest.raises(UnsupportedDocument) as info:
        extract_document(name, "application/octet-stream", b"\xd0\xcf\x11\xe0 whatever")
    assert SUPPORTED_KINDS_TEXT in str(info.value)
    if name == "old.doc":
        assert str(info.value).startswith("Word 97 (.doc) files are not supported")


def test_too_large_and_empty() -> None:
    with pytest.raises(DocumentUnreadable, match="it is empty"):
        extract_document("empty.txt", "text/plain", b"")
    with pytest.raises(DocumentUnreadable, match="it is empty"):
        extract_document("blank.md", "text/markdown", b"  \n\t\n")
    with pytest.raises(DocumentUnreadable, match="it is empty"):
        extract_document("empty.pdf", "application/pdf", b"")


def test_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 10)
    with pytest.raises(DocumentUnreadable, match="larger than"):
        extract_document("a.txt", "text/plain", b"x" * 11)


def test_real_limit_message() -> None:
    with pytest.raises(DocumentUnreadable) as info:
        extract_document("a.txt", "text/plain", bytes(documents.MAX_DOCUMENT_BYTES + 1))
    assert str(info.value) == "it is larger than 50 MB"


# --- text-like ---------------------------------------------------------------------------


def test_nul_garbage_is_not_text() -> None:
    with pytest.raises(DocumentUnreadable, match="it does not look like text"):
        extract_document("junk.txt", "text/plain", b"abc\x00\x01\x02\xff\xfe" * 50)


def test_control_garbage_is_not_text() -> None:
    garbage = bytes(range(1, 32)) * 40
    with pytest.raises(DocumentUnreadable, match="it does not look like text"):
        extract_document("junk.log", "text/plain", garbage)


def test_plain_text_and_encodings() -> None:
    result = extract_document("a.txt", "text/plain", "héllo wörld\r\nline 2".encode())
    assert result == ExtractedDocument("a.txt", "text", "héllo wörld\nline 2", [], [])
    utf16 = "\ufeffcafé au lait".encode("utf-16-le")
    assert extract_document("b.txt", "", utf16).text == "café au lait"
    latin = "Grüße aus Köln, schöne Grüße und Äpfel für alle. " * 5
    assert "Köln" in extract_document("c.txt", "", latin.encode("cp1252")).text


def test_code_is_fenced_with_language() -> None:
    result = extract_document("tool.py", "text/plain", b"def f():\n    return 1\n")
    assert result.kind == "code"
    assert result.text == "```python\ndef f():\n    return 1\n```"
    ts = extract_document("a.TS", "", b"let x = 1\n```\n")
    assert ts.text.startswith("````typescript\n") and ts.text.endswith("\n````")
    assert extract_document("Makefile", "", b"all:\n\techo hi\n").text.startswith("```makefile")


def test_json_pretty_printed_or_kept() -> None:
    result = extract_document("d.json", "application/json", b'{"a":[1,2],"b":{"c":"d"}}')
    assert result.kind == "JSON"
    assert (
        result.text == "```json\n" + json.dumps({"a": [1, 2], "b": {"c": "d"}}, indent=2) + "\n```"
    )
    broken = extract_document("e.json", "", b'{"a": 1,')
    assert broken.text == '```json\n{"a": 1,\n```'
    deep = extract_document("f.json", "", b"[" * 100_000 + b"]" * 100_000)
    assert deep.text.startswith("```json\n[[[")


def test_html_stripped() -> None:
    html = (
        b"<html><head><title>T</title><style>body{color:red}</style>"
        b"<script>alert('x')</script></head><body><h1>Big &amp; bold</h1>"
        b"<p>First   para.</p><ul><li>one</li><li>two</li></ul>"
        b"<script type='text/javascript'>var secret = 1;</script><p>Last</p></body></html>"
    )
    result = extract_document("page.html", "text/html", html)
    assert result.kind == "HTML"
    assert "alert" not in result.text and "secret" not in result.text
    assert "color:red" not in result.text
    assert "# Big & bold" in result.text
    assert "First para." in result.text
    assert "- one" in result.text and "- two" in result.text and "Last" in result.text


def test_xml_kept_without_expanding_entities() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;"><!ENTITY ext SYSTEM "file:///etc/passwd">]>'
        b"<r>&b;&ext;</r>"
    )
    result = extract_document("x.xml", "application/xml", xml)
    assert result.kind == "XML"
    assert result.text == "```xml\n" + xml.decode() + "\n```"


def test_yaml_markdown_log_rtf() -> None:
    assert extract_document("c.yml", "", b"a: 1\n").text == "```yaml\na: 1\n```"
    md = extract_document("README.markdown", "", b"# Title\n\ntext")
    assert (md.kind, md.text) == ("Markdown", "# Title\n\ntext")
    assert extract_document("app.log", "", b"INFO \x1b[32mok\x1b[0m\n").kind == "log"
    rtf = rb"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Hello {\b bold} caf\'e9.\par}"
    result = extract_document("memo.rtf", "application/rtf", rtf)
    assert result.kind == "RTF"
    assert "Hello bold café." in result.text
    with pytest.raises(DocumentUnreadable, match="damaged"):
        extract_document("memo.rtf", "", b"not rtf at all")


def test_character_cap_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "\n".join(f"line {i:05d}" for i in range(50_000))  # 549,999 characters
    result = extract_document("big.txt", "text/plain", text.encode())
    assert len(result.text) <= documents.MAX_DOCUMENT_CHARS
    assert result.cuts == [f"first {len(result.text):,} characters of {len(text):,}"]
    code = extract_document("big.py", "", text.encode())
    assert len(code.text) <= documents.MAX_DOCUMENT_CHARS and code.text.endswith("\n```")
    assert code.cuts[0].startswith("first ") and code.cuts[0].endswith(f" of {len(text):,}")


# --- CSV ---------------------------------------------------------------------------------


def test_csv_with_semicolons() -> None:
    data = b"name;city;note\nAnn;Paris;a|b\nBob;Rome;\n;;\n"
    result = extract_document("people.csv", "text/csv", data)
    assert result.kind == "CSV"
    assert result.text == (
        "| name | city | note |\n|---|---|---|\n| Ann | Paris | a\\|b |\n| Bob | Rome |  |"
    )
    assert result.cuts == []


def test_tsv_and_row_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_SHEET_ROWS", 3)
    data = "".join(f"{i}\t{i * 2}\n" for i in range(10)).encode()
    result = extract_document("t.tsv", "", data)
    assert result.text == "| 0 | 0 |\n|---|---|\n| 1 | 2 |\n| 2 | 4 |"
    assert result.cuts == ["the table first 3 of 10 rows"]


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_text_per_page() -> None:
    pdf = _make_pdf(
        [
            _text_content("Hello from the first page of text"),
            _text_content("Second page has more words"),
        ]
    )
    result = extract_document("r.pdf", "application/pdf", pdf)
    assert result.kind == "PDF"
    assert result.text == (
        "--- page 1 ---\nHello from the first page of text\n\n"
        "--- page 2 ---\nSecond page has more words"
    )
    assert result.page_images == [] and result.cuts == []


def test_pdf_scanned_page_becomes_png(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_reader, "MAX_SCANNED_PAGES", 1)
    monkeypatch.setattr(pdf_reader, "MAX_IMAGE_SIDE", 200)
    pdf = _make_pdf(
        [_text_content("A page with a proper text layer"), _IMAGE_CONTENT, _IMAGE_CONTENT, b""]
    )
    result = extract_document("scan.pdf", "", pdf)
    assert "--- page 1 ---\nA page with a proper text layer" in result.text
    assert "--- page 2: scanned, sent as an image ---" in result.text
    assert "--- page 3: scanned, not sent as an image ---" in result.text
    assert "--- page 4: blank ---" in result.text
    assert len(result.page_images) == 1
    width, height = _is_png(result.page_images[0])
    assert max(width, height) <= 200 and height > width
    assert result.cuts == ["only 1 of 2 scanned pages sent as images"]


def test_pdf_only_scanned_page_at_full_size() -> None:
    result = extract_document("scan.pdf", "", _make_pdf([_IMAGE_CONTENT]))
    assert result.text == "--- page 1: scanned, sent as an image ---"
    width, height = _is_png(result.page_images[0])
    assert 1000 < height <= 2048 and width < height  # scale capped at 4x: 400 pt -> 1599 px


def test_pdf_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_reader, "MAX_PDF_PAGES", 2)
    pdf = _make_pdf([_text_content(f"This is page number {i} of the doc") for i in range(1, 5)])
    result = extract_document("long.pdf", "", pdf)
    assert "--- page 2 ---" in result.text and "--- page 3" not in result.text
    assert result.cuts == ["read pages 1-2 of 4"]


def test_pdf_blank_only_is_empty() -> None:
    with pytest.raises(DocumentUnreadable, match="it is empty"):
        extract_document("blank.pdf", "", _make_pdf([b"", b""]))


def test_pdf_damaged() -> None:
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("bad.pdf", "", b"%PDF-1.4\nthis is not really a pdf\n")
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("bad.pdf", "", b"\x00\xff" * 100)


def test_pdf_password_protected() -> None:
    encrypt = (
        b"/Encrypt << /Filter /Standard /V 1 /R 2 /P -4 "
        b"/O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> >> "
        b"/ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] "
    )
    pdf = _make_pdf([_text_content("Secret text that needs a password")], trailer_extra=encrypt)
    with pytest.raises(DocumentUnreadable, match="it is password-protected"):
        extract_document("locked.pdf", "application/pdf", pdf)


# --- Word ----------------------------------------------------------------------------------


def test_docx_headings_and_table() -> None:
    result = extract_document("report.docx", "", _docx_bytes())
    assert result.kind == "Word"
    assert result.text == (
        "# Quarterly report\n\nRevenue grew in every region.\n\n## Details\n\n"
        "| Region | Sales |\n|---|---|\n| North\\|East | 10 |\n| South | 2<br>3 |\n\n"
        "After the table."
    )


def test_docx_damaged_and_encrypted() -> None:
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("x.docx", "", b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        zipped = io.BytesIO()
        with zipfile.ZipFile(zipped, "w") as archive:
            archive.writestr("hello.txt", "not a word document")
        extract_document("x.docx", "", zipped.getvalue())
    ole = office.OLE_MAGIC + bytes(500) + "EncryptedPackage".encode("utf-16-le") + bytes(50)
    with pytest.raises(DocumentUnreadable, match="it is password-protected"):
        extract_document("x.docx", "", ole)
    with pytest.raises(UnsupportedDocument, match=r"Word 97 \(.doc\)"):
        extract_document("renamed.docx", "", office.OLE_MAGIC + bytes(600))


def test_docx_zip_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _docx_bytes()
    monkeypatch.setattr(office, "MAX_UNPACKED_BYTES", 1024)
    with pytest.raises(DocumentUnreadable, match="it unpacks to too much data"):
        extract_document("bomb.docx", "", data)


def test_zip_bomb_declared_size_is_checked() -> None:
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * 1000)
    data = bytearray(zipped.getvalue())
    # Patch the uncompressed size in the central directory to 600 MB.
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 600 * 2**20)
    with pytest.raises(DocumentUnreadable, match="it unpacks to too much data"):
        extract_document("bomb.xlsx", "", bytes(data))


# --- Excel ---------------------------------------------------------------------------------


def test_xlsx_two_sheets() -> None:
    result = extract_document("book.xlsx", "", _xlsx_bytes())
    assert result.kind == "Excel"
    assert result.text.startswith(
        "## Sheet: Summary\n\n"
        "| Name | Joined | Score |\n|---|---|---|\n"
        "| Ann | 2024-01-02 | 3 |\n| Bob | 2024-05-06T07:08:00 | 2.5 |\n\n"
        "## Sheet: Raw\n\n| n | square |\n|---|---|\n| 1 | 1 |"
    )
    assert result.text.endswith("| 7 | 49 |")
    assert result.cuts == []


def test_xlsx_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_SHEET_ROWS", 3)
    monkeypatch.setattr(excel, "MAX_SHEETS", 1)
    result = extract_document("book.xlsm", "", _xlsx_bytes())
    assert "## Sheet: Raw" not in result.text
    assert result.text.endswith("| Bob | 2024-05-06T07:08:00 | 2.5 |")
    assert result.cuts == ["only the first 1 of 2 sheets"]
    monkeypatch.setattr(excel, "MAX_SHEETS", 2)
    result = extract_document("book.xlsx", "", _xlsx_bytes())
    assert result.cuts == ["sheet 'Raw' first 3 of about 8 rows"]
    assert result.text.endswith("| 2 | 4 |")


def test_xlsx_empty_and_encrypted() -> None:
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    with pytest.raises(DocumentUnreadable, match="it is empty"):
        extract_document("empty.xlsx", "", out.getvalue())
    ole = office.OLE_MAGIC + bytes(500) + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(DocumentUnreadable, match="it is password-protected"):
        extract_document("locked.xlsx", "", ole)


def test_xls_damaged() -> None:
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("old.xls", "application/vnd.ms-excel", b"garbage, not a workbook" * 20)
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("old.xls", "", office.OLE_MAGIC + bytes(1000))


# --- caps applied while reading ----------------------------------------------------------


def test_text_decodes_only_its_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_reader, "MAX_TEXT_BYTES", 1001)
    result = extract_document("a.txt", "text/plain", "é".encode() * 3000)
    # The byte pair cut at the end is left out, not shown as a broken character.
    assert result.text == "é" * 500
    assert result.cuts == ["first 500 characters of about 2,997"]
    utf16 = "\ufeff".encode("utf-16-le") + "ab".encode("utf-16-le") * 1000
    assert set(extract_document("b.txt", "", utf16).text) == {"a", "b"}


def test_text_cut_is_noted_against_the_whole_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_reader, "MAX_TEXT_BYTES", 4000)
    _cap_document_chars(monkeypatch, 1000)
    text = "".join(f"line {i:05d}\n" for i in range(10_000))  # 110,000 characters
    result = extract_document("big.log", "", text.encode())
    assert len(result.text) <= 1000
    assert result.cuts == [f"first {len(result.text):,} characters of about 110,000"]


def test_json_too_long_to_indent_is_kept_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    _cap_document_chars(monkeypatch, 200)
    compact = json.dumps([[[n] for n in range(15)]], separators=(",", ":"))
    result = extract_document("d.json", "", compact.encode())
    assert result.text == f"```json\n{compact}\n```" and result.cuts == []


def test_csv_rows_stop_at_the_character_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    _cap_document_chars(monkeypatch, 100)
    data = "".join(f"{i},{'x' * 10}\n" for i in range(20)).encode()
    result = extract_document("t.csv", "", data)
    assert result.cuts == ["the table first 4 of 20 rows"]
    assert len(result.text) <= 100


def test_csv_rows_past_the_decoded_start_are_estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_reader, "MAX_TEXT_BYTES", 100)
    monkeypatch.setattr(tables, "MAX_SHEET_ROWS", 2)
    data = "".join(f"{i},{i * i}\n" for i in range(1000, 2000)).encode()  # 10 bytes a row
    result = extract_document("t.csv", "", data)
    assert result.cuts == ["the table first 2 of about 1,000 rows"]


def test_docx_spans_are_clamped_and_merged_cells_shown_once() -> None:
    def cell(text: str, properties: str = "") -> str:
        return f"<w:tc><w:tcPr>{properties}</w:tcPr>{paragraph(text)}</w:tc>"

    rows = [
        cell("Region", '<w:gridSpan w:val="2"/>') + cell("Sales"),
        cell("North") + cell("East") + cell("10", '<w:vMerge w:val="restart"/>'),
        cell("South") + cell("West") + cell("", "<w:vMerge/>"),
        cell("huge", '<w:gridSpan w:val="2000000000"/>') + cell("past the cap"),
    ]
    body = "<w:tbl>" + "".join(f"<w:tr>{row}</w:tr>" for row in rows) + "</w:tbl>"
    result = extract_document("t.docx", "", docx_of(body))
    assert result.text.splitlines()[:4] == [
        "| Region |  | Sales |",
        "|---|---|---|",
        "| North | East | 10 |",
        "| South | West |  |",
    ]
    assert result.cuts == ["table 1 first 50 columns only"]


def test_docx_stops_at_the_character_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    _cap_document_chars(monkeypatch, 60)
    body = "".join(paragraph(f"Paragraph number {i} of many.") for i in range(100))
    result = extract_document("long.docx", "", docx_of(body))
    assert result.text.startswith("Paragraph number 0 of many.\n\nParagraph number 1 of")
    assert len(result.text) <= 60
    assert result.cuts == [f"first {len(result.text)} characters (the rest was not read)"]


def test_docx_stops_after_too_much_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "MAX_MARKUP_ELEMENTS", 100)
    body = paragraph("Some text first.") + "<w:p/>" * 200 + paragraph("Never reached.")
    result = extract_document("markup.docx", "", docx_of(body))
    assert result.text == "Some text first."
    assert result.cuts == ["first 16 characters (the rest was not read)"]
    with pytest.raises(DocumentUnreadable, match="it is too large to read"):
        extract_document("markup.docx", "", docx_of("<w:p/>" * 200))


def test_docx_with_a_dtd_is_refused() -> None:
    body = '<!DOCTYPE w:document [<!ENTITY a "aaaa">]>' + document_xml(paragraph("&a;")).decode()
    data = zip_of([*docx_package(), zip_entry("word/document.xml", body.encode())])
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("dtd.docx", "", data)


def test_xlsx_gaps_in_row_numbers_cost_nothing() -> None:
    rows = (
        f'<row r="1">{inline_cell("A1", "first")}</row>'
        f'<row r="1000000000">{inline_cell("B1000000000", "last")}</row>'
    )
    result = extract_document("gaps.xlsx", "", xlsx_of(rows, dimension="A1:B1000000000"))
    assert result.text == "## Sheet: S0\n\n| first |  |\n|---|---|\n|  | last |"
    assert result.cuts == []


def test_xlsx_huge_column_references_are_set_aside() -> None:
    cells = inline_cell("A1", "kept") + inline_cell("XFD1", "far") + inline_cell("ZZZZ1", "bad")
    result = extract_document("wide.xlsx", "", xlsx_of(f'<row r="1">{cells}</row>'))
    assert result.text == "## Sheet: S0\n\n| kept |\n|---|"
    assert result.cuts == ["sheet 'S0' first 50 columns only"]


def test_xlsx_declared_size_is_used_only_when_believable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_SHEET_ROWS", 1)
    rows = "".join(f'<row r="{n}">{inline_cell(f"A{n}", str(n))}</row>' for n in (1, 2, 3))
    believable = extract_document("a.xlsx", "", xlsx_of(rows, dimension="A1:A3"))
    assert believable.cuts == ["sheet 'S0' first 1 of about 3 rows"]
    unbelievable = extract_document("b.xlsx", "", xlsx_of(rows, dimension="A1:A900000000"))
    assert unbelievable.cuts == ["sheet 'S0' first 1 rows (the rest was not read)"]


def test_xlsx_rows_and_sheets_stop_at_the_character_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cap_document_chars(monkeypatch, 100)
    monkeypatch.setattr(excel, "MIN_SHEET_CHARS", 20)
    result = extract_document("book.xlsx", "", _xlsx_bytes())
    assert result.cuts == [
        "sheet 'Summary' first 2 of about 4 rows",
        "only the first 1 of 2 sheets",
    ]


def test_zip_with_too_many_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(office, "MAX_ZIP_ENTRIES", 3)
    with pytest.raises(DocumentUnreadable, match="it holds too many files"):
        extract_document("many.docx", "", _docx_bytes())


def test_zip_entries_are_unpacked_only_as_far_as_declared() -> None:
    document = document_xml(paragraph("Declared part."))
    stored = zip_entry("word/document.xml", document + b"<!-- more than declared -->").stored
    honest_crc = ZipEntry("word/document.xml", stored, len(document), zlib.crc32(document))
    result = extract_document("lying.docx", "", zip_of([*docx_package(), honest_crc]))
    assert result.text == "Declared part."
    wrong_crc = ZipEntry("word/document.xml", stored, len(document), 0)
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("lying.docx", "", zip_of([*docx_package(), wrong_crc]))


def test_zip_entries_packed_other_than_deflate_are_refused() -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("word/document.xml", document_xml(paragraph("x")))
    with pytest.raises(DocumentUnreadable, match="it looks damaged"):
        extract_document("bzip2.docx", "", packed.getvalue())


def test_rtf_reader() -> None:
    rtf = (
        rb"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0 Arial;}{\f1\fcharset128 MS Mincho;}}"
        rb"{\colortbl;\red0\green0\blue0;}{\*\generator Hidden;}{\info{\title Hidden}}"
        rb"\pard \'cf\'f0\'e8\'e2\'e5\'f2\tab {\f1 \'82\'a0}\par"
        rb"\uc1\u8364?\u-10179?\u-8704? {\uc2\u1046\'c6\'c6}\par"
        rb'{\field{\*\fldinst{HYPERLINK "https://example.com/a"}}{\fldrslt{link}}}\par'
        rb"{\pict\bin4 {}\\}after\line\{braces\}}"
    )
    result = extract_document("memo.rtf", "application/rtf", rtf)
    assert result.text == ("Привет\tあ\n€😀 Ж\nlink (https://example.com/a)\nafter\n{braces}")


def test_rtf_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    _cap_document_chars(monkeypatch, 20)
    result = extract_document("long.rtf", "", rb"{\rtf1 " + b"word " * 100 + b"}")
    assert result.text.strip() == "word word word word"
    assert result.cuts == [f"first {len(result.text)} characters (the rest was not read)"]
    monkeypatch.setattr(rtf_reader, "MAX_RTF_BYTES", 100)
    with pytest.raises(DocumentUnreadable, match="larger than 0 MB for an RTF file"):
        extract_document("long.rtf", "", rb"{\rtf1 " + b"word " * 100 + b"}")


def test_html_entities_declared_by_the_page_are_not_expanded() -> None:
    html = b'<!DOCTYPE html [<!ENTITY a "EXPANDED">]><p>x&a;y &amp; <b>z</b></p>'
    assert "EXPANDED" not in extract_document("p.html", "", html).text


def test_html_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    html = b"<pre>  keep\n\n\n\n  this   </pre>" + b"<p>para   graph</p>" * 50
    result = extract_document("p.html", "", html)
    assert result.text.startswith("keep\n\nthis\n\npara graph\n\npara graph")
    _cap_document_chars(monkeypatch, 30)
    result = extract_document("p.html", "", html)
    assert result.cuts == [f"first {len(result.text)} characters (the rest was not read)"]
    monkeypatch.setattr(html_reader, "MAX_HTML_BYTES", 100)
    with pytest.raises(DocumentUnreadable, match="for an HTML file"):
        extract_document("p.html", "", html)


def test_pdf_pages_stop_at_the_character_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    _cap_document_chars(monkeypatch, 100)
    pdf = _make_pdf([_text_content(f"This is page number {i} of the doc") for i in range(1, 6)])
    result = extract_document("long.pdf", "", pdf)
    assert "--- page 2 ---" in result.text and "--- page 4" not in result.text
    assert result.cuts == [
        "read pages 1-3 of 5",
        f"first {len(result.text)} characters (the rest was not read)",
    ]
