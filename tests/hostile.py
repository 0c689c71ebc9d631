"""Hostile files for the readers of `untrusted`, each built in memory by a small function.

`CORPUS` builds each file only when it is taken: a few are tens of megabytes; `PAGES`
builds web pages the same way, for the reader of pasted links.
`read_in_child` reads one in a process limited as the pool's workers are and reports what
the user would be told and what the read cost; `python -m tests.hostile` prints that for
every case.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import struct
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import overload

from tests.pdfs import pdf_file, pdf_stream

CHILD_MEMORY_BYTES = 2**30
CHILD_CPU_SECONDS = 20


@dataclass(frozen=True)
class HostileFile:
    name: str
    mimetype: str
    data: bytes
    expect: str  # a substring of what the user is told: the reason, a cut, or the text
    # Why only the pool's process limits stop this one, when the reader cannot.
    beyond_reader: str = ""
    # A page's charset, as its site names it in its Content-Type header.
    charset: str | None = None


@dataclass(frozen=True)
class Outcome:
    told: str  # what the user is told (see `told`), or how the child died
    killed: bool
    cpu_seconds: float  # of the read alone, not of building the file
    peak_mb: float  # the child's peak resident memory


# --- building blocks ---------------------------------------------------------------------

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MiB = 2**20


@dataclass(frozen=True)
class ZipEntry:
    """A zip entry as written: its bytes as stored, and what its headers declare."""

    name: str
    stored: bytes
    size: int
    crc: int
    method: int = 8  # deflate


def zip_entry(name: str, content: bytes) -> ZipEntry:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return ZipEntry(
        name, packer.compress(content) + packer.flush(), len(content), zlib.crc32(content)
    )


def zip_of(entries: list[ZipEntry]) -> bytes:
    """A zip built by hand, so that its headers can say anything."""
    out = bytearray()
    central = bytearray()
    for entry in entries:
        name = entry.name.encode()
        sizes = (entry.crc, len(entry.stored), entry.size, len(name))
        central += struct.pack("<IHHHHHH", 0x02014B50, 20, 20, 0, entry.method, 0, 0x21)
        central += struct.pack("<IIIHHHHHII", *sizes, 0, 0, 0, 0, 0, len(out)) + name
        out += struct.pack("<IHHHHH", 0x04034B50, 20, 0, entry.method, 0, 0x21)
        out += struct.pack("<IIIHH", *sizes, 0) + name + entry.stored
    count = min(len(entries), 0xFFFF)  # zipfile walks the directory by its size, not count
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def _deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of `size` zero bytes (a multiple of 1 MiB), made of one flushed
    compressed mebibyte repeated: compressing a gigabyte would take seconds."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(bytes(_MiB)) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(bytes(_MiB)) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (size // _MiB - 1) + packer.flush()


def _rels(*targets: tuple[str, str]) -> bytes:
    """A relationships part: (type's last segment, target) pairs, numbered rId1, rId2..."""
    kinds = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    items = "".join(
        f'<Relationship Id="rId{i}" Type="{kinds}{kind}" Target="{target}"/>'
        for i, (kind, target) in enumerate(targets, start=1)
    )
    return f'<Relationships xmlns="{_RELS_NS}">{items}</Relationships>'.encode()


def _content_types(*parts: tuple[str, str]) -> ZipEntry:
    """[Content_Types].xml: (part, content type's last segment) pairs."""
    office = "application/vnd.openxmlformats-officedocument."
    overrides = "".join(f'<Override PartName="/{p}" ContentType="{office}{t}"/>' for p, t in parts)
    types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
    )
    return zip_entry("[Content_Types].xml", types.encode())


def docx_package() -> list[ZipEntry]:
    """A Word file's parts but its document, as python-docx (and Word) need them."""
    return [
        _content_types(("word/document.xml", "wordprocessingml.document.main+xml")),
        zip_entry("_rels/.rels", _rels(("officeDocument", "word/document.xml"))),
    ]


def document_xml(body: str) -> bytes:
    return f'<w:document xmlns:w="{_W_NS}"><w:body>{body}</w:body></w:document>'.encode()


