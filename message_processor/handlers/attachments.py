"""What is attached to a message, sorted by kind: images, documents, and the rest."""

from __future__ import annotations

import asyncio

from message_processor.documents import SUPPORTED_KINDS_TEXT, is_document
from message_processor.handlers.attached import Attachments
from message_processor.handlers.documents import DocumentReader
from message_processor.handlers.vision import ImageReader, is_image
from slack_client import IncomingMessage

UNSUPPORTED = (
    "I can't read this kind of file (I read images: PNG, JPEG, GIF, WebP;"
    f" and documents: {SUPPORTED_KINDS_TEXT})"
)


class AttachmentReader:
    def __init__(self, images: ImageReader, documents: DocumentReader) -> None:
        self._images = images
        self._documents = documents

    async def read(self, message: IncomingMessage) -> Attachments:
        images = [f for f in message.files if is_image(f)]
        documents = [
            f for f in message.files if not is_image(f) and is_document(f.name, f.mimetype)
        ]
        others = [f for f in message.files if f not in images and f not in documents]
        pictures, read = await asyncio.gather(
            self._images.read(images, message.text), self._documents.read(message, documents)
        )
        return pictures + read + Attachments(unread=[f"{f.name}: {UNSUPPORTED}" for f in others])
