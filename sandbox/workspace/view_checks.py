"""Views (modals, App Home) as Slack validates them in ``views.*`` calls and
``response_action`` acks, with the ids Slack fills in, and the record of one.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from sandbox.workspace.blocks import block_elements, check_block_model
from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import truthy
from sandbox.workspace.records import View

MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE_CHARS = 24
MAX_PRIVATE_METADATA_CHARS = 3000
MAX_CALLBACK_ID_CHARS = 255
MAX_TEXT_INPUT_LENGTH = 3000
MAX_LABEL_CHARS = 2000
BLOCK_ID_ALPHABET = string.ascii_letters + string.digits


def _invalid_view(message: str, pointer: str) -> NoReturn:
    raise SlackError("invalid_arguments", [f"[ERROR] {message} [json-pointer:/view{pointer}]"])


def _check_plain_text(
    value: Any, pointer: str, *, required: bool, limit: int = MAX_VIEW_TITLE_CHARS
) -> None:
    if value is None:
        if required:
            _invalid_view("missing required field", pointer)
        return
    if (
        not isinstance(value, dict)
        or value.get("type") != "plain_text"
        or not isinstance(value.get("text"), str)
    ):
        _invalid_view("must be a plain_text text object", pointer)
    if not value["text"]:
        _invalid_view("must be at least 1 character", f"{pointer}/text")
    if len(value["text"]) > limit:
        _invalid_view(f"must be less than {limit + 1} characters", f"{pointer}/text")


def _check_input_block(block: dict[str, Any], pointer: str) -> None:
    _check_plain_text(block.get("label"), f"{pointer}/label", required=True, limit=MAX_LABEL_CHARS)
    element = block.get("element")
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        _invalid_view("missing required field: element", f"{pointer}/element")
    if element["type"] == "plain_text_input":
        max_length = element.get("max_length")
        if max_length is not None and (
            not isinstance(max_length, int) or not 1 <= max_length <= MAX_TEXT_INPUT_LENGTH
        ):
            _invalid_view(
                f"must be at most {MAX_TEXT_INPUT_LENGTH}", f"{pointer}/element/max_length"
            )


def checked_view(params: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The ``view`` argument, validated like Slack does, with missing ids filled in."""
    raw = params.get("view")
    if isinstance(raw, str):  # slack-sdk sends it as JSON; forms send a JSON string
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_arguments", ["[ERROR] invalid `view`"]) from None
    if not isinstance(raw, dict):
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
    view = copy.deepcopy(raw)
    if view.get("type") != kind:
        _invalid_view(f"must be {kind!r}", "/type")
    _check_plain_text(view.get("title"), "/title", required=kind == "modal")
    for key in ("submit", "close"):
        _check_plain_text(view.get(key), f"/{key}", required=False)
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        _invalid_view("missing required field: blocks", "/blocks")
    if len(blocks) > MAX_VIEW_BLOCKS:
        _invalid_view(f"no more than {MAX_VIEW_BLOCKS} items allowed", "/blocks")
    seen: set[Any] = set()
    for index, block in enumerate(blocks):
        pointer = f"/blocks/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            _invalid_view("missing required field: type", pointer)
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                raise SlackError(
                    "duplicate_block_id",
                    [f"[ERROR] duplicate block_id [json-pointer:/view{pointer}/block_id]"],
                )
            seen.add(block_id)
        if block["type"] == "input":
            _check_input_block(block, pointer)
        try:
            check_block_model(block, pointer)
        except SlackError as error:
            _invalid_view(" ".join(error.messages) or error.error, pointer)
    has_input = any(block["type"] == "input" for block in blocks)
    if kind == "modal" and has_input and view.get("submit") is None:
        _invalid_view("submit is required when an input block is present", "/submit")
    for key, limit in (
        ("private_metadata", MAX_PRIVATE_METADATA_CHARS),
        ("callback_id", MAX_CALLBACK_ID_CHARS),
        ("external_id", MAX_CALLBACK_ID_CHARS),
    ):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            _invalid_view(f"must be a string of at most {limit} characters", f"/{key}")
    # Slack fills in the ids the app left out, so the view it answers with has them all.
    for block in blocks:
        if not block.get("block_id"):
            block["block_id"] = _new_block_id(seen)
            seen.add(block["block_id"])
        for element in block_elements(block):
            if not element.get("action_id"):
                element["action_id"] = _new_block_id(set())
    return view


def _new_block_id(taken: set[Any]) -> str:
    while True:
        candidate = "".join(secrets.choice(BLOCK_ID_ALPHABET) for _ in range(5))
        if candidate not in taken:
            return candidate


def apply_spec(view: View, spec: dict[str, Any]) -> None:
    """Take the app's (validated) view definition; every change gets a new hash."""
    view.callback_id = str(spec.get("callback_id") or "")
    view.private_metadata = str(spec.get("private_metadata") or "")
    view.title = spec.get("title")
    view.submit = spec.get("submit")
    view.close = spec.get("close")
    view.blocks = spec["blocks"]
    view.external_id = str(spec.get("external_id") or view.external_id)
    view.notify_on_close = truthy(spec.get("notify_on_close"))
    view.clear_on_close = truthy(spec.get("clear_on_close"))
    view.hash = f"{int(time.time())}.{secrets.token_hex(4)}"