def docx_of(body: str) -> bytes:
    return zip_of([*docx_package(), zip_entry("word/document.xml", document_xml(body))])


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def _xlsx_entries(sheets: int = 1, shared: bytes = b"") -> list[ZipEntry]:
    """The parts of a workbook but its sheet, as openpyxl (and Excel) need them: `sheets`
    entries all naming one worksheet, and a shared strings table if `shared` is given."""
    listed = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="rId1"/>' for i in range(sheets))
    workbook = f'<workbook xmlns="{_S_NS}" xmlns:r="{_R_NS}"><sheets>{listed}</sheets></workbook>'
    related = [("worksheet", "worksheets/sheet1.xml")]
    if shared:
        related.append(("sharedStrings", "sharedStrings.xml"))
    parts = [
        ("xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
        ("xl/worksheets/sheet1.xml", "spreadsheetml.worksheet+xml"),
    ]
    if shared:
        parts.append(("xl/sharedStrings.xml", "spreadsheetml.sharedStrings+xml"))
    entries = [
        _content_types(*parts),
        zip_entry("_rels/.rels", _rels(("officeDocument", "xl/workbook.xml"))),
        zip_entry("xl/workbook.xml", workbook.encode()),
        zip_entry("xl/_rels/workbook.xml.rels", _rels(*related)),
    ]
    return [*entries, zip_entry("xl/sharedStrings.xml", shared)] if shared else entries


def xlsx_of(sheet_data: str, dimension: str = "", sheets: int = 1, shared: bytes = b"") -> bytes:
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = f'<worksheet xmlns="{_S_NS}">{declared}<sheetData>{sheet_data}</sheetData></worksheet>'
    entries = _xlsx_entries(sheets, shared)
    return zip_of([*entries, zip_entry("xl/worksheets/sheet1.xml", sheet.encode())])


def inline_cell(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def _pdf_pages(contents: list[bytes], media_box: bytes = b"0 0 300 400") -> bytes:
    """Pages drawing `contents` with font /F1 (object 3); page i is objects 4+2i and 5+2i."""
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(contents)))
    objects = [_CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(contents))]
    objects.append(_FONT)
    for i, content in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (media_box, 5 + 2 * i)
        )
        objects.append(pdf_stream(content))
    return pdf_file(objects)


def drawing_bomb_pdf(fills: int = 10_000, padding: int = 0) -> bytes:
    """A one-page PDF of about a kilobyte with no text layer, whose page is `fills`
    full-page triangles: PDFium spends tens of seconds of CPU rendering it (as a scanned
    page), which no reader-side cap can prevent; only the worker's CPU limit ends it.
    `padding` adds an unused stream of that many bytes, for a file of a given size."""
    content = zlib.compress(b"10 10 m 600 780 l 20 700 l h f\n" * fills, 9)
    return pdf_file(
        [
            _CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            pdf_stream(content, b"/Filter /FlateDecode "),
            pdf_stream(bytes(padding)),
        ]
    )


def _pdf_form_page(form: bytes) -> bytes:
    """One page drawing Form XObject /X (object 5), whose content is `form` and which may
    draw /X itself."""
    resources = b"/Resources << /XObject << /X 5 0 R >> /Font << /F1 6 0 R >> >>"
    return pdf_file(
        [
            _CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 400] /Contents 4 0 R %s >>"
            % resources,
            pdf_stream(b"/X Do"),
            pdf_stream(form, b"/Type /XObject /Subtype /Form /BBox [0 0 300 400] %s " % resources),
            _FONT,
        ]
    )


def _text_line(text: str) -> bytes:
    return b"BT /F1 10 Tf 10 50 Td (" + text.encode("latin-1") + b") Tj ET"


