"""Images, as the fake reads and makes them: vision inputs (base64 data URLs decoded with
Pillow, http(s) URLs recorded but not fetched), image orders (what a generation or an edit
asks for, validated as the real API does), the solid-colour images it answers with, and the
files of an edit's multipart upload."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import math
import re
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

JsonDict = dict[str, Any]

# Vision inputs: what the real API accepts in a data URL, and its size limit.
VISION_MIME_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_VISION_IMAGE_BYTES = 20 * 1024 * 1024
# Image edits: the upload types the real API accepts, and its per-file limit.
EDIT_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_EDIT_IMAGE_BYTES = 50 * 1024 * 1024
DEFAULT_IMAGE_SIZE = (1024, 1024)
MAX_IMAGE_EDGE = 4096
MAX_IMAGES_PER_REQUEST = 10  # `n` of a generation or an edit


@dataclass(frozen=True)
class SeenImage:
    """An image a request carried, as the fake decoded it.

    `format` is Pillow's ("PNG", "JPEG", "GIF", "WEBP", "MPO" for multi-picture JPEGs), "URL"
    for an http(s) URL (0x0: never fetched) or "FILE" for a Responses `file_id`; `mime` is the
    data URL's or the upload's MIME type ("" for URLs and files). `message_index` is the
    position in `input` / `messages` of the item that carried the image; it is left out of
    comparisons so tests can compare against the six other fields.
    """

    width: int
    height: int
    format: str
    mime: str
    detail: str | None
    in_last_user_message: bool
    message_index: int = field(default=0, compare=False)

    def describe(self) -> str:
        return f"{self.width}x{self.height} {self.format}"


# --------------------------------------------------------------------------- vision inputs


class ImageError(ValueError):
    """An image the real API would refuse; answered with 400 and this code."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


_DATA_URL = re.compile(r"data:([^,;]*)((?:;[^,;]*)*),(.*)", re.DOTALL)
# What Pillow may call an image of the accepted types (MPO: a JPEG with several pictures).
_VISION_FORMATS = frozenset({"PNG", "JPEG", "MPO", "GIF", "WEBP"})
_EDIT_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP"})
# What Pillow raises on bytes it cannot read, besides UnidentifiedImageError (an OSError).
_UNREADABLE = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)


def open_image(data: bytes) -> tuple[int, int, str]:
    """(width, height, Pillow format) of an encoded image; ValueError if it is not one.

    Only the header is decoded and the file's structure checked (`verify`), so large images
    cost little; a truncated PNG fails, a JPEG with corrupt pixel data may pass.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height, image_format = image.width, image.height, image.format or ""
            image.verify()
    except UnidentifiedImageError:
        raise ValueError("not an image file Pillow can identify") from None
    except _UNREADABLE as error:
        raise ValueError(f"cannot read the image: {error}") from None
    return width, height, image_format


def _unsupported_image(reason: str) -> ImageError:
    formats = ", ".join(f"'{mime}'" for mime in VISION_MIME_TYPES)
    message = (
        f"The image data you provided does not represent a valid image ({reason}). Please "
        f"check your input and try again with one of the supported image formats: [{formats}]."
    )
    return ImageError(message, code="invalid_image_format")


def decode_image_url(url: str, *, detail: str | None, message_index: int) -> SeenImage:
    """A vision input's image: a base64 data URL decoded with Pillow, or an http(s) URL."""
    if url.startswith(("https://", "http://")):
        return SeenImage(0, 0, "URL", "", detail, False, message_index)
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise ImageError(
            f"Invalid image URL: expected a base64 data URL or an http(s) URL, got {url[:40]!r}.",
            code="invalid_image_url",
        )
    mime, parameters, data = match.group(1).lower(), match.group(2), match.group(3)
    if mime not in VISION_MIME_TYPES:
        raise _unsupported_image(f"unsupported MIME type {mime!r}")
    if ";base64" not in parameters.lower():
        raise _unsupported_image("the data URL is not base64-encoded")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _unsupported_image("the data is not valid base64") from None
    if len(raw) > MAX_VISION_IMAGE_BYTES:
        raise ImageError(
            f"Image too large: {len(raw)} bytes, the limit is 20 MB "
            f"({MAX_VISION_IMAGE_BYTES} bytes).",
            code="image_too_large",
        )
    try:
        width, height, image_format = open_image(raw)
    except ValueError as error:
        raise _unsupported_image(str(error)) from None
    if image_format not in _VISION_FORMATS:
        raise _unsupported_image(f"the data is a {image_format} image")
    return SeenImage(width, height, image_format, mime, detail, False, message_index)


# --------------------------------------------------------------------------- generations and edits


_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")
_OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_BACKGROUNDS = ("auto", "opaque", "transparent")
# The qualities ImagesResponse may echo; "auto" (and anything else) is answered as "medium".
_QUALITIES = ("low", "medium", "high", "xhigh", "max")
# Output tokens of one 1024x1024 image (gpt-image-1's published figures for low to high).
_QUALITY_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320}
_IMAGE_FIELD = re.compile(r"image(?:\[\d*\])?")


@dataclass(frozen=True)
class ImageOrder:
    """What an image generation or edit asked for, validated."""

    prompt: str
    width: int
    height: int
    count: int
    output_format: str  # "png", "jpeg" or "webp"
    quality: str  # as echoed: one of _QUALITIES
    transparent: bool


