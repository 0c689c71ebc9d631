"""What is attached to a message, sorted by kind: images, documents, and the rest; and
the pages it links to."""

from __future__ import annotations

import asyncio

from message_processor.files.attachments import Attachments
from message_processor.files.document_reader import DocumentReader
from message_processor.files.image_reader import ImageReader, is_image, shown_name
from message_processor.files.page_reader import PageReader
from message_processor.memory import ThreadMemory
from slack_client import IncomingMessage
from untrusted.budget import OnWait
from untrusted.documents import SUPPORTED_KINDS_TEXT, is_document

UNSUPPORTED = (
    "I can't read this kind of file (I read images: PNG, JPEG, GIF, WebP;"
    f" and documents: {SUPPORTED_KINDS_TEXT})"
)


class AttachmentReader:
    def __init__(self, images: ImageReader, documents: DocumentReader, pages: PageReader) -> None:
        self._images = images
        self._documents = documents
        self._pages = pages

    async def read(
        self, message: IncomingMessage, memory: ThreadMemory, on_wait: OnWait | None = None
    ) -> Attachments:
        """What the files, image links and page links of `message` hold for the model
        (documents' and pages' text is kept in `memory` for follow-ups); `on_wait` is
        called once if they must wait for the bot-wide byte budget."""
        images = [f for f in message.files if is_image(f)]
        documents = [
            f for f in message.files if not is_image(f) and is_document(f.name, f.mimetype)
        ]
        others = [f for f in message.files if f not in images and f not in documents]
        pictures, read, pages = await asyncio.gather(
            self._images.read(images, message.text, on_wait),
            self._documents.read(message, documents, memory, on_wait),
            self._pages.read(message, memory, on_wait),
        )
        return (
            pictures
            + read
            + pages
            + Attachments(unread=[f"{shown_name(f.name)}: {UNSUPPORTED}" for f in others])
        )
