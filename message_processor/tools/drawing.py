"""Drawing and editing images: tools the model may call while it answers.

The model decides (never a keyword list) whether to draw, to edit one of the thread's
images, or just to answer. The thread's images are numbered in the order they appeared,
and that list is shown to the model, so "make it blue" can name the image it means; when
that is unclear, the instructions ask the model to ask.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from message_processor.admission.slots import ModelSlots
from message_processor.files.image_reader import is_image, model_image
from message_processor.memory import ThreadMemory
from message_processor.tools.allowance import ImageAllowance, OverDailyLimit
from openai_client import (
    ContentRefusedError,
    ModelClient,
    ModelError,
    ModelImage,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from settings import Settings
from slack_client import (
    FileDownloadError,
    IncomingMessage,
    ReplyStream,
    SharedFile,
    SlackFiles,
    SlackRefused,
    SlackUnreachable,
    loggable,
)
from storage import ThreadImage, UsageKind
from untrusted.budget import ByteBudget
from untrusted.images import MAX_IMAGE_BYTES
from untrusted.pool import UnreadableInput
from untrusted.readers import UntrustedReaders

logger = logging.getLogger(__name__)

DRAWING = "_Drawing your image…_"
EDITING = "_Editing the image…_"
SIZES = {"square": "1024x1024", "portrait": "1024x1536", "landscape": "1536x1024"}
# What the image edit endpoint takes as it is; other images are converted to PNG first.
EDITABLE_MIMETYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_EDIT_IMAGES = 4
TITLE_LIMIT = 250
ALT_TEXT_LIMIT = 1000

GUIDANCE = (
    " You can draw images with generate_image and change images of this thread with "
    "edit_image; use them only when the person asks for a picture to be made or changed, "
    "not to describe or compare images. If it is unclear which image they mean, ask "
    "instead of guessing."
)

TOOLS = (
    ToolSpec(
        name="generate_image",
        description="Draw a new image from a description and post it in the thread.",
        parameters={
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "What to draw, in detail."},
                "size": {"type": "string", "enum": sorted(SIZES)},
            },
            "required": ["prompt"],
        },
    ),
    ToolSpec(
        name="edit_image",
        description=(
            "Change an image of this thread (by its number in the thread's image list) "
            "following an instruction, and post the result in the thread."
        ),
        parameters={
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "The change to make."},
                "image": {
                    "type": "integer",
                    "description": "Number of the image to change, from the thread's list.",
                },
                "other_images": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "Numbers of further images to draw from, if any.",
                },
                "preserve_original": {
                    "type": "boolean",
                    "description": (
                        "True to keep the original closely (faces, logos, layout); "
                        "false to let the model reinterpret it."
                    ),
                },
            },
            "required": ["prompt", "image"],
        },
    ),
)


class ToolArgumentsError(Exception):
    """The model's call did not carry usable arguments; the message says what is wrong."""


def image_list(images: list[ThreadImage]) -> str:
    """The thread's images as the model sees them, numbered from 1."""
    if not images:
        return ""
    lines = [
        f"#{n}: "
        + (f"drawn by you: {image.description}" if image.role == "assistant" else image.description)
        for n, image in enumerate(images, start=1)
    ]
    return "[Images in this thread, for edit_image:\n" + "\n".join(lines) + "]"


