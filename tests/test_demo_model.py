"""The sandbox's offline demo model, through the real `openai` SDK over loopback.

Every text answer carries the label and the model asked for; plain words make it call the
tools it is offered; tool results, images, documents and instructions are summarised.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import openai
import pytest
import pytest_asyncio
from openai import AsyncOpenAI, Omit, omit
from openai.types.responses import Response, ResponseFunctionToolCall
from PIL import Image

from sandbox.demo import (
    DEMO_LABEL,
    DemoAnswers,
    browser_arguments,
    demo_model,
    heading,
    plain_command,
    read_last_message,
    read_request,
    split_words,
)
from sandbox.model import Answer, FakeOpenAI, ImageReply, ModelReply, ModelRequest
from tests.fakes.scripted_model import MarkerError, Markers, ScriptedAnswers, parse_markers

MODEL = "gpt-5.4-mini"
# A short delay keeps streaming visible in the tests without slowing them down.
CHUNK_DELAY = 0.01


def function_tool(name: str) -> Any:
    parameters = {"type": "object", "properties": {}}
    return {"type": "function", "name": name, "description": name, "parameters": parameters}


def chat_tool(name: str) -> Any:
    tool = function_tool(name)
    return {"type": "function", "function": {k: tool[k] for k in ("name", "description")}}


IMAGE_TOOLS = [function_tool("generate_image"), function_tool("edit_image")]


class MarkersThenDemo:
    """The demo scripted as tests script the fake: markers in the person's words (not in a
    document or the image list) decide, their text under the demo's heading; a request
    without markers is the demo's to answer."""

    def __init__(self, demo: DemoAnswers) -> None:
        self._demo = demo
        self._markers = ScriptedAnswers()

    async def model_reply(self, request: ModelRequest) -> ModelReply:
        words = read_last_message(request.prompt.last_user_text).words
        try:
            scripted = parse_markers(words) != Markers()
        except MarkerError:
            scripted = True  # the markers answer a typo with 400
        if not scripted:
            return await self._demo.model_reply(request)
        prompt = replace(request.prompt, last_user_text=words)
        reply = await self._markers.model_reply(replace(request, prompt=prompt))
        if not isinstance(reply, Answer) or reply.call is not None:
            return reply
        label = f"{heading(read_request(request.body))}\n\n"
        return replace(reply, text=label + reply.text, pieces=(label, *reply.pieces))

    async def image_reply(self, prompt: str) -> ImageReply:
        return await self._markers.image_reply(prompt)  # the demo draws every prompt


@pytest_asyncio.fixture(scope="module")
async def demo() -> AsyncIterator[FakeOpenAI]:
    server = demo_model(chunk_delay=CHUNK_DELAY)
    await server.start()
    yield server
    await server.stop()


def sdk_for(server: FakeOpenAI) -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key="anything",
        base_url=server.base_url,
        max_retries=0,
        _strict_response_validation=True,
    )


@pytest_asyncio.fixture
async def client(demo: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    sdk = sdk_for(demo)
    yield sdk
    await sdk.close()


async def respond(
    client: AsyncOpenAI,
    content: Any,
    tools: Any = (),
    *,
    instructions: str | Omit = omit,
    tool_choice: Any = omit,
) -> Response:
    return await client.responses.create(
        model=MODEL,
        input=[{"role": "user", "content": content}],
        tools=list(tools),
        instructions=instructions,
        tool_choice=tool_choice,
    )


def only_call(response: Response) -> ResponseFunctionToolCall:
    [item] = response.output
    assert isinstance(item, ResponseFunctionToolCall), response.output
    return item


def png_data_url(width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def test_responses_stream_is_labelled_and_names_the_model(client: AsyncOpenAI) -> None:
    started = time.monotonic()
    stream = await client.responses.create(
        model=MODEL, input=[{"role": "user", "content": "alice: hello there"}], stream=True
    )
    deltas = [event.delta async for event in stream if event.type == "response.output_text.delta"]
    # The server waits between deltas, so streaming can be seen.
    assert time.monotonic() - started >= CHUNK_DELAY * (len(deltas) - 1)
    text = "".join(deltas)
    assert text.startswith(DEMO_LABEL + "\n")
    assert f"(asked for {MODEL}" in text
    assert "> alice: hello there" in text
    assert "the conversation's first turn" in text
    assert len(deltas) >= 5


async def test_chat_stream_is_labelled(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4.1-mini",
        messages=[
            {"role": "system", "content": "Be helpful."},
            {"role": "user", "content": "bob: first"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": "bob: second"},
        ],
        stream=True,
    )
    deltas = [
        chunk.choices[0].delta.content
        async for chunk in stream
        if chunk.choices and chunk.choices[0].delta.content
    ]
    text = "".join(deltas)
    assert text.startswith(DEMO_LABEL)
    assert "(asked for gpt-4.1-mini" in text
    assert "after 2 earlier turns: 1 from people, 1 answer" in text
    assert "> bob: second" in text
    assert len(deltas) >= 5


async def test_draw_calls_generate_image(client: AsyncOpenAI) -> None:
    response = await respond(client, "alice: draw a red fox", IMAGE_TOOLS)
    call = only_call(response)
    assert call.name == "generate_image"
    assert json.loads(call.arguments) == {"prompt": "a red fox"}


async def test_draw_calls_generate_image_over_chat_streaming(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Draw a red fox"}],
        tools=[chat_tool("generate_image")],
        stream=True,
    )
    names, arguments = [], ""
    async for chunk in stream:
        for piece in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            if piece.function is not None:
                names.append(piece.function.name)
                arguments += piece.function.arguments or ""
    assert "generate_image" in names
    assert json.loads(arguments) == {"prompt": "a red fox"}


async def test_tool_result_is_described(client: AsyncOpenAI) -> None:
    arguments = json.dumps({"prompt": "a red fox"})
    response = await client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "alice: draw a red fox"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "generate_image",
                "arguments": arguments,
            },
            {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": "The image is posted in the thread as image #1.",
            },
        ],
        tools=IMAGE_TOOLS,
    )
    text = response.output_text
    assert text.startswith(DEMO_LABEL)
    assert '`generate_image` with `{"prompt": "a red fox"}` returned:' in text
    assert "> The image is posted in the thread as image #1." in text
    assert all(item.type == "message" for item in response.output)


