"""A fake OpenAI HTTP API on 127.0.0.1: the sandbox's offline demo model and the tests' model.

`FakeOpenAI` serves `POST /v1/responses`, `POST /v1/chat/completions` (both streaming and not),
`GET /v1/models`, `POST /v1/images/generations` and `POST /v1/images/edits` in the wire formats
the real `openai` SDK parses; tests/test_fake_openai.py checks every format with the SDK's
strict response validation, so a missing field fails there rather than as an AttributeError
deep inside the bot. What it answers is decided by the `AnswerStrategy` it is given: the demo's
(sandbox/demo.py) in the sandbox, the tests' markers (tests/fakes/scripted_model.py) in tests.

The modules, by concern:

    answers.py   the strategy's Protocol and what it returns (Answer, Failure, Hang, …)
    prompts.py   a model request's conversation read into a Prompt
    images.py    vision inputs, image orders, the images answered, an edit's uploads
    wire.py      Responses events and Chat Completions chunks, with usage
    errors.py    OpenAI-shaped error responses
    incoming.py  a request's body read (and its images decoded) before it is recorded
    server.py    routing, the key check, recording, streaming, holding requests open

Images in user messages (Responses `input_image` parts, Chat `image_url` parts) are base64 data
URLs of image/png, image/jpeg, image/gif or image/webp (at most 20 MB decoded), or http(s) URLs,
which are recorded but not fetched. Each one is opened with Pillow and recorded as a `SeenImage`
in `RecordedRequest.images` (and in the strategy's `Prompt.images`); a data URL that is not
base64, not an image or of another MIME type is answered with 400 `invalid_image_format`, one
over 20 MB with 400 `image_too_large`.

Image generations (JSON) and edits (multipart: `prompt`, `model` and the other fields as
text, the images as `image` parts, or `image[]` parts when the SDK is given a list, and an
optional `mask`) answer with solid-colour images (the colour follows the prompt) of the
requested `size`: 1024x1024 by default for generations, the first input's size for edits.
`n`, `output_format` (png, jpeg, webp), `quality` and `background` are honoured and echoed.
Edit uploads must be labelled image/png, image/jpeg or image/webp: like the real API the fake
rejects application/octet-stream (what the SDK sends for bare bytes) with 400
`unsupported_file_mimetype`. An edit's inputs are recorded in `RecordedRequest.images` (as
`in_last_user_message=True`, `message_index=0`), its mask in `RecordedRequest.mask`, and its
text fields, strings as sent, in `RecordedRequest.body`.
"""

from sandbox.model.answers import (
    Answer,
    AnswerStrategy,
    Failure,
    FunctionCall,
    Hang,
    ImageReply,
    ModelReply,
    ModelRequest,
    split_even,
)
from sandbox.model.images import SeenImage
from sandbox.model.prompts import Prompt, responses_prompt
from sandbox.model.server import FakeOpenAI, RecordedRequest

__all__ = [
    "Answer",
    "AnswerStrategy",
    "Failure",
    "FakeOpenAI",
    "FunctionCall",
    "Hang",
    "ImageReply",
    "ModelReply",
    "ModelRequest",
    "Prompt",
    "RecordedRequest",
    "SeenImage",
    "responses_prompt",
    "split_even",
]
