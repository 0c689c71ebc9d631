"""Vision: the images attached to a message, fetched from Slack and made fit for the model.

Decoding and resizing run in the worker processes (`untrusted`), each download holding
its share of the bot-wide byte budget until its worker is done; a file that cannot be
used becomes a one-line reason and the rest of the message is still answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence

from message_processor.files.attachments import Attachments
from message_processor.files.link_policy import LinkRefused
from message_processor.files.links import LinkFetcher, image_links
from openai_client import ModelImage
from slack_client import FileDownloadError, SharedFile, SlackFiles
from untrusted.budget import ByteBudget, OnWait
from untrusted.images import MAX_IMAGE_BYTES, FittedImage
from untrusted.pool import ReadersUnavailable, UnreadableInput
from untrusted.readers import UntrustedReaders

logger = logging.getLogger(__name__)

IMAGE_MIMETYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_IMAGES_PER_MESSAGE = 10
# Fitted images kept in memory for follow-ups in the same threads.
IMAGE_CACHE_BYTES = 64 * 2**20
# Files and links that could not be used, remembered with their reason for a while
# (a failure may be passing).
FAILURES_REMEMBERED = 1024
FAILURE_MEMORY_SECONDS = 600.0
# A file that its worker could not read is the same file tomorrow: reading it again at
# every follow-up would spend a worker's whole bound each time.
UNREADABLE_MEMORY_SECONDS = 24 * 3600.0
# Images of earlier messages sent with a follow-up, newest first.
MAX_THREAD_IMAGES = 20
# A link or file name shown in a note is cut to this: it came from the message.
SHOWN_NAME_CHARS = 120


def is_image(file: SharedFile) -> bool:
    return file.mimetype in IMAGE_MIMETYPES


def model_image(image: FittedImage) -> ModelImage:
    return ModelImage.encode(image.data, image.mime, image.width, image.height)


def shown_name(name: str) -> str:
    """A name or link as a note shows it: cut short, since it may be anything at all."""
    return name if len(name) <= SHOWN_NAME_CHARS else name[: SHOWN_NAME_CHARS - 1] + "…"


# Where an image comes from: a file attached in Slack, or a link pasted in the text.
ImageSource = SharedFile | str


def source_key(source: ImageSource) -> str:
    return source.id if isinstance(source, SharedFile) else source


def source_name(source: ImageSource) -> str:
    return shown_name(source.name if isinstance(source, SharedFile) else source)


class ImageReader:
    """Reads attached and linked images, remembering recent ones: a thread's images go
    to the model with every follow-up, and fetching and resizing them each time would
    cost the user seconds and Slack's rate limits."""

    def __init__(
        self,
        files: SlackFiles,
        links: LinkFetcher,
        readers: UntrustedReaders,
        budget: ByteBudget,
    ) -> None:
        self._files = files
        self._links = links
        self._readers = readers
        self._budget = budget
        self._cache: OrderedDict[str, ModelImage] = OrderedDict()
        self._cached_bytes = 0
        # Reason, and until when it stands.
        self._failed: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def read(
        self, files: Sequence[SharedFile], text: str, on_wait: OnWait | None = None
    ) -> Attachments:
        """The message's image files and image links; what cannot be used is named with
        its reason. `on_wait` is called if the files must wait for the byte budget."""
        attached = Attachments()
        sources: list[ImageSource] = [file for file in files if is_image(file)]
        sources += image_links(text)
        attached.past_the_limit(len(sources), MAX_IMAGES_PER_MESSAGE, "image", "images")
        sources = sources[:MAX_IMAGES_PER_MESSAGE]
        results = await asyncio.gather(*(self._one(source, on_wait) for source in sources))
        for source, result in zip(sources, results, strict=True):
            if isinstance(result, ModelImage):
                attached.images.append(result)
            else:
                attached.unread.append(f"{source_name(source)}: {result}")
        return attached

    async def read_earlier(self, sources: Sequence[ImageSource]) -> dict[str, ModelImage]:
        """Images of earlier messages, by `source_key`; ones that fail are left out (the
        user was told when they were first attached)."""
        results = await asyncio.gather(*(self._one(source) for source in sources))
        return {
            source_key(source): result
            for source, result in zip(sources, results, strict=True)
            if isinstance(result, ModelImage)
        }

    async def _one(self, source: ImageSource, on_wait: OnWait | None = None) -> ModelImage | str:
        key = source_key(source)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        failed = self._failed.get(key)
        if failed is not None and time.monotonic() < failed[1]:
            # Follow-ups do not wait again on a link that just failed (up to 10 s each).
            return failed[0]
        # A file's size is known before its download; a link's is not, so it holds the most.
        size = source.size if isinstance(source, SharedFile) and source.size > 0 else 0
        try:
            async with self._budget.hold(size or MAX_IMAGE_BYTES, on_wait):
                if isinstance(source, SharedFile):
                    data = await self._files.download(source, max_bytes=MAX_IMAGE_BYTES)
                else:
                    fetched = await self._links.fetch(source, content_types=IMAGE_MIMETYPES)
                    data = fetched.data
                image = model_image(await self._readers.fit_image(data, on_wait))
        except ReadersUnavailable as error:
            return str(error)  # the bot's trouble, not the file's: nothing to remember
        except (FileDownloadError, LinkRefused, UnreadableInput) as error:
            logger.info("image not used: source=%s reason=%s", shown_name(key), error)
            lasting = isinstance(error, UnreadableInput) and isinstance(source, SharedFile)
            memory = UNREADABLE_MEMORY_SECONDS if lasting else FAILURE_MEMORY_SECONDS
            self._failed[key] = (str(error), time.monotonic() + memory)
            while len(self._failed) > FAILURES_REMEMBERED:
                self._failed.popitem(last=False)
            return str(error)
        self._remember(key, image)
        return image

    def _remember(self, key: str, image: ModelImage) -> None:
        if key in self._cache:
            return
        self._cache[key] = image
        self._cached_bytes += _held_bytes(image)
        while self._cached_bytes > IMAGE_CACHE_BYTES and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= _held_bytes(dropped)


def _held_bytes(image: ModelImage) -> int:
    """What a cached image holds in memory: its bytes and its data URL."""
    return len(image.data) + len(image.encoded)
