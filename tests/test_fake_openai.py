"""The fake OpenAI server, tested against the real `openai` SDK over loopback (no mocks).

Every client validates responses strictly against the SDK's models, so a field the fake
forgets fails here instead of turning into an AttributeError deep inside the bot. Each test
that takes `client` runs once on the SDK's default httpx2 transport and once on aiohttp,
which is the transport the bot uses.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest
import pytest_asyncio
from openai import AsyncOpenAI
from openai.types.responses import ResponseStreamEvent
from PIL import Image

from sandbox import loopback
from sandbox.model import FakeOpenAI, SeenImage
from tests.fakes.scripted_model import ScriptedAnswers, scripted_model

API_KEY = "sk-test-key"
MODEL = "gpt-4.1-mini"
TRANSPORTS = ("httpx2", "aiohttp")
WEATHER_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
CHAT_WEATHER_TOOL: Any = {
    "type": "function",
    "function": {key: WEATHER_TOOL[key] for key in ("name", "description", "parameters", "strict")},
}


@pytest.fixture(scope="module")
def scripted() -> ScriptedAnswers:
    return ScriptedAnswers()


@pytest_asyncio.fixture(scope="module")
async def server(scripted: ScriptedAnswers) -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI(scripted, api_key=API_KEY)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def fake(server: FakeOpenAI, scripted: ScriptedAnswers) -> FakeOpenAI:
    server.reset()
    scripted.forget()
    return server


def make_client(
    fake: FakeOpenAI, transport: str, *, max_retries: int = 0, api_key: str = API_KEY
) -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key=api_key,
        base_url=fake.base_url,
        max_retries=max_retries,
        http_client=openai.DefaultAioHttpClient() if transport == "aiohttp" else None,
        _strict_response_validation=True,
    )


@pytest_asyncio.fixture(params=TRANSPORTS)
async def client(request: pytest.FixtureRequest, fake: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    sdk = make_client(fake, request.param)
    yield sdk
    await sdk.close()


async def stream_text(client: AsyncOpenAI, text: str) -> tuple[list[str], ResponseStreamEvent]:
    """The text deltas of a streamed Responses answer, and its last event."""
    stream = await client.responses.create(model=MODEL, input=text, stream=True)
    events = [event async for event in stream]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    return deltas, events[-1]


def encoded_image(width: int, height: int, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, format=image_format)
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def opened(b64_json: str | None) -> tuple[int, int, str | None]:
    """(width, height, format) of an image the fake sent back."""
    assert b64_json is not None
    with Image.open(io.BytesIO(base64.b64decode(b64_json))) as image:
        image.load()
        return image.width, image.height, image.format


def png_file(width: int, height: int, name: str = "in.png") -> tuple[str, bytes, str]:
    """An upload as the bot must send it: with a MIME type (bare bytes go as octet-stream)."""
    return name, encoded_image(width, height), "image/png"


# --------------------------------------------------------------------------- Responses API


async def test_responses_stream_sends_the_full_event_sequence(client: AsyncOpenAI) -> None:
    stream = await client.responses.create(model=MODEL, input="hello there", stream=True)
    events = [event async for event in stream]

    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 5,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "Answer to: hello there"
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.status == "completed"
    assert completed.response.output_text == "Answer to: hello there"
    assert completed.response.usage is not None
    assert completed.response.usage.input_tokens == len("hello there") // 4
    assert completed.response.usage.output_tokens == len("Answer to: hello there") // 4 + 1
    assert completed.response.usage.total_tokens == 2 + 6


async def test_responses_stream_helper_accumulates_the_final_response(
    client: AsyncOpenAI,
) -> None:
    content: Any = [
        {"type": "input_text", "text": "what is this?"},
        {
            "type": "input_image",
            "image_url": data_url(encoded_image(3, 2)),
            "detail": "auto",
        },
    ]
    snapshots = []
    async with client.responses.stream(
        model=MODEL, instructions="Be brief.", input=[{"role": "user", "content": content}]
    ) as stream:
        async for event in stream:
            if event.type == "response.output_text.delta":
                snapshots.append(event.snapshot)
        final = await stream.get_final_response()

    assert final.output_text == "Answer to: what is this? [saw 1 image(s): 3x2 PNG]"
    assert snapshots[-1] == final.output_text
    assert final.usage is not None
    assert final.usage.input_tokens == len("Be brief.what is this?") // 4


async def test_a_web_search_comes_first_and_the_answer_cites_its_pages(
    client: AsyncOpenAI,
) -> None:
    async with client.responses.stream(
        model=MODEL, input="news please [web:2]", tools=[{"type": "web_search"}]
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds.index("response.web_search_call.completed") < kinds.index(
        "response.output_text.delta"
    )
    assert [item.type for item in final.output] == ["web_search_call", "message"]
    message = final.output[1]
    assert message.type == "message" and message.content[0].type == "output_text"
    assert [(a.url, a.title) for a in message.content[0].annotations] == [  # type: ignore[union-attr]
        ("https://example.com/source-1", "Source 1"),
        ("https://example.com/source-2", "Source 2"),
    ]
    # Without the tool offered there is no search.
    plain = await client.responses.create(model=MODEL, input="news please [web:2]")
    assert [item.type for item in plain.output] == ["message"]


async def test_responses_without_streaming(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "next"}],
            },
        ],
    )

    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "Answer to: next"
    assert response.usage is not None
    assert response.usage.input_tokens == len("first questionfirst answernext") // 4


# --------------------------------------------------------------------------- Chat Completions


async def test_chat_stream_reports_usage_last(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "ping"},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Answer to: ping"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == len("You are terse.ping") // 4
    assert chunks[-1].usage.completion_tokens == len(text) // 4 + 1
    assert all(chunk.usage is None for chunk in chunks[:-1])


async def test_chat_without_streaming(client: AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    )

    assert completion.choices[0].message.content == "Answer to: hi"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 1 + len("Answer to: hi") // 4 + 1


# --------------------------------------------------------------------------- markers


async def test_reply_and_chunks_markers(client: AsyncOpenAI) -> None:
    deltas, _ = await stream_text(client, "[chunks:3] say [reply:Exactly this, no more.]")

    assert deltas == ["Exactly ", "this, n", "o more."]


async def test_long_marker_streams_prose_and_closed_code_blocks(client: AsyncOpenAI) -> None:
    deltas, _ = await stream_text(client, "[long:9000]")
    text = "".join(deltas)

    assert 8_500 <= len(text) <= 9_000
    assert len(deltas) == math.ceil(len(text) / 2_000)
    assert all(len(delta) <= 2_000 for delta in deltas)
    blocks = text.split("```python\n")[1:]
    assert len(blocks) >= 4
    for block in blocks:
        code, fence, _ = block.partition("\n```")
        assert fence, "every code block is closed"
        assert len(code.splitlines()) == 30


async def test_status_429_is_a_rate_limit_error(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await client.responses.create(model=MODEL, input="[status:429] hi", stream=True)

    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "0"
    assert caught.value.request_id is not None


async def test_status_401_is_an_authentication_error(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "[status:401]"}]
        )

    assert caught.value.code == "invalid_api_key"
    assert caught.value.type == "invalid_request_error"


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (400, openai.BadRequestError, "invalid_request_error"),
        (500, openai.InternalServerError, "server_error"),
        (503, openai.InternalServerError, "server_error"),
    ],
)
async def test_other_status_markers(
    client: AsyncOpenAI, status: int, error: type[openai.APIStatusError], kind: str
) -> None:
    with pytest.raises(error) as caught:
        await client.responses.create(model=MODEL, input=f"[status:{status}]")

    assert caught.value.status_code == status
    assert caught.value.type == kind


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_status_once_fails_only_the_first_attempt(fake: FakeOpenAI, transport: str) -> None:
    sdk = make_client(fake, transport, max_retries=1)
    try:
        response = await sdk.responses.create(model=MODEL, input="[status_once:500] retry me")
    finally:
        await sdk.close()

    assert response.output_text == "Answer to: [status_once:500] retry me"
    attempts = [request.headers["x-stainless-retry-count"] for request in fake.requests]
    assert attempts == ["0", "1"]


@pytest.mark.parametrize("model", ["o3", "o4-mini", "gpt-5", "gpt-5-mini"])
@pytest.mark.parametrize("parameter", ["temperature", "top_p"])
async def test_reasoning_models_reject_sampling_parameters(
    client: AsyncOpenAI, model: str, parameter: str
) -> None:
    sampling: Any = {parameter: 0.5}
    with pytest.raises(openai.BadRequestError) as responses_error:
        await client.responses.create(model=model, input="hi", **sampling)
    with pytest.raises(openai.BadRequestError) as chat_error:
        await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], **sampling
        )

    for caught in (responses_error, chat_error):
        assert caught.value.code == "unsupported_parameter"
        assert caught.value.param == parameter
        assert f"'{parameter}' is not supported" in caught.value.message


async def test_other_models_accept_sampling_parameters(client: AsyncOpenAI) -> None:
    response = await client.responses.create(model=MODEL, input="hi", temperature=0.2, top_p=0.9)

    assert response.output_text == "Answer to: hi"


async def test_bad_marker_value_is_a_bad_request(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="delay"):
        await client.responses.create(model=MODEL, input="[delay:soon]")


async def test_hang_holds_requests_until_the_client_gives_up(
    client: AsyncOpenAI, fake: FakeOpenAI
) -> None:
    loop = asyncio.get_running_loop()
    deadlines: list[asyncio.Timeout] = []

    async def hung_call(index: int) -> None:
        # No deadline until every call has reached the fake; then all expire at once.
        async with asyncio.timeout(None) as deadline:
            deadlines.append(deadline)
            await client.responses.create(model=MODEL, input=f"[hang] call {index}", stream=True)

    calls = [asyncio.create_task(hung_call(index)) for index in range(15)]
    await fake.wait_for(lambda: fake.hung_requests == 15, timeout=5, what="15 hung requests")
    for deadline in deadlines:
        deadline.reschedule(loop.time())
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(outcome, TimeoutError) for outcome in outcomes), outcomes
    await fake.wait_for(lambda: fake.hung_requests == 0, timeout=5, what="hung requests released")


async def test_stall_after_streams_some_deltas_then_holds(
    client: AsyncOpenAI, fake: FakeOpenAI
) -> None:
    stream = await client.responses.create(model=MODEL, input="[stall_after:2] go", stream=True)
    deltas: list[str] = []
    while len(deltas) < 2:
        event = await stream.__anext__()
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    await fake.wait_for(lambda: fake.stalled_requests == 1, timeout=5, what="a stalled stream")
    await stream.close()

    assert deltas == ["Answer", " to: ["]
    await fake.wait_for(lambda: fake.stalled_requests == 0, timeout=5, what="stall released")


async def test_latency_delay_and_chunk_delay_add_up(client: AsyncOpenAI, fake: FakeOpenAI) -> None:
    fake.latency = 0.05
    started = time.monotonic()
    deltas, _ = await stream_text(client, "[delay:0.05][chunk_delay:0.05][chunks:3] slow")

    assert len(deltas) == 3
    assert time.monotonic() - started >= 0.05 + 0.05 + 2 * 0.05


# --------------------------------------------------------------------------- function tools


async def test_tool_call_round_trip_with_responses(client: AsyncOpenAI) -> None:
    ask: Any = {"role": "user", "content": 'Weather? [tool:get_weather:{"city": "Paris"}]'}
    async with client.responses.stream(model=MODEL, input=[ask], tools=[WEATHER_TOOL]) as stream:
        kinds = [event.type async for event in stream]
        first = await stream.get_final_response()

    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    call = first.output[0]
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}

    echoed: Any = {
        "type": "function_call",
        "call_id": call.call_id,
        "name": call.name,
        "arguments": call.arguments,
    }
    result: Any = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    second = await client.responses.create(
        model=MODEL, input=[ask, echoed, result], tools=[WEATHER_TOOL]
    )

    assert second.output_text == "Tool result: sunny"


async def test_tool_rounds_call_the_function_again_until_that_many_outputs(
    client: AsyncOpenAI,
) -> None:
    ask: Any = {
        "role": "user",
        "content": 'Weather? [tool_rounds:2][tool:get_weather:{"city": "Paris"}]',
    }
    items: list[Any] = [ask]
    for output in ("sunny", "windy"):
        reply = await client.responses.create(model=MODEL, input=items, tools=[WEATHER_TOOL])
        call = reply.output[0]
        assert call.type == "function_call" and call.name == "get_weather"
        items += [
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": output},
        ]
    last = await client.responses.create(model=MODEL, input=items, tools=[WEATHER_TOOL])

    assert last.output_text == "Tool result: windy"


async def test_tool_call_round_trip_with_chat(client: AsyncOpenAI) -> None:
    ask: Any = {"role": "user", "content": 'Weather? [tool:get_weather:{"city": "Paris"}]'}
    stream = await client.chat.completions.create(
        model=MODEL, messages=[ask], tools=[CHAT_WEATHER_TOOL], stream=True
    )
    chunks = [chunk async for chunk in stream]

    first_call = chunks[0].choices[0].delta.tool_calls
    assert first_call is not None and first_call[0].function is not None
    assert first_call[0].function.name == "get_weather"
    arguments = "".join(
        call.function.arguments or ""
        for chunk in chunks
        for call in chunk.choices[0].delta.tool_calls or []
        if call.function is not None
    )
    assert json.loads(arguments) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    # The SDK's own accumulator must agree with the raw chunks.
    async with client.chat.completions.stream(
        model=MODEL, messages=[ask], tools=[CHAT_WEATHER_TOOL]
    ) as helper:
        completion = await helper.get_final_completion()
    tool_calls = completion.choices[0].message.tool_calls
    assert tool_calls is not None
    call = tool_calls[0]
    assert call.type == "function"
    assert call.function.arguments == arguments

    function = {"name": call.function.name, "arguments": call.function.arguments}
    echoed: Any = {"id": call.id, "type": "function", "function": function}
    answer = await client.chat.completions.create(
        model=MODEL,
        tools=[CHAT_WEATHER_TOOL],
        messages=[
            ask,
            {"role": "assistant", "content": None, "tool_calls": [echoed]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
    )
    assert answer.choices[0].message.content == "Tool result: sunny"


# --------------------------------------------------------------------------- server surface


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_wrong_key_is_rejected(fake: FakeOpenAI, transport: str) -> None:
    sdk = make_client(fake, transport, api_key="sk-wrong-key")
    try:
        with pytest.raises(openai.AuthenticationError) as caught:
            await sdk.responses.create(model=MODEL, input="hi")
    finally:
        await sdk.close()

    assert caught.value.code == "invalid_api_key"


async def test_missing_key_gets_openai_error_json(fake: FakeOpenAI) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/responses", json={"model": MODEL, "input": "hi"}) as reply,
    ):
        body = await reply.json()

    assert reply.status == 401
    assert body == {
        "error": {
            "message": body["error"]["message"],
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }


async def test_responses_can_be_switched_off(client: AsyncOpenAI, fake: FakeOpenAI) -> None:
    fake.responses_enabled = False

    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model=MODEL, input="hi", stream=True)
    completion = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "Answer to: hi"


async def test_models_are_listed(client: AsyncOpenAI) -> None:
    models = [model.id async for model in client.models.list()]

    assert MODEL in models


async def test_requests_are_recorded(client: AsyncOpenAI, fake: FakeOpenAI) -> None:
    await client.responses.create(model=MODEL, input="remember me", store=False)

    [recorded] = fake.requests
    assert recorded.path == "/v1/responses"
    assert recorded.body == {"model": MODEL, "input": "remember me", "store": False}
    assert recorded.headers["authorization"] == f"Bearer {API_KEY}"


async def test_wait_for_fails_with_an_assertion(fake: FakeOpenAI) -> None:
    with pytest.raises(AssertionError, match="the impossible"):
        await fake.wait_for(lambda: False, timeout=0.05, what="the impossible")


async def test_stop_releases_held_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without its backstop aiohttp's shutdown would wait an hour for the held request, so
    # stop() returns only if it released the request itself.
    monkeypatch.setattr(loopback, "SHUTDOWN_TIMEOUT_SECONDS", 3600.0)
    fake = scripted_model(api_key=API_KEY)
    await fake.start()
    sdk = make_client(fake, "httpx2")
    call = asyncio.create_task(sdk.responses.create(model=MODEL, input="[hang]"))
    await fake.wait_for(lambda: fake.hung_requests == 1, timeout=5, what="a hung request")

    async with asyncio.timeout(30):  # a liveness guard, far below the backstop
        await fake.stop()

    assert fake.hung_requests == 0
    with pytest.raises(openai.APIConnectionError):
        await call
    await sdk.close()


# --------------------------------------------------------------------------- vision inputs

WIDE_PNG = data_url(encoded_image(2048, 683))


@pytest.mark.parametrize("stream", [True, False])
async def test_vision_with_responses(client: AsyncOpenAI, fake: FakeOpenAI, stream: bool) -> None:
    content: Any = [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": WIDE_PNG, "detail": "high"},
        {
            "type": "input_image",
            "image_url": data_url(encoded_image(640, 480, "JPEG"), "image/jpeg"),
        },
    ]
    messages: Any = [{"role": "user", "content": content}]
    expected = "Answer to: what is this? [saw 2 image(s): 2048x683 PNG, 640x480 JPEG]"
    if stream:
        events = await client.responses.create(model=MODEL, input=messages, stream=True)
        deltas = [e.delta async for e in events if e.type == "response.output_text.delta"]
        assert "".join(deltas) == expected
    else:
        response = await client.responses.create(model=MODEL, input=messages)
        assert response.output_text == expected

    [recorded] = fake.requests
    assert recorded.images == [
        SeenImage(2048, 683, "PNG", "image/png", "high", True),
        SeenImage(640, 480, "JPEG", "image/jpeg", None, True),
    ]


@pytest.mark.parametrize("stream", [True, False])
async def test_vision_with_chat(client: AsyncOpenAI, fake: FakeOpenAI, stream: bool) -> None:
    gif = data_url(encoded_image(32, 32, "GIF"), "image/gif")
    content: Any = [
        {"type": "text", "text": "compare"},
        {"type": "image_url", "image_url": {"url": gif, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp"}},
    ]
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": content},
    ]
    expected = "Answer to: compare [saw 2 image(s): 32x32 GIF, 0x0 URL]"
    if stream:
        chunks = await client.chat.completions.create(model=MODEL, messages=messages, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        assert text == expected
    else:
        completion = await client.chat.completions.create(model=MODEL, messages=messages)
        assert completion.choices[0].message.content == expected

    [recorded] = fake.requests
    assert recorded.images == [
        SeenImage(32, 32, "GIF", "image/gif", "low", True),
        SeenImage(0, 0, "URL", "", None, True),
    ]
    assert [image.message_index for image in recorded.images] == [1, 1]


async def test_images_in_earlier_messages_are_counted(
    client: AsyncOpenAI, fake: FakeOpenAI
) -> None:
    first: Any = [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": WIDE_PNG},
    ]
    response = await client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": first},
            {"role": "assistant", "content": "a wide picture"},
            {"role": "user", "content": "and now?"},
        ],
    )

    assert response.output_text == "Answer to: and now? [thread images: 1]"
    [image] = fake.requests[0].images
    assert not image.in_last_user_message
    assert image.message_index == 0


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,not*base64!",
        data_url(b"plain text, not an image"),
        data_url(encoded_image(4, 4, "BMP"), "image/bmp"),
        data_url(encoded_image(4, 4, "BMP")),  # a BMP that claims to be a PNG
    ],
    ids=["bad-base64", "not-an-image", "bmp-mime", "bmp-data"],
)
async def test_bad_image_is_a_bad_request(client: AsyncOpenAI, fake: FakeOpenAI, url: str) -> None:
    content: Any = [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": url}]
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model=MODEL, input=[{"role": "user", "content": content}])
    chat_content: Any = [{"type": "image_url", "image_url": {"url": url}}]
    with pytest.raises(openai.BadRequestError) as chat_caught:
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": chat_content}], stream=True
        )

    assert caught.value.code == chat_caught.value.code == "invalid_image_format"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.param == "input"
    assert chat_caught.value.param == "messages"
    assert [request.images for request in fake.requests] == [[], []]


async def test_image_over_20_mb_is_too_large(fake: FakeOpenAI) -> None:
    sdk = make_client(fake, "httpx2")
    content: Any = [{"type": "input_image", "image_url": data_url(bytes(20 * 1024 * 1024 + 1))}]
    try:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.responses.create(model=MODEL, input=[{"role": "user", "content": content}])
    finally:
        await sdk.close()

    assert caught.value.code == "image_too_large"


# --------------------------------------------------------------------------- image endpoints

IMAGE_MODEL = "gpt-image-1.5"


async def test_images_generate_returns_a_png_of_the_requested_size(
    client: AsyncOpenAI, fake: FakeOpenAI
) -> None:
    result = await client.images.generate(
        model=IMAGE_MODEL, prompt="a lighthouse at dusk", size="1536x1024", quality="high", n=2
    )

    assert result.data is not None and len(result.data) == 2
    assert opened(result.data[0].b64_json) == (1536, 1024, "PNG")
    assert result.data[0].url is None
    assert result.size == "1536x1024"
    assert result.quality == "high"
    assert result.output_format == "png"
    assert result.background == "opaque"
    assert result.usage is not None
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    [recorded] = fake.requests
    assert recorded.path == "/v1/images/generations"
    assert recorded.body["prompt"] == "a lighthouse at dusk"
    assert recorded.images == []


async def test_images_generate_defaults_and_formats(client: AsyncOpenAI) -> None:
    default = await client.images.generate(model=IMAGE_MODEL, prompt="a cat")
    webp = await client.images.generate(
        model=IMAGE_MODEL,
        prompt="a cat",
        size="512x512",
        output_format="webp",
        background="transparent",
    )

    assert default.data is not None and webp.data is not None
    assert opened(default.data[0].b64_json) == (1024, 1024, "PNG")
    assert opened(webp.data[0].b64_json) == (512, 512, "WEBP")
    assert webp.background == "transparent"


async def test_images_refuse_is_moderation_blocked(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model=IMAGE_MODEL, prompt="something bad [refuse]")
    with pytest.raises(openai.BadRequestError) as edit_caught:
        await client.images.edit(
            model=IMAGE_MODEL, image=png_file(64, 64), prompt="[refuse] make it bad"
        )

    for error in (caught.value, edit_caught.value):
        assert error.code == "moderation_blocked"
        assert error.type == "image_generation_user_error"
        assert "safety system" in error.message


async def test_images_markers_and_bad_parameters(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        await client.images.generate(model=IMAGE_MODEL, prompt="[status:429] busy")
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model=IMAGE_MODEL, prompt="a cat", size="huge")

    assert caught.value.code == "invalid_value"
    assert caught.value.param == "size"


async def test_images_edit_with_one_image_keeps_its_size(
    client: AsyncOpenAI, fake: FakeOpenAI
) -> None:
    result = await client.images.edit(
        model=IMAGE_MODEL, image=png_file(300, 200), prompt="add a hat"
    )

    assert result.data is not None
    assert opened(result.data[0].b64_json) == (300, 200, "PNG")
    [recorded] = fake.requests
    assert recorded.path == "/v1/images/edits"
    assert recorded.body == {"model": IMAGE_MODEL, "prompt": "add a hat"}
    assert recorded.images == [SeenImage(300, 200, "PNG", "image/png", None, True)]
    assert recorded.mask is None


async def test_images_edit_with_two_images_and_high_fidelity(
    client: AsyncOpenAI, fake: FakeOpenAI
) -> None:
    jpeg = ("b.jpg", encoded_image(640, 480, "JPEG"), "image/jpeg")
    result = await client.images.edit(
        model=IMAGE_MODEL,
        image=[png_file(256, 256), jpeg],
        mask=png_file(256, 256, "mask.png"),
        prompt="put both in one picture",
        input_fidelity="high",
        size="1024x1536",
    )

    assert result.data is not None
    assert opened(result.data[0].b64_json) == (1024, 1536, "PNG")
    assert result.size == "1024x1536"
    [recorded] = fake.requests
    assert recorded.body["input_fidelity"] == "high"
    assert recorded.images == [
        SeenImage(256, 256, "PNG", "image/png", None, True),
        SeenImage(640, 480, "JPEG", "image/jpeg", None, True),
    ]
    assert recorded.mask == SeenImage(256, 256, "PNG", "image/png", None, True)


async def test_images_edit_rejects_uploads_without_an_image_type(client: AsyncOpenAI) -> None:
    # The SDK labels bare bytes application/octet-stream, which the real API refuses too.
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.edit(model=IMAGE_MODEL, image=encoded_image(8, 8), prompt="x")

    assert caught.value.code == "unsupported_file_mimetype"
    assert caught.value.param == "image"
    assert "application/octet-stream" in caught.value.message