def _png_header(width: int, height: int) -> bytes:
    """A PNG declaring `width` x `height` RGB pixels, with a token of pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes(1 + 3 * min(width, 64)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# --- the corpus ----------------------------------------------------------------------------


def docx_grid_span_bomb() -> HostileFile:
    """A cell declaring a two-billion-column span in each of 1,000 rows (python-docx's
    `row.cells` built a two-billion-entry row for it)."""
    span = '<w:tcPr><w:gridSpan w:val="2000000000"/></w:tcPr>'
    row = f"<w:tr><w:tc>{span}{paragraph('wide')}</w:tc><w:tc>{paragraph('past')}</w:tc></w:tr>"
    data = docx_of(f"<w:tbl>{row * 1000}</w:tbl>")
    return HostileFile("span.docx", _DOCX_MIME, data, "table 1 first 50 columns only")


def docx_many_empty_paragraphs() -> HostileFile:
    """Four million empty paragraphs (24 MB of XML in 70 KB): python-docx's tree of them took
    900 MB."""
    data = docx_of("<w:p/>" * 4_000_000)
    return HostileFile("empty.docx", _DOCX_MIME, data, "it is too large to read")


def docx_entity_bomb() -> HostileFile:
    """Nested entities in a DTD (a billion laughs)."""
    entities = '<!ENTITY a0 "laugh">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    body = f"<!DOCTYPE w:document [{entities}]>" + document_xml(paragraph("&a9;")).decode()
    data = zip_of([*docx_package(), zip_entry("word/document.xml", body.encode())])
    return HostileFile("laughs.docx", _DOCX_MIME, data, "it looks damaged")


def docx_zip_bomb() -> HostileFile:
    """A document part of a gigabyte of zeros, about a megabyte packed."""
    bomb = ZipEntry("word/document.xml", _deflated_zeros(2**30), 2**30, 0)
    data = zip_of([*docx_package(), bomb])
    return HostileFile("bomb.docx", _DOCX_MIME, data, "it unpacks to too much data")


def docx_lying_sizes() -> HostileFile:
    """A document part whose headers declare its first few hundred bytes (with their CRC)
    while its data inflates on to a gigabyte: `ZipFile.read` inflated all of it at once."""
    document = document_xml(paragraph("Only what the header declares is read."))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(document) + packer.flush(zlib.Z_FULL_FLUSH)
    stored = head + _deflated_zeros(2**30)
    lying = ZipEntry("word/document.xml", stored, len(document), zlib.crc32(document))
    data = zip_of([*docx_package(), lying])
    return HostileFile("lying.docx", _DOCX_MIME, data, "Only what the header declares is read.")


def docx_many_entries() -> HostileFile:
    """A hundred thousand empty zip entries."""
    entries = [*docx_package(), *(zip_entry(f"{i:x}", b"") for i in range(100_000))]
    return HostileFile("entries.docx", _DOCX_MIME, zip_of(entries), "it holds too many files")


def xlsx_huge_row_numbers() -> HostileFile:
    """600 rows numbered up to a billion, with a matching dimension: openpyxl's read-only
    rows yielded every empty row in the gaps."""
    rows = "".join(
        f'<row r="{n}">{inline_cell(f"A{n}", f"row {i}")}</row>'
        for i, n in enumerate(range(1, 1_000_000_000, 1_666_666))
    )
    data = xlsx_of(rows, dimension="A1:A1000000000")
    return HostileFile("rows.xlsx", _XLSX_MIME, data, "first 500 rows (the rest was not read)")


def xlsx_huge_columns_and_dimension() -> HostileFile:
    """Cells in the last column (XFD) and past any column, under a sheet-sized dimension."""
    cells = inline_cell("A1", "first") + inline_cell("XFD1", "last") + inline_cell("ZZZZ1", "x")
    rows = f'<row r="1">{cells}</row><row r="1048576">{inline_cell("B1048576", "end")}</row>'
    data = xlsx_of(rows, dimension="A1:XFD1048576")
    return HostileFile("columns.xlsx", _XLSX_MIME, data, "first 50 columns only")


def xlsx_many_sheets() -> HostileFile:
    """A workbook listing a hundred thousand sheets."""
    rows = f'<row r="1">{inline_cell("A1", "same sheet")}</row>'
    data = xlsx_of(rows, sheets=100_000)
    return HostileFile("sheets.xlsx", _XLSX_MIME, data, "only the first 10 of 100000 sheets")


def xlsx_empty_cells() -> HostileFile:
    """One row of three million empty cells (12 MB of XML in 30 KB)."""
    data = xlsx_of('<row r="1">' + "<c/>" * 3_000_000 + "</row>")
    return HostileFile("cells.xlsx", _XLSX_MIME, data, "it is too large to read")


def xlsx_many_shared_strings() -> HostileFile:
    """700,000 shared strings (12 MB of XML), the last one used: that table is read
    whole, as any cell may point anywhere in it."""
    count = 700_000
    strings = f'<sst xmlns="{_S_NS}">' + "<si><t>x</t></si>" * (count - 1)
    strings += "<si><t>The last shared string</t></si></sst>"
    rows = f'<row r="1"><c r="A1" t="s"><v>{count - 1}</v></c></row>'
    data = xlsx_of(rows, shared=strings.encode())
    return HostileFile("strings.xlsx", _XLSX_MIME, data, "The last shared string")


def xlsx_zip_bomb() -> HostileFile:
    """A worksheet of a gigabyte of zeros, about a megabyte packed."""
    bomb = ZipEntry("xl/worksheets/sheet1.xml", _deflated_zeros(2**30), 2**30, 0)
    data = zip_of([*_xlsx_entries(), bomb])
    return HostileFile("bomb.xlsx", _XLSX_MIME, data, "it unpacks to too much data")


def rtf_field_bomb() -> HostileFile:
    """Fields opened 2,000 times over (60 KB): striprtf's regular expressions took minutes."""
    data = b"{\\rtf1 Text before the fields " + b'{\\field{\\*\\fldinst{HYPERLINK "' * 2000
    return HostileFile("fields.rtf", "application/rtf", data + b"}", "Text before the fields")