async def test_chat_tool_result_is_described(client: AsyncOpenAI) -> None:
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "browser_list_dialogs", "arguments": '{"limit": 2}'},
    }
    completion = await client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "alice: browser list_dialogs limit=2"},
            {"role": "assistant", "content": None, "tool_calls": [call]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": "call_9", "content": "2 dialogs: Ann, Bo"},
        ],
        tools=[chat_tool("browser_list_dialogs")],
    )
    text = completion.choices[0].message.content or ""
    assert text.startswith(DEMO_LABEL)
    assert "`browser_list_dialogs`" in text
    assert "> 2 dialogs: Ann, Bo" in text


async def test_browser_words_call_the_browser_tool(client: AsyncOpenAI) -> None:
    tools = [function_tool("browser_list_dialogs")]
    response = await respond(client, "alice: browser list_dialogs limit=2", tools)
    call = only_call(response)
    assert call.name == "browser_list_dialogs"
    assert json.loads(call.arguments) == {"limit": 2}


async def test_call_words_call_any_offered_tool_by_its_full_name(client: AsyncOpenAI) -> None:
    tools = [function_tool("docs_search"), function_tool("browser_list_dialogs")]
    hint = await respond(client, "alice: what can you do?", tools)
    assert "`call docs_search key=value …`" in hint.output_text
    response = await respond(client, 'alice: call docs_search query="on call" limit=3', tools)
    call = only_call(response)
    assert call.name == "docs_search"
    assert json.loads(call.arguments) == {"query": "on call", "limit": 3}
    missing = await respond(client, "alice: call crm_lookup term=x", tools)
    assert "does not offer it (`/ai tools` lists the tools" in missing.output_text


async def test_edit_words_call_edit_image(client: AsyncOpenAI) -> None:
    listing = "[Images in this thread, for edit_image:\n#1: fox.png (attached)\n#2: a cat]"
    numbered = await respond(client, f"{listing}\n\nalice: edit image 1: add a hat", IMAGE_TOOLS)
    assert json.loads(only_call(numbered).arguments) == {"prompt": "add a hat", "image": 1}
    latest = await respond(client, f"{listing}\n\nalice: make it blue", IMAGE_TOOLS)
    call = only_call(latest)
    assert call.name == "edit_image"
    assert json.loads(call.arguments) == {"prompt": "make it blue", "image": 2}


async def test_make_it_without_thread_images_is_summarised(client: AsyncOpenAI) -> None:
    response = await respond(client, "alice: make it blue", IMAGE_TOOLS)
    assert response.output_text.startswith(DEMO_LABEL)
    assert "no images to edit" in response.output_text


async def test_draw_without_the_tool_is_summarised(client: AsyncOpenAI) -> None:
    response = await respond(client, "alice: draw a red fox")
    text = response.output_text
    assert [item.type for item in response.output] == ["message"]
    assert text.startswith(DEMO_LABEL)
    assert "> alice: draw a red fox" in text
    assert "does not offer it" in text
    assert "**Tools offered:** none" in text


async def test_no_call_when_tool_choice_is_none(client: AsyncOpenAI) -> None:
    response = await respond(client, "draw a red fox", IMAGE_TOOLS, tool_choice="none")
    assert [item.type for item in response.output] == ["message"]
    assert "allows no tool calls" in response.output_text


