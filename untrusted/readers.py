"""What the bot asks of its worker processes, with typed answers.

The workers answer in plain values; they are checked here before anything of the bot
uses them, because a worker reads hostile input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from untrusted.budget import OnWait
from untrusted.images import FittedImage
from untrusted.pages import MAX_PAGE_CHARS, MAX_TITLE_CHARS
from untrusted.pool import ReadFailed, WorkerPool


@dataclass(frozen=True)
class ReadDocument:
    kind: str
    text: str
    cuts: list[str] = field(default_factory=list)
    # Pages with no text layer, fitted for the model to read as images.
    pages: list[FittedImage] = field(default_factory=list)
    unusable_pages: int = 0


@dataclass(frozen=True)
class ReadPage:
    title: str  # "" when the page has none
    text: str
    cuts: list[str] = field(default_factory=list)


# A page's cuts are a few short sentences (a table's row, the text's length).
MAX_PAGE_CUTS = 10
MAX_CUT_CHARS = 500


class UntrustedReaders:
    """Documents, pages and images, read in the worker pool; every failure is an
    `UnreadableInput` whose message is the reason for the user. `on_wait` is called if
    the file must wait for a free worker."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool

    @property
    def pool(self) -> WorkerPool:
        return self._pool

    async def document(
        self, name: str, mimetype: str, data: bytes, on_wait: OnWait | None = None
    ) -> ReadDocument:
        answer = await self._pool.run("read_document", data, on_wait, name=name, mimetype=mimetype)
        if not isinstance(answer, dict):
            raise ReadFailed
        kind, text, cuts = answer.get("kind"), answer.get("text"), answer.get("cuts")
        pages, unusable = answer.get("pages"), answer.get("unusable_pages")
        if not (
            isinstance(kind, str)
            and isinstance(text, str)
            and isinstance(cuts, list)
            and all(isinstance(cut, str) for cut in cuts)
            and isinstance(pages, list)
            and isinstance(unusable, int)
        ):
            raise ReadFailed
        return ReadDocument(kind, text, cuts, [_image(page) for page in pages], unusable)

    async def page(
        self,
        data: bytes,
        content_type: str,
        charset: str | None,
        on_wait: OnWait | None = None,
    ) -> ReadPage:
        """A fetched page's main content and title, its HTML parsed in a worker."""
        answer = await self._pool.run(
            "read_page", data, on_wait, content_type=content_type, charset=charset
        )
        if not isinstance(answer, dict):
            raise ReadFailed
        title, text, cuts = answer.get("title"), answer.get("text"), answer.get("cuts")
        if not (
            isinstance(title, str)
            and isinstance(text, str)
            and isinstance(cuts, list)
            and all(isinstance(cut, str) and len(cut) <= MAX_CUT_CHARS for cut in cuts)
            # What a worker reading a page can send: more is a worker that went wrong.
            and len(title) <= MAX_TITLE_CHARS
            and len(text) <= MAX_PAGE_CHARS + MAX_CUT_CHARS
            and len(cuts) <= MAX_PAGE_CUTS
        ):
            raise ReadFailed
        return ReadPage(title, text, cuts)

    async def fit_image(self, data: bytes, on_wait: OnWait | None = None) -> FittedImage:
        return _image(await self._pool.run("fit_image", data, on_wait))

    async def image_size(self, data: bytes) -> tuple[int, int]:
        answer = await self._pool.run("image_size", data)
        if not (isinstance(answer, tuple) and len(answer) == 2 and _sizes(*answer)):
            raise ReadFailed
        return answer[0], answer[1]


def _sizes(*values: object) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)


def _image(value: object) -> FittedImage:
    if not (isinstance(value, tuple) and len(value) == 4):
        raise ReadFailed
    data, mime, width, height = value
    if not (isinstance(data, bytes) and isinstance(mime, str) and _sizes(width, height)):
        raise ReadFailed
    return FittedImage(data, mime, width, height)
