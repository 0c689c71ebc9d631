"""What is attached to a message, sorted by kind: images, documents, and the rest."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from message_processor.documents import SUPPORTED_KINDS_TEXT, is_document
from message_processor.handlers.documents import DocumentReader
from message_processor.handlers.vision import ImageReader, is_image
from openai_client import ModelImage
from slack_client import IncomingMessage

UNSUPPORTED = (
    "I can't read this kind of file (I read images: PNG, JPEG, GIF, WebP;"
    f" and documents: {SUPPORTED_KINDS_TEXT})"
)


@dataclass
class Attachments:
    images: list[ModelImage] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    # One line per file or link that could not be used, and per document only partly
    # read, each naming the file: for the model and the reply's footer.
    unread: list[str] = field(default_factory=list)
    partly_read: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.images or self.documents or self.unread)


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
        return Attachments(
            images=pictures.images + read.page_images,
            documents=read.blocks,
            unread=pictures.problems + read.problems + [f"{f.name}: {UNSUPPORTED}" for f in others],
            partly_read=read.cuts,
        )