def rtf_deep_groups() -> HostileFile:
    """Two million nested groups, past the markup a document may have read."""
    data = b"{\\rtf1 " + b"{" * 2_000_000 + b"deep" + b"}" * 2_000_001
    return HostileFile("deep.rtf", "application/rtf", data, "it is too large to read")


def rtf_too_large() -> HostileFile:
    data = b"{\\rtf1 " + b"\\b x\\b0 " * 800_000 + b"}"
    return HostileFile("large.rtf", "application/rtf", data, "larger than 5 MB for an RTF file")


def html_comment_bomb() -> HostileFile:
    """Unclosed comments: `html.parser` rescans them, four times slower per doubling."""
    data = b"<p>Text before the comments</p>" + b"<!--x" * 20_000
    return HostileFile("comments.html", "text/html", data, "Text before the comments")


def html_attribute_bomb() -> HostileFile:
    """Unclosed attribute values: 30 s in `html.parser` at this size."""
    data = b"<p>Text before the attributes</p>" + b"<a b='" * 20_000
    return HostileFile("attributes.html", "text/html", data, "Text before the attributes")


def html_markup_bombs() -> HostileFile:
    """The other shapes `html.parser` rescans: CDATA, end tags, processing instructions and
    bare tag starts, unclosed."""
    unclosed = b"<![CDATA[" * 20_000 + b"</" * 20_000 + b"<?" * 20_000 + b"<x" * 20_000
    data = b"<p>Text before the markup</p>" + unclosed
    return HostileFile("markup.html", "text/html", data, "Text before the markup")


def html_space_run() -> HostileFile:
    """A long run of spaces in a <pre>: a `[ \\t]+\\n` clean-up backtracks over it."""
    data = b"<pre>Hello" + b" " * 1_000_000 + b"world</pre>"
    return HostileFile("spaces.html", "text/html", data, "(the rest was not read)")


def html_deep_nesting() -> HostileFile:
    data = b"<div>" * 500_000 + b"Text deep inside"
    return HostileFile("deep.html", "text/html", data, "Text deep inside")


def page_wide_row() -> HostileFile:
    """A pasted page whose table row has 300,000 cells: trafilatura measures the row once
    per cell, and each measure counts the cells (a minute, uncut)."""
    data = b"<p>A wide table follows.</p><table><tr>" + b"<td>cell</td>" * 300_000 + b"</tr>"
    return HostileFile("wide-row.page", "text/html", data, "cells past the first 1,000")


def page_many_paragraphs() -> HostileFile:
    data = b"<html><body>" + b"<p>Otters hold hands.</p>" * 100_000
    return HostileFile("paragraphs.page", "text/html", data, "Partly read: first 19,999")


def page_punycode_charset() -> HostileFile:
    """A page whose site says it is in punycode, which Python decodes in quadratic time
    (5 MB would take a worker's whole CPU bound): read as if it named no charset."""
    # Past the last "-", punycode inserts each character into what it decoded so far.
    data = b"<html><body>" + b"<p>Otters hold hands.</p>" * 1_000 + b"<p>x-" + b"ba" * 400_000
    return HostileFile(
        "punycode.page", "text/html", data, "Partly read: first 20,000", charset="punycode"
    )


def page_deep_nesting() -> HostileFile:
    data = b"<div>" * 500_000 + b"Text deep inside"
    return HostileFile("deep.page", "text/html", data, "I found no readable text on the page")


def html_too_large() -> HostileFile:
    data = b"<p>" + b"x" * (11 * _MiB) + b"</p>"
    return HostileFile("large.html", "text/html", data, "larger than 10 MB for an HTML file")


def json_deep_nesting() -> HostileFile:
    data = b"[" * 1_000_000 + b"]" * 1_000_000
    return HostileFile("deep.json", "application/json", data, "characters of about 2,000,000")


def json_indent_bomb() -> HostileFile:
    """Deep nesting around many items: indented, each item gets the whole depth's indent
    (200 KB became hundreds of megabytes)."""
    data = b"[" * 500 + b"0," * 100_000 + b"0" + b"]" * 500
    return HostileFile("indent.json", "application/json", data, "first 149,")


