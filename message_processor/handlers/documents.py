"""Documents attached to a message: downloaded, read into text off the loop, remembered.

The text is stored with the thread, so follow-ups read it from the database instead of
downloading and parsing the file again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from database import Database
from message_processor.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentUnreadable,
    ExtractedDocument,
    UnsupportedDocument,
    extract_document,
    is_pdf,
)
from message_processor.handlers.attached import Attachments
from message_processor.handlers.vision import ImageRejected, fit_image
from openai_client import ModelImage
from slack_client import FileDownloadError, IncomingMessage, SharedFile, SlackFiles

logger = logging.getLogger(__name__)

# A document that takes longer than this to read is reported as such.
READ_SECONDS = 60.0


SCANNED_NOW = "scanned, sent as an image"
SCANNED_BEFORE = "scanned; shown to you as an image when it was shared, not available now"


def document_block(name: str, text: str, cuts: Sequence[str] = ()) -> str:
    """How a document appears to the model: labelled with its name, cuts stated."""
    note = "".join(f"\n[Left out: {cut}]" for cut in cuts)
    return f"[File: {name}]{note}\n{text}\n[End of file: {name}]"


class DocumentReader:
    def __init__(self, files: SlackFiles, db: Database) -> None:
        self._files = files
        self._db = db
        # PDFium is not thread-safe: one PDF at a time goes to a worker thread.
        self._pdfium = asyncio.Lock()

    async def read(self, message: IncomingMessage, files: Sequence[SharedFile]) -> Attachments:
        read = Attachments()
        results = await asyncio.gather(*(self._one(message, file) for file in files))
        for file, result in zip(files, results, strict=True):
            if isinstance(result, str):
                read.unread.append(f"{file.name}: {result}")
                continue
            document, pages = result
            read.documents.append(document_block(file.name, document.text, document.cuts))
            # Scanned pages, for the model to read as images.
            read.images += pages
            read.partly_read += [f"{file.name}: {cut}" for cut in document.cuts]
        return read

    async def _one(
        self, message: IncomingMessage, file: SharedFile
    ) -> tuple[ExtractedDocument, list[ModelImage]] | str:
        try:
            data = await self._files.download(file, max_bytes=MAX_DOCUMENT_BYTES)
            document = await self._extract(file, data)
        except (FileDownloadError, UnsupportedDocument, DocumentUnreadable) as error:
            logger.info("document not read: file=%s reason=%s", file.id, error)
            return str(error)
        pages: list[ModelImage] = []
        for page in document.page_images:
            try:
                pages.append(await asyncio.to_thread(fit_image, page))
            except ImageRejected as error:
                logger.info("scanned page not used: file=%s reason=%s", file.id, error)
        await self._db.add_document(
            message.channel,
            message.thread_ts,
            message.ts,
            file.id,
            file.name,
            # Follow-ups get the text only: the scanned pages are not sent again.
            document_block(
                file.name,
                document.text.replace(SCANNED_NOW, SCANNED_BEFORE),
                document.cuts,
            ),
        )
        return document, pages

    async def _extract(self, file: SharedFile, data: bytes) -> ExtractedDocument:
        """Read within READ_SECONDS, waiting for PDFium included; past that the user is
        told, while the worker thread (which cannot be stopped) finishes on its own."""
        try:
            async with asyncio.timeout(READ_SECONDS):
                if not is_pdf(file.name, file.mimetype):
                    return await asyncio.to_thread(extract_document, file.name, file.mimetype, data)
                await self._pdfium.acquire()
                job = asyncio.ensure_future(
                    asyncio.to_thread(extract_document, file.name, file.mimetype, data)
                )
                # Held exactly as long as PDFium works, however this wait ends.
                job.add_done_callback(lambda _: self._pdfium.release())
                return await asyncio.shield(job)
        except TimeoutError as error:
            raise DocumentUnreadable("it took too long to read") from error
