"""The fake OpenAI server, tested against the real `openai` SDK over loopback (no mocks).

Every client validates responses strictly against the SDK's models, so a field the fake
forgets fails here instead of turning into an AttributeError deep inside the bot. Each test
that takes `client` runs once on the SDK's default httpx2 transport and once on aiohttp,
which is the transport the bot uses.
"""

from __future__ import annotations

import asyncio
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

from tests.fakes.openai_server import FakeOpenAI

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


@pytest_asyncio.fixture(scope="module")
async def server() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI(api_key=API_KEY)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.reset()
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
            "image_url": "data:image/png;base64,iVBORw0KGgo=",
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

    assert final.output_text == "Answer to: what is this?"
    assert snapshots[-1] == final.output_text
    assert final.usage is not None
    assert final.usage.input_tokens == len("Be brief.what is this?") // 4


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


async def test_stop_releases_held_requests() -> None:
    fake = FakeOpenAI(api_key=API_KEY)
    await fake.start()
    sdk = make_client(fake, "httpx2")
    call = asyncio.create_task(sdk.responses.create(model=MODEL, input="[hang]"))
    await fake.wait_for(lambda: fake.hung_requests == 1, timeout=5, what="a hung request")

    started = time.monotonic()
    await fake.stop()

    assert time.monotonic() - started < 0.5
    assert fake.hung_requests == 0
    with pytest.raises(openai.APIConnectionError):
        await call
    await sdk.close()
