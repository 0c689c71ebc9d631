"""The zip packages of Word and Excel files: opening one only when it is sound (refusing
encrypted and legacy binary files, damaged zips and zip bombs before anything is unpacked),
feeding its XML parts to lxml parser targets a chunk at a time, and following the
relationships from one part to another.
"""

from __future__ import annotations

import io
import posixpath
import zipfile

from lxml import etree  # type: ignore[import-untyped]

from untrusted.documents.common import DocumentUnreadable, Enough, unsupported

# What a docx/xlsx zip may declare unpacked, in all and per part, and how many parts it may
# have: a small file could otherwise unpack to gigabytes.
MAX_UNPACKED_BYTES = 100 * 2**20
MAX_UNPACKED_PART_BYTES = 25 * 2**20
MAX_ZIP_ENTRIES = 10_000

# Word and Excel files are read straight from their XML with lxml parser targets: nothing
# is built but the text kept, and reading stops at the caps. python-docx and openpyxl are
# not used to read them: python-docx parses the whole body into a tree (a 71 KB file of
# empty paragraphs took 900 MB) and expands a cell's declared span (`row.cells`); openpyxl's
# read-only rows fill gaps in row numbers with empty rows; and both unpack parts with
# `ZipFile.read`, which inflates up to 2 GiB in one call before cutting to the declared size.

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_READ_CHUNK = 64 * 1024
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def open_office_zip(data: bytes, legacy: str) -> zipfile.ZipFile:
    """The zip of a Word or Excel file, refused before anything is unpacked when it is not a
    sound one: an encrypted Office file (an OLE compound file holding an EncryptedPackage), a
    legacy binary file (`legacy` names it), a damaged zip, one with too many entries, or one
    that declares more than `MAX_UNPACKED_BYTES` unpacked."""
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_PACKAGE in data:
            raise DocumentUnreadable("it is password-protected")
        raise unsupported(legacy)
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


class Part:
    """Base of the lxml parser targets that read Office XML parts. Office XML has no DTD, and
    one is refused: libxml2 expands a DTD's internal entities for a target even with
    `resolve_entities=False`."""

    def doctype(self, name: str, public_id: str | None, system_url: str | None) -> None:
        raise DocumentUnreadable("it looks damaged")

    def close(self) -> None:
        return None


def parse_part(archive: zipfile.ZipFile, name: str, target: Part) -> bool:
    """Feeds one XML part to `target` a chunk at a time; False if the target stopped reading
    (`Enough`) before the end. zipfile inflates no more than each read asks for, and never
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
    except Enough:
        return False
    return True


class _Relationships(Part):
    def __init__(self) -> None:
        self.found: dict[str, tuple[str, str]] = {}  # id -> (type, target)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _RELATIONSHIP and attrib.get("TargetMode") != "External":
            self.found[attrib.get("Id", "")] = (attrib.get("Type", ""), attrib.get("Target", ""))


def relationships(archive: zipfile.ZipFile, source: str) -> dict[str, tuple[str, str]]:
    """The relationships of part `source` ("" for the package): id -> (type, part name)."""
    folder, base = posixpath.split(source)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in archive.NameToInfo:
        return {}
    target = _Relationships()
    parse_part(archive, rels, target)
    return {rid: (kind, _part_name(folder, path)) for rid, (kind, path) in target.found.items()}


def _part_name(folder: str, target: str) -> str:
    """The zip entry a relationship's target names, from the folder of its source part."""
    path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
    return posixpath.normpath(path)


def related_part(relationships: dict[str, tuple[str, str]], kind: str) -> str | None:
    """The first part of a relationship type (named by its last path segment)."""
    return next((path for rel, path in relationships.values() if rel.endswith("/" + kind)), None)


def main_part(archive: zipfile.ZipFile) -> str:
    main = related_part(relationships(archive, ""), "officeDocument")
    if main is None:
        raise DocumentUnreadable("it looks damaged")
    return main


def decimal(value: str | None, default: int) -> int:
    """A non-negative decimal attribute, `default` if it is not one; huge ones are capped."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit():
        return default
    return int(value) if len(value) <= 9 else 10**9
