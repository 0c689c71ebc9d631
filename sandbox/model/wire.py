"""The wire formats of a model's answer, as the `openai` SDK parses them: Responses API
events (`event:`/`data:` SSE with sequence numbers, or a Response object) and Chat
Completions chunks (`data:` lines ending in `[DONE]`, or a chat.completion object), with
their usage figures. tests/test_fake_openai.py checks each with the SDK's strict validation.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from sandbox.model.answers import Answer, Api
from sandbox.model.prompts import Prompt, dicts

JsonDict = dict[str, Any]

MODELS = (
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5.4-mini",
    "o3",
    "o4-mini",
)


def dumps(value: object) -> str:
    """Compact JSON, as the real API sends it."""
    return json.dumps(value, separators=(",", ":"))


def new_id(prefix: str) -> str:
    """A fresh id in OpenAI's style: a kind prefix ("resp_", "call_") and hex digits."""
    return prefix + uuid.uuid4().hex


def _sse_data(payload: JsonDict) -> bytes:
    return f"data: {dumps(payload)}\n\n".encode()


class Wire(Protocol):
    """One answer in one API's format: streamed as opening + deltas + closing, or whole."""

    def opening(self) -> bytes: ...
    def delta(self, piece: str) -> bytes: ...
    def closing(self) -> bytes: ...
    def final(self) -> JsonDict: ...


WireFactory = Callable[[JsonDict, Prompt, Answer], Wire]


def _text_part(text: str) -> JsonDict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _echo_tool(tool: JsonDict) -> JsonDict:
    """A request's tool as the API echoes it back: function tools get their defaults filled."""
    if tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }


class ResponsesWire:
    """The Responses API: `event:`/`data:` SSE with sequence numbers, or a Response object."""

    def __init__(self, body: JsonDict, prompt: Prompt, answer: Answer) -> None:
        self._body = body
        self._prompt = prompt
        self._answer = answer
        self._sequence = itertools.count()
        self._response_id = new_id("resp_")
        self._item_id = new_id("fc_" if answer.call else "msg_")
        self._call_id = new_id("call_")
        self._search_id = new_id("ws_")
        # A web search comes first in the output; the message follows it.
        self._index = 1 if answer.sources else 0
        self._created_at = int(time.time())

    def opening(self) -> bytes:
        events = [
            self._event("response.created", response=self._response("in_progress")),
            self._event("response.in_progress", response=self._response("in_progress")),
        ]
        if self._answer.sources:
            events += self._web_search()
        events.append(
            self._event(
                "response.output_item.added", output_index=self._index, item=self._item(False)
            )
        )
        if self._answer.call is None:
            events.append(
                self._event("response.content_part.added", part=_text_part(""), **self._at)
            )
        return b"".join(events)

    def delta(self, piece: str) -> bytes:
        if self._answer.call is not None:
            return self._event(
                "response.function_call_arguments.delta",
                item_id=self._item_id,
                output_index=0,
                delta=piece,
            )
        return self._event("response.output_text.delta", delta=piece, logprobs=[], **self._at)

    def closing(self) -> bytes:
        call, text = self._answer.call, self._answer.text
        if call is not None:
            done = [
                self._event(
                    "response.function_call_arguments.done",
                    item_id=self._item_id,
                    output_index=0,
                    arguments=call.arguments,
                )
            ]
        else:
            done = [
                self._event(
                    "response.output_text.annotation.added",
                    annotation_index=index,
                    annotation=annotation,
                    **self._at,
                )
                for index, annotation in enumerate(self._annotations())
            ]
            done += [
                self._event("response.output_text.done", text=text, logprobs=[], **self._at),
                self._event("response.content_part.done", part=self._part(), **self._at),
            ]
        done.append(
            self._event(
                "response.output_item.done", output_index=self._index, item=self._item(True)
            )
        )
        done.append(self._event("response.completed", response=self.final()))
        return b"".join(done)

    def final(self) -> JsonDict:
        return self._response("completed")

    @property
    def _at(self) -> JsonDict:
        """Where text events point: the message item's only content part."""
        return {"item_id": self._item_id, "output_index": self._index, "content_index": 0}

    def _web_search(self) -> list[bytes]:
        at = {"item_id": self._search_id, "output_index": 0}
        return [
            self._event("response.output_item.added", output_index=0, item=self._search(False)),
            self._event("response.web_search_call.in_progress", **at),
            self._event("response.web_search_call.searching", **at),
            self._event("response.web_search_call.completed", **at),
            self._event("response.output_item.done", output_index=0, item=self._search(True)),
        ]

    def _search(self, completed: bool) -> JsonDict:
        return {
            "id": self._search_id,
            "type": "web_search_call",
            "status": "completed" if completed else "in_progress",
            "action": {"type": "search", "query": self._prompt.last_user_text[:100]},
        }

    def _annotations(self) -> list[JsonDict]:
        end = len(self._answer.text)
        return [
            {"type": "url_citation", "url": url, "title": title, "start_index": 0, "end_index": end}
            for url, title in self._answer.sources
        ]

    def _part(self) -> JsonDict:
        return {**_text_part(self._answer.text), "annotations": self._annotations()}

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": next(self._sequence), **fields}
        return f"event: {kind}\ndata: {dumps(payload)}\n\n".encode()

    def _item(self, completed: bool) -> JsonDict:
        status = "completed" if completed else "in_progress"
        call = self._answer.call
        if call is not None:
            return {
                "id": self._item_id,
                "type": "function_call",
                "status": status,
                "call_id": self._call_id,
                "name": call.name,
                "arguments": call.arguments if completed else "",
            }
        content = [self._part()] if completed else []
        return {
            "id": self._item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def _response(self, status: str) -> JsonDict:
        body, completed = self._body, status == "completed"
        return {
            "id": self._response_id,
            "object": "response",
            "created_at": self._created_at,
            "completed_at": int(time.time()) if completed else None,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": body.get("model", MODELS[0]),
            "output": self._output() if completed else [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None, **(body.get("reasoning") or {})},
            "service_tier": "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, **(body.get("text") or {})},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": [_echo_tool(tool) for tool in dicts(body.get("tools"))],
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": self._usage() if completed else None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }

    def _output(self) -> list[JsonDict]:
        searched = [self._search(True)] if self._answer.sources else []
        return [*searched, self._item(True)]

    def _usage(self) -> JsonDict:
        input_tokens, output_tokens = self._prompt.input_tokens, self._answer.output_tokens
        return {
            "input_tokens": input_tokens,
            # openai 3.51's InputTokensDetails requires cache_write_tokens as well.
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }


class ChatWire:
    """Chat Completions: `data:` chunks ending in `[DONE]`, or a chat.completion object."""

    def __init__(self, body: JsonDict, prompt: Prompt, answer: Answer) -> None:
        self._body = body
        self._prompt = prompt
        self._answer = answer
        self._id = new_id("chatcmpl-")
        self._call_id = new_id("call_")
        self._created = int(time.time())
        options = body.get("stream_options")
        self._include_usage = isinstance(options, dict) and options.get("include_usage") is True

    def opening(self) -> bytes:
        call = self._answer.call
        if call is None:
            return self._chunk({"role": "assistant", "content": "", "refusal": None})
        tool_call = {
            "index": 0,
            "id": self._call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        return self._chunk({"role": "assistant", "content": None, "tool_calls": [tool_call]})

    def delta(self, piece: str) -> bytes:
        if self._answer.call is not None:
            return self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        return self._chunk({"content": piece})

    def closing(self) -> bytes:
        chunks = [self._chunk({}, finish_reason=self._finish_reason)]
        if self._include_usage:
            usage_only = {**self._envelope("chat.completion.chunk"), "choices": []}
            chunks.append(_sse_data({**usage_only, "usage": self._usage()}))
        chunks.append(b"data: [DONE]\n\n")
        return b"".join(chunks)

    def final(self) -> JsonDict:
        call = self._answer.call
        message: JsonDict = {
            "role": "assistant",
            "content": None if call else self._answer.text,
            "refusal": None,
            "annotations": [],
        }
        if call is not None:
            function = {"name": call.name, "arguments": call.arguments}
            message["tool_calls"] = [
                {"id": self._call_id, "type": "function", "function": function}
            ]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": self._finish_reason,
        }
        return {**self._envelope("chat.completion"), "choices": [choice], "usage": self._usage()}

    @property
    def _finish_reason(self) -> str:
        return "tool_calls" if self._answer.call else "stop"

    def _envelope(self, kind: str) -> JsonDict:
        return {
            "id": self._id,
            "object": kind,
            "created": self._created,
            "model": self._body.get("model", MODELS[0]),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, delta: JsonDict, *, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk = {**self._envelope("chat.completion.chunk"), "choices": [choice]}
        if self._include_usage:
            chunk["usage"] = None  # the real API sends an explicit null until the last chunk
        return _sse_data(chunk)

    def _usage(self) -> JsonDict:
        prompt_tokens, completion_tokens = self._prompt.input_tokens, self._answer.output_tokens
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


WIRES: dict[Api, WireFactory] = {"responses": ResponsesWire, "chat": ChatWire}