def xml_deep_nesting() -> HostileFile:
    data = b"<a>" * 100_000 + b"</a>" * 100_000
    return HostileFile("deep.xml", "application/xml", data, "characters of about 700,000")


def text_single_line() -> HostileFile:
    """40 MB on one line."""
    return HostileFile("line.txt", "text/plain", b"x" * (40 * _MiB), "characters of about")


def text_invalid_utf8() -> HostileFile:
    """A megabyte of UTF-8 with broken sequences all through it."""
    data = ("Grüße aus Köln. ".encode() + b"\xc3\x28 \xa0\xa1 ") * 40_000
    return HostileFile("broken.txt", "text/plain", data, "characters of about")


def csv_huge_cells() -> HostileFile:
    """500 rows of 50 cells of 2,000 characters: 50 MB of table."""
    row = b",".join([b"x" * 2000] * 50) + b"\n"
    return HostileFile("cells.csv", "text/csv", row * 500, "the table first 1 of about 500 rows")


def pdf_form_draws_itself() -> HostileFile:
    """A Form XObject that draws itself once: PDFium stops the recursion."""
    form = _text_line("Hello from a form that draws itself") + b" /X Do"
    data = _pdf_form_page(form)
    return HostileFile("self.pdf", "application/pdf", data, "Hello from a form that draws itself")


def pdf_form_draws_itself_twice() -> HostileFile:
    """A Form XObject that draws itself twice: PDFium expands it into 2^depth objects when
    it loads the page."""
    form = _text_line("Hello") + b" /X Do /X Do"
    return HostileFile(
        "twice.pdf",
        "application/pdf",
        _pdf_form_page(form),
        "it looks damaged",  # what the pool says of a worker that aborts
        beyond_reader="PDFium expands nested form XObjects inside FPDF_LoadPage, before any "
        "cap of ours can apply; only the process memory limit ends it",
    )


def pdf_thousand_pages() -> HostileFile:
    contents = [_text_line(f"This is page {i} of a long document") for i in range(1, 1001)]
    return HostileFile(
        "long.pdf", "application/pdf", _pdf_pages(contents), "read pages 1-200 of 1000"
    )


def pdf_dense_pages() -> HostileFile:
    """200 pages of 5,000 characters: the character budget ends the reading."""
    contents = [_text_line(f"page {i} " + "word " * 1000) for i in range(200)]
    return HostileFile(
        "dense.pdf", "application/pdf", _pdf_pages(contents), "read pages 1-30 of 200"
    )


def pdf_huge_page() -> HostileFile:
    """A scanned page claiming a million points square."""
    content = b"q 1000000 0 0 1000000 0 0 cm 0 0 1 1 re f Q"
    data = _pdf_pages([content], media_box=b"0 0 1000000 1000000")
    return HostileFile("huge.pdf", "application/pdf", data, "page 1: scanned, sent as an image")


def pdf_sliver_page() -> HostileFile:
    """A scanned page a million points wide and one high: not a pixel tall when rendered."""
    content = b"q 1000000 0 0 1 0 0 cm 0 0 1 1 re f Q"
    data = _pdf_pages([content], media_box=b"0 0 1000000 1")
    return HostileFile("sliver.pdf", "application/pdf", data, "it is empty")


def png_huge_dimensions() -> HostileFile:
    """60,000 x 60,000 pixels declared in a few bytes."""
    return HostileFile("huge.png", "image/png", _png_header(60_000, 60_000), "could not be read")


def png_over_pixel_cap() -> HostileFile:
    """Under Pillow's own bomb limit, over ours."""
    return HostileFile("big.png", "image/png", _png_header(6_000, 6_000), "too many pixels")


