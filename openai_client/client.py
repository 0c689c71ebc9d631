"""The one place that talks to the model API.

`ModelClient.stream_reply` consumes the model's stream itself, inside an
`asyncio.timeout`, handing each text delta to a non-blocking sink. Keeping the whole
stream inside the bound (instead of yielding deltas to the caller) means a hung
server cannot outlive OPENAI_TIMEOUT_SECONDS, whatever the caller does.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
import openai
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient
from openai.types import ImagesResponse

from openai_client.errors import (
    ContentRefusedError,
    ModelAuthError,
    ModelConnectionError,
    ModelConnectionRefusedError,
    ModelConnectTimeoutError,
    ModelError,
    ModelHostNotFoundError,
    ModelRateLimitError,
    ModelRequestError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from openai_client.models import (
    ChatTurn,
    DeltaSink,
    GenerationSettings,
    ModelImage,
    ModelReply,
    ModelRequest,
    SearchSink,
    Source,
    ToolCall,
    ToolResult,
    Usage,
    accepts_verbosity,
    is_reasoning_model,
)
from operations.metrics import Metrics

logger = logging.getLogger(__name__)

# The SDK retries 429/5xx itself before any byte is streamed; two retries keep a brief
# overload invisible while the outer timeout still bounds the whole call.
SDK_MAX_RETRIES = 2
CONNECT_TIMEOUT_SECONDS = 10.0
PING_TIMEOUT_SECONDS = 5.0
# Pages kept from one answer's web-search citations.
MAX_SOURCES = 20


def build_openai(api_key: str, base_url: str | None, timeout: float) -> AsyncOpenAI:
    """One shared client for every conversation, on the SDK's aiohttp transport.

    bench/openai_transport.py measures why: under a burst of concurrent streams the
    aiohttp transport costs far less CPU than the default pool.
    """
    return AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=openai.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS),
        max_retries=SDK_MAX_RETRIES,
        http_client=DefaultAioHttpClient(),
    )


async def list_models(client: AsyncOpenAI, seconds: float) -> list[str]:
    """The model ids the API lists, within `seconds`; else a ModelError saying what
    happened (a refused connection is not a timeout)."""
    async with _translated_errors(seconds):
        page = await client.models.list()
    return [model.id for model in page.data]


def sampling_parameters(settings: GenerationSettings) -> dict[str, Any]:
    """Only what the model accepts: reasoning models reject temperature and top_p."""
    params: dict[str, Any] = {}
    if is_reasoning_model(settings.model):
        if settings.reasoning_effort:
            params["reasoning_effort"] = settings.reasoning_effort
        if settings.verbosity and accepts_verbosity(settings.model):
            params["verbosity"] = settings.verbosity
    else:
        if settings.temperature is not None:
            params["temperature"] = settings.temperature
        if settings.top_p is not None:
            params["top_p"] = settings.top_p
    return params


def _causes(error: BaseException) -> Iterator[BaseException]:
    cause: BaseException | None = error
    while cause is not None:
        yield cause
        cause = cause.__cause__ or cause.__context__


def _connection_failure(error: openai.APIConnectionError) -> ModelError:
    """What went wrong, read from the causes the SDK wraps: its aiohttp transport reports
    every failure to connect, a refusal or a DNS failure as much as a real wait, as a
    connect *timeout* (APITimeoutError)."""
    host = error.request.url.host
    for cause in _causes(error):
        if isinstance(cause, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return ModelHostNotFoundError(host)
        if isinstance(cause, ConnectionRefusedError):
            return ModelConnectionRefusedError(host)
        if isinstance(cause, aiohttp.ConnectionTimeoutError):
            return ModelConnectTimeoutError(host, CONNECT_TIMEOUT_SECONDS)
        if isinstance(cause, aiohttp.SocketTimeoutError):
            return ModelTimeoutError("the model API sent nothing for too long")
    if isinstance(error, openai.APITimeoutError):
        return ModelTimeoutError("the model API timed out")
    return ModelConnectionError(host)


@asynccontextmanager
async def _translated_errors(seconds: float) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as error:
        raise ModelTimeoutError(f"no complete answer within {seconds:g}s") from error
    except openai.APIConnectionError as error:
        raise _connection_failure(error) from error
    except openai.RateLimitError as error:
        raise ModelRateLimitError(str(error)) from error
    except openai.AuthenticationError as error:
        raise ModelAuthError(str(error), status=401) from error
    except openai.PermissionDeniedError as error:
        raise ModelAuthError(str(error), status=403) from error
    except openai.BadRequestError as error:
        if error.code == "moderation_blocked":
            raise ContentRefusedError(error.message) from error
        raise ModelRequestError(str(error)) from error
    except (openai.NotFoundError, openai.UnprocessableEntityError) as error:
        raise ModelRequestError(str(error)) from error
    except openai.InternalServerError as error:
        raise ModelUnavailableError(str(error)) from error
    except openai.APIStatusError as error:
        if error.status_code >= 500:
            raise ModelUnavailableError(str(error)) from error
        raise ModelRequestError(str(error)) from error
    except openai.APIError as error:
        # An error event inside an otherwise healthy stream.
        raise ModelUnavailableError(str(error)) from error


def _responses_message(turn: ChatTurn, detail: str) -> dict[str, Any]:
    if not turn.images:
        return {"role": turn.role, "content": turn.text}
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": turn.text}]
    parts += [
        {"type": "input_image", "image_url": image.data_url, "detail": detail}
        for image in turn.images
    ]
    return {"role": turn.role, "content": parts}


def _chat_message(turn: ChatTurn, detail: str) -> dict[str, Any]:
    if not turn.images:
        return {"role": turn.role, "content": turn.text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": turn.text}]
    parts += [
        {"type": "image_url", "image_url": {"url": image.data_url, "detail": detail}}
        for image in turn.images
    ]
    return {"role": turn.role, "content": parts}


# Image models that take `input_fidelity`, and the levels each accepts; the newer ones
# take no such parameter, and are asked in the prompt instead.
FIDELITY_LEVELS: dict[str, tuple[str, ...]] = {
    "gpt-image-1.5": ("high", "low"),
    "gpt-image-1-mini": ("low",),
}
PRESERVE_INSTRUCTION = (
    "Keep everything of the original image that this instruction does not change, "
    "as close to the original as possible: "
)
REINTERPRET_INSTRUCTION = "Feel free to reinterpret the original image: "


def fidelity_options(model: str, prompt: str, preserve: bool | None) -> tuple[str, dict[str, Any]]:
    """How to ask `model` to keep the original closely (or not): a parameter where the
    model has one, otherwise words in the prompt."""
    if preserve is None:
        return prompt, {}
    level = "high" if preserve else "low"
    family = next((f for f in FIDELITY_LEVELS if model.startswith(f)), None)
    if family is not None and level in FIDELITY_LEVELS[family]:
        return prompt, {"input_fidelity": level}
    return (PRESERVE_INSTRUCTION if preserve else REINTERPRET_INSTRUCTION) + prompt, {}


def _first_image(result: ImagesResponse) -> bytes:
    encoded = result.data[0].b64_json if result.data else None
    if not encoded:
        raise ModelUnavailableError("the image API returned no image")
    return base64.b64decode(encoded)


def _responses_tool_items(results: tuple[ToolResult, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for result in results:
        call = result.call
        items.append(
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
        items.append(
            {"type": "function_call_output", "call_id": call.call_id, "output": result.output}
        )
    return items


def _chat_tool_messages(results: tuple[ToolResult, ...]) -> list[dict[str, Any]]:
    if not results:
        return []
    calls = [
        {
            "id": result.call.call_id,
            "type": "function",
            "function": {"name": result.call.name, "arguments": result.call.arguments},
        }
        for result in results
    ]
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": None, "tool_calls": calls}]
    messages += [
        {"role": "tool", "tool_call_id": result.call.call_id, "content": result.output}
        for result in results
    ]
    return messages


def _cited(annotation: object) -> Source | None:
    """A web page the answer cites (a url_citation annotation), if that is what it is."""
    if not isinstance(annotation, dict) or annotation.get("type") != "url_citation":
        return None
    url, title = annotation.get("url"), annotation.get("title")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return None
    return Source(url=url, title=title if isinstance(title, str) and title else url)


def _responses_usage(response: object) -> Usage:
    usage = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(usage, dict):
        return Usage()
    return Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
    )


@dataclass
class _Spent:
    usage: Usage = field(default_factory=Usage)


class ModelClient:
    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        api_style: str,
        timeout: float,
        image_model: str,
        metrics: Metrics,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._image_model = image_model
        self._metrics = metrics
        self._stream: Callable[[ModelRequest, DeltaSink, SearchSink], Awaitable[ModelReply]] = (
            self._stream_chat if api_style == "chat" else self._stream_responses
        )

    async def close(self) -> None:
        await self._client.close()

    async def check(self, seconds: float = PING_TIMEOUT_SECONDS) -> str | None:
        """None when the model API answers (its model list), else why not, in a few words."""
        try:
            await list_models(self._client, seconds)
        except ModelRequestError:
            return None  # it answered: some compatible servers just have no model list
        except ModelError as error:
            return error.brief
        return None

    @asynccontextmanager
    async def _call(self, model: str) -> AsyncIterator[_Spent]:
        """One bounded call to the model API, counted by model and how it ended."""
        spent = _Spent()
        try:
            async with _translated_errors(self._timeout):
                yield spent
        except ModelError as error:
            self._metrics.model_call(model, error.brief, 0, 0)
            raise
        except asyncio.CancelledError:
            self._metrics.model_call(model, "cancelled", 0, 0)
            raise
        except BaseException:
            self._metrics.model_call(model, "failed", 0, 0)
            raise
        usage = spent.usage
        self._metrics.model_call(model, "ok", usage.input_tokens, usage.output_tokens)

    async def generate_image(self, prompt: str, *, size: str) -> bytes:
        """One PNG drawn by the image model."""
        async with self._call(self._image_model):
            result = await self._client.images.generate(
                model=self._image_model, prompt=prompt, size=cast(Any, size), n=1
            )
        return _first_image(result)

    async def edit_image(
        self, images: list[ModelImage], prompt: str, *, preserve: bool | None = None
    ) -> bytes:
        """A PNG made from `images` by the instruction; `preserve` asks for high input
        fidelity (keep faces, logos, layout) where the model supports it."""
        files = [
            (f"image-{i}.{image.mime.split('/')[-1]}", image.data, image.mime)
            for i, image in enumerate(images)
        ]
        prompt, options = fidelity_options(self._image_model, prompt, preserve)
        async with self._call(self._image_model):
            result = await self._client.images.edit(
                model=self._image_model, image=files, prompt=prompt, n=1, **options
            )
        return _first_image(result)

    async def stream_reply(
        self, request: ModelRequest, on_delta: DeltaSink, on_search: SearchSink = lambda: None
    ) -> ModelReply:
        async with self._call(request.settings.model) as spent:
            reply = await self._stream(request, on_delta, on_search)
            spent.usage = reply.usage
        return reply

    async def _stream_responses(
        self, request: ModelRequest, on_delta: DeltaSink, on_search: SearchSink
    ) -> ModelReply:
        params = sampling_parameters(request.settings)
        if "reasoning_effort" in params:
            params["reasoning"] = {"effort": params.pop("reasoning_effort")}
        if "verbosity" in params:
            params["text"] = {"verbosity": params.pop("verbosity")}
        body = {
            "model": request.settings.model,
            "instructions": request.instructions,
            "input": [_responses_message(turn, request.image_detail) for turn in request.turns]
            + _responses_tool_items(request.tool_results),
            "stream": True,
            "store": False,
            **params,
        }
        tools: list[dict[str, Any]] = [
            {
                "type": "function",
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            }
            for tool in request.tools
        ]
        if request.web_search:
            tools.append({"type": "web_search"})
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto" if request.may_call_tools else "none"
        # Events are read as plain JSON through the SDK's own stream (SSE parsing, error
        # events, retries and status errors stay the SDK's). Typed events, or even
        # `dict[str, Any]`, make the SDK walk every event through its model coercion,
        # which doubled the CPU of an answer (bench/openai_transport.py).
        stream = await self._client.post(
            "/responses",
            cast_to=object,
            body=body,
            stream=True,
            stream_cls=AsyncStream[object],
        )
        parts: list[str] = []
        usage = Usage()
        calls: list[ToolCall] = []
        sources: dict[str, Source] = {}
        async with stream:
            async for event in stream:
                if not isinstance(event, dict):
                    continue
                kind = event.get("type")
                if kind == "response.output_text.delta":
                    delta = str(event.get("delta") or "")
                    parts.append(delta)
                    on_delta(delta)
                elif kind == "response.output_item.done":
                    item = event.get("item")
                    if isinstance(item, dict) and item.get("type") == "function_call":
                        calls.append(
                            ToolCall(
                                call_id=str(item.get("call_id") or ""),
                                name=str(item.get("name") or ""),
                                arguments=str(item.get("arguments") or ""),
                            )
                        )
                elif kind == "response.web_search_call.in_progress":
                    on_search()
                elif kind == "response.output_text.annotation.added":
                    source = _cited(event.get("annotation"))
                    if source is not None and len(sources) < MAX_SOURCES:
                        sources.setdefault(source.url, source)
                elif kind == "response.completed":
                    usage = _responses_usage(event.get("response"))
                elif kind in ("response.failed", "error"):
                    raise ModelUnavailableError(f"the model reported {kind}")
        return ModelReply(
            text="".join(parts), usage=usage, tool_calls=calls, sources=tuple(sources.values())
        )

    async def _stream_chat(
        self, request: ModelRequest, on_delta: DeltaSink, on_search: SearchSink
    ) -> ModelReply:
        params = sampling_parameters(request.settings)
        messages: list[Any] = [{"role": "system", "content": request.instructions}]
        messages += [_chat_message(turn, request.image_detail) for turn in request.turns]
        messages += _chat_tool_messages(request.tool_results)
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in request.tools
            ]
            params["tool_choice"] = "auto" if request.may_call_tools else "none"
        stream = await self._client.chat.completions.create(
            model=request.settings.model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **params,
        )
        parts: list[str] = []
        usage = Usage()
        # Tool calls arrive in pieces, keyed by their index: [call id, name, arguments].
        pending: dict[int, list[str]] = {}
        async with stream:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        on_delta(choice.delta.content)
                    for piece in choice.delta.tool_calls or []:
                        call = pending.setdefault(piece.index, ["", "", ""])
                        call[0] = piece.id or call[0]
                        if piece.function is not None:
                            call[1] = piece.function.name or call[1]
                            call[2] += piece.function.arguments or ""
                if chunk.usage:
                    usage = Usage(
                        input_tokens=chunk.usage.prompt_tokens,
                        output_tokens=chunk.usage.completion_tokens,
                    )
        calls = [
            ToolCall(call_id=c[0], name=c[1], arguments=c[2]) for _, c in sorted(pending.items())
        ]
        return ModelReply(text="".join(parts), usage=usage, tool_calls=calls)


__all__ = ["ModelClient", "ModelError", "build_openai", "sampling_parameters"]
