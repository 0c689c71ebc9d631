"""The jobs a worker process runs, by name, each answering in plain values only.

Each job takes the untrusted bytes as its first argument. A job that refuses its input
raises one of `REJECTIONS`, whose message is a short reason fit for a user.
"""

from __future__ import annotations

from collections.abc import Callable

from untrusted.documents import DocumentUnreadable, UnsupportedDocument, extract_document
from untrusted.images import FittedImage, ImageRejected, fit_image, image_size
from untrusted.pages import PageUnreadable, read_page

REJECTIONS = (UnsupportedDocument, DocumentUnreadable, ImageRejected, PageUnreadable)

# A fitted image as plain values: (data, mime, width, height).
PlainImage = tuple[bytes, str, int, int]


def _plain(image: FittedImage) -> PlainImage:
    return image.data, image.mime, image.width, image.height


def read_document(data: bytes, *, name: str, mimetype: str) -> dict[str, object]:
    """The document's text and cuts, and its scanned pages fitted for the model."""
    document = extract_document(name, mimetype, data)
    pages: list[PlainImage] = []
    unusable = 0
    for page in document.page_images:
        try:
            pages.append(_plain(fit_image(page)))
        except ImageRejected:
            unusable += 1
    return {
        "kind": document.kind,
        "text": document.text,
        "cuts": list(document.cuts),
        "pages": pages,
        "unusable_pages": unusable,
    }


def read_page_job(data: bytes, *, content_type: str, charset: str | None) -> dict[str, object]:
    """A pasted page's title, main text and cuts."""
    title, text, cuts = read_page(data, content_type, charset)
    return {"title": title, "text": text, "cuts": cuts}


def fit_image_job(data: bytes) -> PlainImage:
    return _plain(fit_image(data))


def image_size_job(data: bytes) -> tuple[int, int]:
    return image_size(data)


def preload() -> None:
    """Import every reader's libraries now: before the worker limits itself, and so the
    first file of each kind does not pay for the import."""
    import charset_normalizer  # noqa: F401
    import lxml.etree  # type: ignore[import-untyped]  # noqa: F401
    import openpyxl  # noqa: F401
    import pypdfium2  # noqa: F401
    import trafilatura  # noqa: F401
    import xlrd  # noqa: F401


JOBS: dict[str, Callable[..., object]] = {
    "read_document": read_document,
    "read_page": read_page_job,
    "fit_image": fit_image_job,
    "image_size": image_size_job,
}
