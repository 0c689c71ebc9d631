"""Decoding and fitting the images people attach or link, for the model and for edits.

Synchronous CPU work on untrusted bytes: it runs only in the worker processes of
`untrusted.pool`. A file that is not an image the model takes raises `ImageRejected`,
whose message is a short reason fit for a user.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 20 * 2**20
# OpenAI reads an image at most 2048 pixels on its long side and 768 on its short side
# (high detail); anything larger only costs upload time.
MAX_LONG_SIDE = 2048
MAX_SHORT_SIDE = 768
# Refused before decoding: a small file can unpack into gigabytes of pixels.
MAX_PIXELS = 25_000_000
ORIENTATION = 0x0112  # the EXIF tag
JPEG_QUALITY = 85


# What Pillow raises on a file it cannot decode; SyntaxError is its word for a broken
# chunk or header (found by bench/fuzz.py).
_NOT_AN_IMAGE = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    ValueError,
    SyntaxError,
)


class ImageRejected(Exception):
    """The bytes are not an image the model can take; the message says why."""


@dataclass(frozen=True)
class FittedImage:
    data: bytes
    mime: str
    width: int
    height: int


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
    except _NOT_AN_IMAGE as error:
        raise ImageRejected("it could not be read as an image") from error


def fit_image(data: bytes) -> FittedImage:
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
                return FittedImage(data, Image.MIME[kind], width, height)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = upright.convert("RGB" if kind == "JPEG" else "RGBA").resize(
                size, Image.Resampling.LANCZOS
            )
    except _NOT_AN_IMAGE as error:
        raise ImageRejected("it could not be read as an image") from error
    out = io.BytesIO()
    if kind == "JPEG":
        frame.save(out, "JPEG", quality=JPEG_QUALITY)
        return FittedImage(out.getvalue(), "image/jpeg", size[0], size[1])
    frame.save(out, "PNG")
    return FittedImage(out.getvalue(), "image/png", size[0], size[1])