class ImageTools:
    def __init__(
        self,
        model: ModelClient,
        files: SlackFiles,
        readers: UntrustedReaders,
        budget: ByteBudget,
        allowance: ImageAllowance,
        slots: ModelSlots,
    ) -> None:
        self._model = model
        self._files = files
        self._readers = readers
        self._budget = budget
        self._allowance = allowance
        self._slots = slots

    def tool_specs(self) -> tuple[ToolSpec, ...]:
        return TOOLS if self._allowance.offered else ()

    def guidance(self) -> str:
        return GUIDANCE if self._allowance.offered else ""

    async def run(
        self,
        call: ToolCall,
        message: IncomingMessage,
        stream: ReplyStream,
        settings: Settings,
        notices: list[str],
        memory: ThreadMemory,
    ) -> ToolResult:
        """The tool's outcome for the model; what the person must see whatever the model
        writes (the daily limit) goes into `notices`, for the reply's footer."""
        try:
            arguments = _arguments(call)
            if not self._allowance.offered:
                # Not offered (IMAGE_GENERATIONS_PER_DAY=0), whatever the model calls.
                output = f"There is no tool named {call.name}."
            elif call.name == "generate_image":
                output = await self._generate(arguments, message, stream, settings, memory)
            elif call.name == "edit_image":
                output = await self._edit(arguments, message, stream, settings, memory)
            else:
                output = f"There is no tool named {call.name}."
        except ToolArgumentsError as error:
            output = f"The call was not made: {error}."
        except OverDailyLimit as limit:
            notices.append(str(limit))
            output = (
                "Not made: the person has had today's images (the daily limit per person); "
                "a note saying so and when it resets is shown under your answer. Do not "
                "try again."
            )
        except ContentRefusedError as error:
            output = (
                "The image service refused this request under its content policy "
                f"({error}). Explain that to the person and suggest another wording."
            )
        except ModelError as error:
            output = f"The image could not be made ({type(error).__name__}: {error})."
        except (SlackRefused, SlackUnreachable) as error:
            output = f"Slack failed while handling the image ({loggable(error)})."
        logger.info(
            "tool %s: channel=%s thread=%s result=%.80s",
            call.name,
            message.channel,
            message.thread_ts,
            output,
        )
        return ToolResult(call=call, output=output)

    async def _generate(
        self,
        arguments: dict[str, Any],
        message: IncomingMessage,
        stream: ReplyStream,
        settings: Settings,
        memory: ThreadMemory,
    ) -> str:
        prompt = _prompt(arguments)
        # A size chosen in the settings wins over the model's pick.
        shape = settings.image_size if settings.image_size in SIZES else arguments.get("size")
        size = SIZES.get(str(shape), SIZES["square"])
        async with (
            self._allowance.one(message, UsageKind.IMAGE_GENERATION, size) as image,
            stream.step(DRAWING),
        ):
            # An image call is a model call (MAX_CONCURRENT_REQUESTS); the upload is not.
            async with self._slots.hold(stream):
                png = await image.made(self._model.generate_image(prompt, size=size))
            number = await self._post(png, prompt, message, memory)
        return f"The image is posted in the thread as image #{number}."

    async def _edit(
        self,
        arguments: dict[str, Any],
        message: IncomingMessage,
        stream: ReplyStream,
        settings: Settings,
        memory: ThreadMemory,
    ) -> str:
        prompt = _prompt(arguments)
        known = memory.images()
        others = arguments.get("other_images") or []
        numbers = [arguments.get("image"), *(others if isinstance(others, list) else [])]
        if len(numbers) > MAX_EDIT_IMAGES:
            raise ToolArgumentsError(f"at most {MAX_EDIT_IMAGES} images can be edited at once")
        chosen: list[ThreadImage] = []
        for number in numbers:
            if not isinstance(number, int) or not 1 <= number <= len(known):
                raise ToolArgumentsError(f"there is no image #{number} in this thread")
            chosen.append(known[number - 1])
        preserve = arguments.get("preserve_original")
        if not isinstance(preserve, bool):
            # The model did not say: the person's setting decides, if they chose one.
            preserve = {"high": True, "low": False}.get(settings.image_fidelity)
        async with (
            self._allowance.one(message, UsageKind.IMAGE_EDIT, None) as edit,
            stream.step(EDITING),
        ):
            sources = [await self._download(image) for image in chosen]
            async with self._slots.hold(stream):
                png = await edit.made(self._model.edit_image(sources, prompt, preserve=preserve))
            number = await self._post(png, prompt, message, memory)
        return f"The edited image is posted in the thread as image #{number}."

    async def _download(self, image: ThreadImage) -> ModelImage:
        shared = await self._files.shared_file(image.file_id)
        if shared is None:
            raise ToolArgumentsError("that image is no longer available in Slack")
        try:
            async with self._budget.hold(min(shared.size, MAX_IMAGE_BYTES) or MAX_IMAGE_BYTES):
                data = await self._files.download(shared, max_bytes=MAX_IMAGE_BYTES)
                return await self._editable(shared, data)
        except (FileDownloadError, UnreadableInput) as error:
            raise ToolArgumentsError(f"that image could not be fetched: {error}") from error

    async def _editable(self, file: SharedFile, data: bytes) -> ModelImage:
        """The image as the edit endpoint takes it: as it came, or (a GIF) as a PNG."""
        if file.mimetype not in EDITABLE_MIMETYPES:
            return model_image(await self._readers.fit_image(data))
        # Sent whole: editing wants every pixel, and the endpoint takes up to 50 MB.
        width, height = await self._readers.image_size(data)
        return ModelImage(data=data, mime=file.mimetype, width=width, height=height)

    async def _post(
        self, png: bytes, prompt: str, message: IncomingMessage, memory: ThreadMemory
    ) -> int:
        file_id = await self._files.upload_image(
            message.channel,
            message.thread_ts,
            png,
            title=prompt[:TITLE_LIMIT],
            alt_text=prompt[:ALT_TEXT_LIMIT],
        )
        memory.add_images([ThreadImage(file_id, message.ts, "assistant", prompt)])
        return len(memory.images())


def attached_images(message: IncomingMessage) -> list[ThreadImage]:
    """A person's images, as they join the thread's numbered list."""
    return [
        ThreadImage(file.id, message.ts, "user", f"{file.name} (attached)")
        for file in message.files
        if is_image(file)
    ]


def _arguments(call: ToolCall) -> dict[str, Any]:
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as error:
        raise ToolArgumentsError("its arguments were not valid JSON") from error
    if not isinstance(arguments, dict):
        raise ToolArgumentsError("its arguments were not an object")
    return arguments


def _prompt(arguments: dict[str, Any]) -> str:
    prompt = arguments.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ToolArgumentsError("a prompt is needed")
    return prompt.strip()
