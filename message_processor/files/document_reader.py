"""Documents attached to a message: downloaded, read in a worker process, remembered.

The text is stored with the thread, so follow-ups read it from the database instead of
downloading and parsing the file again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from message_processor.files.attachments import Attachments
from message_processor.files.image_reader import model_image, shown_name
from message_processor.memory import ThreadMemory
from slack_client import FileDownloadError, IncomingMessage, SharedFile, SlackFiles
from storage import StoredDocument
from untrusted.budget import ByteBudget, OnWait
from untrusted.documents import MAX_DOCUMENT_BYTES
from untrusted.pool import UnreadableInput
from untrusted.readers import ReadDocument, UntrustedReaders

logger = logging.getLogger(__name__)

# Documents read per message; each may be 50 MB and take a worker for seconds.
MAX_DOCUMENTS_PER_MESSAGE = 10

SCANNED_NOW = "scanned, sent as an image"
SCANNED_BEFORE = "scanned; shown to you as an image when it was shared, not available now"


def document_block(name: str, text: str, cuts: Sequence[str] = ()) -> str:
    """How a document appears to the model: labelled with its name, cuts stated."""
    note = "".join(f"\n[Left out: {cut}]" for cut in cuts)
    return f"[File: {name}]{note}\n{text}\n[End of file: {name}]"


class DocumentReader:
    def __init__(self, files: SlackFiles, readers: UntrustedReaders, budget: ByteBudget) -> None:
        self._files = files
        self._readers = readers
        self._budget = budget

    async def read(
        self,
        message: IncomingMessage,
        files: Sequence[SharedFile],
        memory: ThreadMemory,
        on_wait: OnWait | None = None,
    ) -> Attachments:
        read = Attachments()
        for file in files[MAX_DOCUMENTS_PER_MESSAGE:]:
            read.unread.append(
                f"{shown_name(file.name)}: only the first {MAX_DOCUMENTS_PER_MESSAGE} documents"
                " of a message are read"
            )
        files = files[:MAX_DOCUMENTS_PER_MESSAGE]
        results = await asyncio.gather(
            *(self._one(message, file, memory, on_wait) for file in files)
        )
        for file, result in zip(files, results, strict=True):
            name = shown_name(file.name)
            if isinstance(result, str):
                read.unread.append(f"{name}: {result}")
                continue
            read.documents.append(document_block(file.name, result.text, result.cuts))
            # Scanned pages, for the model to read as images.
            read.images += [model_image(page) for page in result.pages]
            read.partly_read += [f"{name}: {cut}" for cut in result.cuts]
        return read

    async def _one(
        self,
        message: IncomingMessage,
        file: SharedFile,
        memory: ThreadMemory,
        on_wait: OnWait | None,
    ) -> ReadDocument | str:
        size = file.size if 0 < file.size <= MAX_DOCUMENT_BYTES else MAX_DOCUMENT_BYTES
        try:
            async with self._budget.hold(size, on_wait):
                data = await self._files.download(file, max_bytes=MAX_DOCUMENT_BYTES)
                document = await self._readers.document(file.name, file.mimetype, data, on_wait)
        except (FileDownloadError, UnreadableInput) as error:
            logger.info("document not read: file=%s reason=%s", file.id, error)
            return str(error)
        if document.unusable_pages:
            logger.info(
                "scanned pages not used: file=%s pages=%d", file.id, document.unusable_pages
            )
        # Follow-ups get the text only: the scanned pages are not sent again.
        kept = document_block(
            file.name, document.text.replace(SCANNED_NOW, SCANNED_BEFORE), document.cuts
        )
        memory.add_document(StoredDocument(file.id, message.ts, file.name, kept))
        return document
