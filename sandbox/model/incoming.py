"""Reading a request's body before the server records it: a JSON object, or an image edit's
multipart form, with the images of a model call or of an edit decoded (a bad image is kept
as the rejection to answer once the request is known to be authorised)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from sandbox.model.images import ImageError, SeenImage, Upload, edit_images
from sandbox.model.prompts import Prompt, chat_prompt, responses_prompt

JsonDict = dict[str, Any]

EDITS_PATH = "/v1/images/edits"
_PROMPTS: dict[str, Callable[[JsonDict], Prompt]] = {
    "/v1/responses": responses_prompt,
    "/v1/chat/completions": chat_prompt,
}
# What a request that is no model call has for a conversation.
_NO_PROMPT = Prompt("", 0, None)


@dataclass(frozen=True)
class Incoming:
    """A request's body, read and checked before it is recorded."""

    body: JsonDict | None  # None: not a JSON object (or not a readable multipart form)
    form: bool = False  # multipart/form-data (image edits); `body` then holds its text fields
    prompt: Prompt = _NO_PROMPT  # the conversation, for the model endpoints
    images: tuple[SeenImage, ...] = ()
    mask: SeenImage | None = None
    rejection: ImageError | None = None  # a bad image, answered after the auth check


async def read_incoming(request: web.Request) -> Incoming:
    """The body, with the images of a model request or of an image edit decoded."""
    if request.path == EDITS_PATH and request.content_type == "multipart/form-data":
        return await _read_edit_form(request)
    body = await _read_json_object(request)
    prompt_of = _PROMPTS.get(request.path)
    if body is None or prompt_of is None:
        return Incoming(body)
    try:
        prompt = prompt_of(body)
    except ImageError as error:
        return Incoming(body, rejection=error)
    return Incoming(body, prompt=prompt, images=prompt.images)


async def _read_edit_form(request: web.Request) -> Incoming:
    form = await _read_form(request)
    if form is None:
        return Incoming(None, form=True)
    fields, uploads = form
    try:
        images, mask = edit_images(uploads)
    except ImageError as error:
        return Incoming(fields, form=True, rejection=error)
    return Incoming(fields, form=True, images=tuple(images), mask=mask)


async def _read_form(request: web.Request) -> tuple[JsonDict, list[Upload]] | None:
    """A multipart body's text fields (a list when a name repeats) and file parts; None
    when it is not a readable multipart body."""
    fields: JsonDict = {}
    uploads: list[Upload] = []
    try:
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue  # nested multipart or a nameless part: nothing the SDK sends
            if part.filename is None:
                text = await part.text()
                previous = fields.get(part.name)
                if previous is None:
                    fields[part.name] = text
                else:
                    earlier = previous if isinstance(previous, list) else [previous]
                    fields[part.name] = [*earlier, text]
                continue
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            mime = content_type.split(";")[0].strip().lower()
            uploads.append(Upload(part.name, mime, bytes(await part.read(decode=True))))
    except ValueError:
        return None
    return fields, uploads


async def _read_json_object(request: web.Request) -> JsonDict | None:
    """The body as a JSON object: {} when empty, None when it is not a JSON object."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
