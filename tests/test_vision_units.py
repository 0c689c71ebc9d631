"""Unit tests for what the model gets of attached images, and where the bot token may go."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image
from slack_sdk.web.async_client import AsyncWebClient

from openai_client import ChatTurn, ModelImage, TokenCounter
from slack_client import SlackFiles
from untrusted.images import ImageRejected, fit_image


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def test_a_large_image_is_scaled_to_the_models_limits() -> None:
    fitted = fit_image(encoded(Image.new("RGB", (3000, 1000), "navy"), "PNG"))
    assert (fitted.width, fitted.height, fitted.mime) == (2048, 683, "image/png")
    with Image.open(io.BytesIO(fitted.data)) as image:
        assert image.size == (2048, 683)


def test_a_tall_photo_keeps_its_short_side_under_768() -> None:
    fitted = fit_image(encoded(Image.new("RGB", (1500, 4000), "teal"), "JPEG"))
    assert (fitted.width, fitted.height, fitted.mime) == (768, 2048, "image/jpeg")


def test_an_image_within_the_limits_is_sent_as_it_came() -> None:
    data = encoded(Image.new("RGB", (640, 480), "red"), "JPEG")
    fitted = fit_image(data)
    assert (fitted.data, fitted.mime, fitted.width, fitted.height) == (
        data,
        "image/jpeg",
        640,
        480,
    )


def test_an_animated_gif_becomes_its_first_frame() -> None:
    frames = [Image.new("P", (40, 30), colour) for colour in (1, 2, 3)]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    fitted = fit_image(data)
    assert (fitted.mime, fitted.width, fitted.height) == ("image/png", 40, 30)


def _broken_chunk(png: bytes) -> bytes:
    """The PNG with the length of its second chunk zeroed: its type reads as garbage."""
    return png[:36] + b"\x00" + png[37:]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7 not an image", "could not be read as an image"),
        (encoded(Image.new("RGB", (8, 8)), "BMP"), "not a PNG, JPEG, GIF or WebP"),
        (encoded(Image.new("1", (8000, 7000)), "PNG"), "too many pixels"),
        # Pillow says SyntaxError of a broken chunk (found by bench/fuzz.py).
        (_broken_chunk(encoded(Image.new("RGB", (64, 48)), "PNG")), "could not be read"),
    ],
)
def test_what_is_not_a_usable_image_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected, match=reason):
        fit_image(data)


def test_an_image_costs_tokens_by_its_tiles() -> None:
    image = ModelImage(data=b"", mime="image/png", width=2048, height=683)
    counter = TokenCounter()
    plain = counter.count_turn(ChatTurn("user", "look"))
    assert counter.count_turn(ChatTurn("user", "look", images=(image,))) == plain + 85 + 170 * 8


@pytest.mark.parametrize(
    ("api_url", "file_url", "trusted"),
    [
        ("https://slack.com/api/", "https://files.slack.com/files-pri/T1-F1/a.png", True),
        ("https://slack.com/api/", "http://files.slack.com/files-pri/T1-F1/a.png", False),
        ("https://slack.com/api/", "https://files.slack.com.evil.example/a.png", False),
        ("https://slack.com/api/", "https://example.com/files-pri/T1-F1/a.png", False),
        ("http://127.0.0.1:8123/api/", "http://127.0.0.1:8123/files-pri/T1-F1/a.png", True),
        ("http://127.0.0.1:8123/api/", "http://127.0.0.1:9999/files-pri/T1-F1/a.png", False),
    ],
)
async def test_the_bot_token_goes_to_slacks_file_host_only(
    api_url: str, file_url: str, trusted: bool
) -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token="xoxb-test", base_url=api_url, session=session)
        files = SlackFiles(session, "xoxb-test", api_url, client)
        assert files.is_slack_host(file_url) is trusted


def test_a_phone_photo_is_turned_upright_before_it_is_scaled() -> None:
    photo = Image.new("RGB", (4000, 3000), "gray")
    exif = photo.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    fitted = fit_image(encoded(photo, "JPEG", exif=exif))
    assert (fitted.width, fitted.height) == (768, 1024)


def test_a_damaged_image_is_refused_before_the_model_sees_it() -> None:
    whole = encoded(Image.new("RGB", (300, 200), "blue"), "PNG")
    with pytest.raises(ImageRejected, match="could not be read"):
        fit_image(whole[: len(whole) // 2])
