"""Vision: the images attached to a message, fetched from Slack and made fit for the model.

Decoding and resizing are CPU work, so they run in a worker thread; a file that cannot
be used becomes a one-line reason and the rest of the message is still answered.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from message_processor.handlers.attached import Attachments
from message_processor.links import LinkFetcher, LinkRefused, image_links
from openai_client import ModelImage
from slack_client import FileDownloadError, SharedFile, SlackFiles

logger = logging.getLogger(__name__)

IMAGE_MIMETYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_IMAGES_PER_MESSAGE = 10
MAX_IMAGE_BYTES = 20 * 2**20
# OpenAI reads an image at most 2048 pixels on its long side and 768 on its short side
# (high detail); anything larger only costs upload time.
MAX_LONG_SIDE = 2048
MAX_SHORT_SIDE = 768
# Refused before decoding: a small file can unpack into gigabytes of pixels.
MAX_PIXELS = 25_000_000
# Images decoded at once: each may take hundreds of megabytes while it is resized.
DECODES_AT_ONCE = 2
ORIENTATION = 0x0112  # the EXIF tag
JPEG_QUALITY = 85
# Fitted images kept in memory for follow-ups in the same threads.
IMAGE_CACHE_BYTES = 64 * 2**20
# Files and links that could not be used, remembered with their reason for a while
# (a failure may be passing).
FAILURES_REMEMBERED = 1024
FAILURE_MEMORY_SECONDS = 600.0
# Images of earlier messages sent with a follow-up, newest first.
MAX_THREAD_IMAGES = 20


class ImageRejected(Exception):
    """The bytes are not an image the model can take; the message says why."""


def is_image(file: SharedFile) -> bool:
    return file.mimetype in IMAGE_MIMETYPES


def _decoded(image: Image.Image) -> str:
    """Decodes an opened image of a kind the model takes, within the pixel cap; its kind."""
    kind = image.format or ""
    if kind not in ("PNG", "JPEG", "GIF", "WEBP"):
        raise ImageRejected("it is not a PNG, JPEG, GIF or WebP image")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(f"it has too many pixels ({width}x{height})")
    image.load()
    return kind


def image_size(data: bytes) -> tuple[int, int]:
    """The size of an image the model takes, decoded whole to be sure it is sound."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            _decoded(image)
            return image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
        raise ImageRejected("it could not be read as an image") from error


def fit_image(data: bytes) -> ModelImage:
    """The image as the model should get it: decoded whole (a damaged file is refused
    here, not by the API), upright, first frame only, within the size limits."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = _decoded(image)
            upright = ImageOps.exif_transpose(image)
            turned = upright.size != image.size or image.getexif().get(ORIENTATION, 1) != 1
            width, height = upright.size
            scale = min(
                1.0, MAX_LONG_SIDE / max(width, height), MAX_SHORT_SIDE / min(width, height)
            )
            # GIFs become a PNG of their first frame: the API takes no animations.
            if scale == 1.0 and not turned and kind != "GIF" and len(data) <= MAX_IMAGE_BYTES:
                return ModelImage.encode(data, Image.MIME[kind], width, height)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = upright.convert("RGB" if kind == "JPEG" else "RGBA").resize(
                size, Image.Resampling.LANCZOS
            )
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
        raise ImageRejected("it could not be read as an image") from error
    out = io.BytesIO()
    if kind == "JPEG":
        frame.save(out, "JPEG", quality=JPEG_QUALITY)
        return ModelImage.encode(out.getvalue(), "image/jpeg", size[0], size[1])
    frame.save(out, "PNG")
    return ModelImage.encode(out.getvalue(), "image/png", size[0], size[1])


# Where an image comes from: a file attached in Slack, or a link pasted in the text.
ImageSource = SharedFile | str


def source_key(source: ImageSource) -> str:
    return source.id if isinstance(source, SharedFile) else source


def source_name(source: ImageSource) -> str:
    return source.name if isinstance(source, SharedFile) else source


class ImageReader:
    """Reads attached and linked images, remembering recent ones: a thread's images go
    to the model with every follow-up, and fetching and resizing them each time would
    cost the user seconds and Slack's rate limits."""

    def __init__(
        self, files: SlackFiles, links: LinkFetcher, cache_bytes: int = IMAGE_CACHE_BYTES
    ) -> None:
        self._files = files
        self._links = links
        self._cache: OrderedDict[str, ModelImage] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self._decoding = asyncio.Semaphore(DECODES_AT_ONCE)
        self._failed: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def read(self, files: Sequence[SharedFile], text: str) -> Attachments:
        """The message's image files and image links; what cannot be used is named with
        its reason."""
        attached = Attachments()
        sources: list[ImageSource] = [file for file in files if is_image(file)]
        sources += image_links(text)
        for source in sources[MAX_IMAGES_PER_MESSAGE:]:
            attached.unread.append(
                f"{source_name(source)}: only the first {MAX_IMAGES_PER_MESSAGE} images"
                " of a message are read"
            )
        sources = sources[:MAX_IMAGES_PER_MESSAGE]
        results = await asyncio.gather(*(self._one(source) for source in sources))
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

    async def _one(self, source: ImageSource) -> ModelImage | str:
        key = source_key(source)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        failed = self._failed.get(key)
        if failed is not None and time.monotonic() - failed[1] < FAILURE_MEMORY_SECONDS:
            # Follow-ups do not wait again on a link that just failed (up to 10 s each).
            return failed[0]
        try:
            if isinstance(source, SharedFile):
                data = await self._files.download(source, max_bytes=MAX_IMAGE_BYTES)
            else:
                data = await self._links.fetch(source, content_types=IMAGE_MIMETYPES)
            async with self._decoding:
                image = await asyncio.to_thread(fit_image, data)
        except (FileDownloadError, LinkRefused, ImageRejected) as error:
            logger.info("image not used: source=%s reason=%s", key, error)
            self._failed[key] = (str(error), time.monotonic())
            while len(self._failed) > FAILURES_REMEMBERED:
                self._failed.popitem(last=False)
            return str(error)
        self._remember(key, image)
        return image

    def _remember(self, key: str, image: ModelImage) -> None:
        if key in self._cache:
            return
        self._cache[key] = image
        self._cached_bytes += len(image.data)
        while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped.data)