def gif_huge_screen() -> HostileFile:
    """A GIF whose logical screen is 65,535 pixels square, with a one-pixel frame."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + bytes(6)
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return HostileFile("huge.gif", "image/gif", screen + frame + b";", "could not be read")


class _Corpus(Sequence[HostileFile]):
    """The hostile files, each built when it is taken (a few are tens of megabytes)."""

    def __init__(self, builders: list[Callable[[], HostileFile]]) -> None:
        self.builders = builders

    def __len__(self) -> int:
        return len(self.builders)

    @overload
    def __getitem__(self, index: int) -> HostileFile: ...

    @overload
    def __getitem__(self, index: slice) -> list[HostileFile]: ...

    def __getitem__(self, index: int | slice) -> HostileFile | list[HostileFile]:
        if isinstance(index, slice):
            return [build() for build in self.builders[index]]
        return self.builders[index]()


CORPUS = _Corpus(
    [
        docx_grid_span_bomb,
        docx_many_empty_paragraphs,
        docx_entity_bomb,
        docx_zip_bomb,
        docx_lying_sizes,
        docx_many_entries,
        xlsx_huge_row_numbers,
        xlsx_huge_columns_and_dimension,
        xlsx_many_sheets,
        xlsx_empty_cells,
        xlsx_many_shared_strings,
        xlsx_zip_bomb,
        rtf_field_bomb,
        rtf_deep_groups,
        rtf_too_large,
        html_comment_bomb,
        html_attribute_bomb,
        html_markup_bombs,
        html_space_run,
        html_deep_nesting,
        html_too_large,
        json_deep_nesting,
        json_indent_bomb,
        xml_deep_nesting,
        text_single_line,
        text_invalid_utf8,
        csv_huge_cells,
        pdf_form_draws_itself,
        pdf_form_draws_itself_twice,
        pdf_thousand_pages,
        pdf_dense_pages,
        pdf_huge_page,
        pdf_sliver_page,
        png_huge_dimensions,
        png_over_pixel_cap,
        gif_huge_screen,
    ]
)
# Pages pasted as links, read by `untrusted.pages` rather than as attached files.
PAGES = _Corpus([page_wide_row, page_many_paragraphs, page_deep_nesting, page_punycode_charset])


# --- reading in a child process ----------------------------------------------------------


def told(case: HostileFile) -> str:
    """What the user is told of `case`: the reason it was not read, or what was left out
    followed by the text read (a fitted image's size, for an image)."""
    from untrusted.documents import DocumentUnreadable, UnsupportedDocument, extract_document
    from untrusted.images import ImageRejected, fit_image
    from untrusted.pages import PageUnreadable, read_page

    try:
        if case.mimetype.startswith("image/"):
            fitted = fit_image(case.data)
            return f"fitted to {fitted.width}x{fitted.height}"
        if case.name.endswith(".page"):  # a pasted web page (`PAGES`), not a file
            _, text, cuts = read_page(case.data, case.mimetype, case.charset)
        else:
            document = extract_document(case.name, case.mimetype, case.data)
            text, cuts = document.text, document.cuts
    except (UnsupportedDocument, DocumentUnreadable, ImageRejected, PageUnreadable) as reason:
        return str(reason)
    return "".join(f"Partly read: {cut}\n" for cut in cuts) + text


def _child(case: HostileFile, conn: Connection) -> None:
    """Reads `case` under the limits a reader must stay within, and reports on it."""
    # All imported before the limits and the clock, as a worker does (`preload`).
    import trafilatura  # noqa: F401

    import untrusted.documents
    import untrusted.images
    import untrusted.pages  # noqa: F401

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_SECONDS, CHILD_CPU_SECONDS))
    start = time.process_time()
    result = told(case)
    cpu = time.process_time() - start
    conn.send((result, cpu, _peak_mb()))


def _peak_mb() -> float:
    """This process's peak resident memory (ru_maxrss would include its parent's, which Linux
    carries across exec)."""
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    return int(peak.split()[1]) / 1024


def read_in_child(case: HostileFile) -> Outcome:
    """Reads `case` in a fresh process limited to `CHILD_MEMORY_BYTES` of address space and
    `CHILD_CPU_SECONDS` of CPU."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(case, sender), daemon=True)
    child.start()
    sender.close()
    received = None
    with contextlib.suppress(EOFError):  # the child died before sending
        if receiver.poll(CHILD_CPU_SECONDS * 6):
            received = receiver.recv()
    child.join(CHILD_CPU_SECONDS * 3)
    if child.is_alive():  # a child stuck off the CPU (the CPU limit would end one on it)
        child.kill()
        child.join()
    if received is None or child.exitcode != 0:
        return Outcome(f"killed (exit code {child.exitcode})", True, 0.0, 0.0)
    result, cpu, peak = received
    return Outcome(result, False, cpu, peak)


def main() -> None:
    for builder in CORPUS.builders + PAGES.builders:
        outcome = read_in_child(builder())
        told = outcome.told.replace("\n", " ")
        print(
            f"{builder.__name__:36} {outcome.cpu_seconds:6.2f} s {outcome.peak_mb:7.0f} MB  "
            f"{told[:100]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
