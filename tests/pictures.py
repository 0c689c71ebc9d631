"""Pictures for tests, as a person would attach them in Slack."""

from __future__ import annotations

import io

from PIL import Image

from sandbox.workspace import UploadedFile

MIMETYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "PDF": "application/pdf"}


def picture(
    name: str, width: int, height: int, *, kind: str = "PNG", colour: str = "orange"
) -> UploadedFile:
    """A plain picture of that size, saved as `kind` (a PDF of it reads like a scan)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, kind)
    return UploadedFile(name, MIMETYPES[kind], out.getvalue())


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size