def image_order(body: JsonDict, prompt: str, default_size: tuple[int, int]) -> ImageOrder:
    """The request's image parameters; ImageError (`invalid_value`) for one the API refuses.

    Multipart fields arrive as strings, so `n` may be "2"."""
    size = body.get("size")
    if size is None or size == "auto":
        width, height = default_size
    else:
        match = _SIZE.fullmatch(str(size))
        edges = [int(edge) for edge in match.groups()] if match else []
        if not edges or not all(1 <= edge <= MAX_IMAGE_EDGE for edge in edges):
            raise _invalid_value("size", size, f"'WIDTHxHEIGHT' (edges up to {MAX_IMAGE_EDGE})")
        width, height = edges
    count = _integer(body.get("n", 1))
    if count is None or not 1 <= count <= MAX_IMAGES_PER_REQUEST:
        raise _invalid_value("n", body.get("n"), f"integers from 1 to {MAX_IMAGES_PER_REQUEST}")
    output_format = body.get("output_format") or "png"
    if output_format not in _OUTPUT_FORMATS:
        raise _invalid_value("output_format", output_format, "'png', 'jpeg' and 'webp'")
    background = body.get("background") or "auto"
    if background not in _BACKGROUNDS:
        raise _invalid_value("background", background, "'auto', 'opaque' and 'transparent'")
    transparent = background == "transparent"
    if transparent and output_format == "jpeg":
        raise ImageError(
            "A transparent background needs output_format 'png' or 'webp'.",
            code="invalid_value",
            param="background",
        )
    quality = body.get("quality")
    quality = quality if quality in _QUALITIES else "medium"
    return ImageOrder(prompt, width, height, count, output_format, quality, transparent)


def _invalid_value(param: str, value: object, supported: str) -> ImageError:
    message = f"Invalid value for '{param}': {value!r}. Supported values are: {supported}."
    return ImageError(message, code="invalid_value", param=param)


def _integer(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def images_response(order: ImageOrder, inputs: tuple[SeenImage, ...] = ()) -> JsonDict:
    """An ImagesResponse: `order.count` solid-colour images (the colour follows the prompt).

    GPT image models return base64 only: no `url` and no `revised_prompt`."""
    encoded = _render_image(
        order.width, order.height, _colour(order.prompt), order.output_format, order.transparent
    )
    text_tokens = max(1, len(order.prompt) // 4)
    image_tokens = sum(_input_image_tokens(image) for image in inputs)
    scale = order.width * order.height / (1024 * 1024)
    output_tokens = max(1, round(_QUALITY_TOKENS[order.quality] * scale)) * order.count
    return {
        "created": int(time.time()),
        "background": "transparent" if order.transparent else "opaque",
        "data": [{"b64_json": encoded} for _ in range(order.count)],
        "output_format": order.output_format,
        "quality": order.quality,
        "size": f"{order.width}x{order.height}",
        "usage": {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": output_tokens,
            "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
            "total_tokens": text_tokens + image_tokens + output_tokens,
        },
    }


def _colour(prompt: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(prompt.encode()).digest()
    return digest[0], digest[1], digest[2]


def _input_image_tokens(image: SeenImage) -> int:
    """Rough vision pricing: 85 tokens, plus 170 per 512-pixel tile."""
    tiles = math.ceil(image.width / 512) * math.ceil(image.height / 512)
    return 85 + 170 * tiles


@functools.lru_cache(maxsize=32)
def _render_image(
    width: int, height: int, colour: tuple[int, int, int], output_format: str, transparent: bool
) -> str:
    """A solid-colour image, base64-encoded. Cached: tests ask for the same few again and again."""
    image = (
        Image.new("RGBA", (width, height), (*colour, 0))
        if transparent
        else Image.new("RGB", (width, height), colour)
    )
    buffer = io.BytesIO()
    image.save(buffer, format=_OUTPUT_FORMATS[output_format])
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    field: str
    mime: str  # the part's Content-Type, without parameters
    data: bytes


def edit_images(uploads: list[Upload]) -> tuple[list[SeenImage], SeenImage | None]:
    """An edit's input images (`image`, `image[]` parts, in order) and its mask."""
    images: list[SeenImage] = []
    mask: SeenImage | None = None
    for upload in uploads:
        if upload.field == "mask":
            mask = _decode_upload(upload, frozenset({"PNG"}))
        elif _IMAGE_FIELD.fullmatch(upload.field):
            images.append(_decode_upload(upload, _EDIT_FORMATS))
    return images, mask


def _decode_upload(upload: Upload, formats: frozenset[str]) -> SeenImage:
    name = upload.field
    if upload.mime not in EDIT_MIME_TYPES:
        raise ImageError(
            f"Invalid file '{name}': unsupported mimetype ('{upload.mime}'). Supported file "
            "formats are 'image/jpeg', 'image/png', and 'image/webp'.",
            code="unsupported_file_mimetype",
            param=name,
        )
    if len(upload.data) > MAX_EDIT_IMAGE_BYTES:
        raise ImageError(
            f"Invalid file '{name}': {len(upload.data)} bytes, the limit is 50 MB.",
            code="image_too_large",
            param=name,
        )
    try:
        width, height, image_format = open_image(upload.data)
    except ValueError as error:
        raise ImageError(
            f"Invalid image file '{name}': {error}.", code="invalid_image_format", param=name
        ) from None
    if image_format not in formats:
        expected = ", ".join(sorted(formats))
        raise ImageError(
            f"Invalid image file '{name}': a {image_format} image, expected {expected}.",
            code="invalid_image_format",
            param=name,
        )
    return SeenImage(width, height, image_format, upload.mime, None, True, 0)