async def test_image_is_summarised_with_its_size(client: AsyncOpenAI) -> None:
    content = [
        {"type": "input_text", "text": "alice: what is this?"},
        {"type": "input_image", "image_url": png_data_url(64, 32), "detail": "auto"},
    ]
    response = await respond(client, content)
    assert "**1 image in it:** 64x32 PNG" in response.output_text


async def test_documents_and_custom_instructions_are_summarised(client: AsyncOpenAI) -> None:
    document = (
        "[File: notes.txt]\n[Left out: lines 3-9]\nfirst line\nsecond\n[End of file: notes.txt]"
    )
    instructions = (
        "You are a helpful assistant.\n\nInstructions for this channel:\nBe brief."
        "\n\nThe person's own instructions:\nAnswer in French."
        "\n\nInstructions for this thread:\nCite the spec."
    )
    response = await respond(
        client, f"{document}\n\nalice: summarise it", instructions=instructions
    )
    text = response.output_text
    assert "> alice: summarise it" in text
    assert "`notes.txt`: 17 characters, 2 lines" in text
    assert "left out: lines 3-9" in text
    assert "**Instructions for this channel:** “Be brief.”" in text
    assert "**Your own instructions:** “Answer in French.”" in text
    assert "**This thread's instructions:** “Cite the spec.”" in text


async def test_markers_script_the_demo_put_before_it() -> None:
    scripted = FakeOpenAI(MarkersThenDemo(DemoAnswers(CHUNK_DELAY)), api_key=None)
    await scripted.start()
    client = sdk_for(scripted)
    try:
        marker = await respond(client, '[tool:get_weather:{"city": "Oslo"}]')
        assert only_call(marker).name == "get_weather"
        reply = await respond(client, "[reply:just this]")
        expected = f"{DEMO_LABEL}\n(asked for {MODEL}; Responses API)\n\njust this"
        assert reply.output_text == expected
        unscripted = await respond(client, "alice: hello there")
        assert "> alice: hello there" in unscripted.output_text
    finally:
        await client.close()
        await scripted.stop()


async def test_the_demo_itself_knows_no_markers(client: AsyncOpenAI) -> None:
    response = await respond(client, "alice: [reply:just this] [status:500]")
    assert response.output_text.startswith(DEMO_LABEL + "\n")
    assert "> alice: [reply:just this] [status:500]" in response.output_text


async def test_image_endpoints_answer(client: AsyncOpenAI) -> None:
    result = await client.images.generate(model="gpt-image-1", prompt="a fox", size="1024x1536")
    assert result.data and result.data[0].b64_json
    with Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json))) as image:
        assert image.size == (1024, 1536)


async def test_a_given_key_is_checked() -> None:
    keyed = demo_model(api_key="sandbox-key")
    await keyed.start()
    try:
        wrong = AsyncOpenAI(api_key="other", base_url=keyed.base_url, max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            await wrong.models.list()
        right = AsyncOpenAI(api_key="sandbox-key", base_url=keyed.base_url, max_retries=0)
        assert (await right.models.list()).data
        await wrong.close()
        await right.close()
    finally:
        await keyed.stop()


def test_plain_words() -> None:
    assert plain_command("hello", 0) is None
    assert plain_command("drawing lessons?", 0) is None
    fox = plain_command("Ann Lee: <@U1> draw a fox", 0)
    assert fox is not None and fox.arguments == {"prompt": "a fox"}
    several = plain_command("edit images 1 and #3: merge them", 3)
    assert several is not None
    assert several.arguments == {"prompt": "merge them", "image": 1, "other_images": [3]}
    viewed = plain_command("you: Summarise this channel for me.", 0)
    assert viewed is not None and (viewed.tool, viewed.arguments) == ("read_open_conversation", {})
    assert plain_command("what did we decide here?", 0) is not None
    assert browser_arguments('a=1 b=true c=text d="two words" e=\'"7"\' f=[1,2] g=NaN x') == (
        {"a": 1, "b": True, "c": "text", "d": "two words", "e": "7", "f": [1, 2], "g": "NaN"},
        ["x"],
    )


def test_last_message_parts() -> None:
    text = (
        "[Images in this thread, for edit_image:\n#1: a.png (attached)\n#2: drawn by you: a fox]"
        "\n\n[File: a.md]\n# Title\n[End of file: a.md]\n\nbob: look"
        "\n[Attachment not readable: b.zip: .zip files are not supported]"
    )
    last = read_last_message(text)
    assert last.listed_images == ("a.png (attached)", "drawn by you: a fox")
    assert [(d.name, d.text) for d in last.documents] == [("a.md", "# Title")]
    assert last.unread == ("b.zip: .zip files are not supported",)
    assert last.words == "bob: look"


def test_split_words_keeps_the_text() -> None:
    text = "one two three four five six seven eight nine ten " * 5
    pieces = split_words(text, 6)
    assert "".join(pieces) == text
    assert len(pieces) == 6
    assert all(piece.endswith(" ") for piece in pieces)
