"""Block Kit as Slack checks it (message blocks, table blocks, slack-sdk's block models) and
walked (the elements a user can use, their ids and options).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import list_param

MAX_MESSAGE_BLOCKS = 50
MAX_MARKDOWN_BLOCK_CHARS = 12_000  # all markdown blocks of one message together
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
# Block elements that carry a value in ``state.values``: the key the value travels under, the
# key of the element's initial value, and how the fake turns a test's value into it.
STATEFUL_ELEMENTS: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "text"),
    "static_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "datepicker": ("selected_date", "initial_date", "plain"),
    "timepicker": ("selected_time", "initial_time", "plain"),
    "users_select": ("selected_user", "initial_user", "plain"),
    "conversations_select": ("selected_conversation", "initial_conversation", "plain"),
    "channels_select": ("selected_channel", "initial_channel", "plain"),
    "multi_users_select": ("selected_users", "initial_users", "list"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", "list"),
    "multi_channels_select": ("selected_channels", "initial_channels", "list"),
}
# Things inside blocks that nobody can click (context images, text objects).
PASSIVE_ELEMENTS = frozenset({"image", "mrkdwn", "plain_text"})


def blocks_param(params: dict[str, Any]) -> list[Any] | None:
    """A message's ``blocks``, decoded from JSON if need be, checked like Slack checks them."""
    blocks = list_param(params, "blocks")
    if blocks is not None:
        check_message_blocks(blocks)
    return blocks


def check_message_blocks(blocks: list[Any]) -> None:
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise SlackError(
            "invalid_blocks",
            [f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"],
        )
    seen: set[Any] = set()
    for index, block in enumerate(blocks):
        pointer = f"[json-pointer:/blocks/{index}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackError("invalid_blocks", [f"[ERROR] missing required field: type {pointer}"])
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                raise SlackError("invalid_blocks", [f"[ERROR] duplicate block_id {pointer}"])
            seen.add(block_id)
        check_block_model(block, pointer)
        if block["type"] == "table":
            _check_table(block, pointer)
    markdown = sum(len(str(b.get("text", ""))) for b in blocks if b.get("type") == "markdown")
    if markdown > MAX_MARKDOWN_BLOCK_CHARS:
        raise SlackError(
            "invalid_blocks",
            [f"[ERROR] markdown blocks total over {MAX_MARKDOWN_BLOCK_CHARS} characters"],
        )


def _check_table(block: dict[str, Any], pointer: str) -> None:
    """Slack's table block: 1 to 100 rows of 1 to 20 cells, raw_text cells not empty, at
    most 20 column settings (slack-sdk's model does not check these)."""
    rows = block.get("rows")
    settings = block.get("column_settings") or []
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_TABLE_ROWS:
        raise SlackError("invalid_blocks", [f"[ERROR] 1 to {MAX_TABLE_ROWS} rows {pointer}"])
    if not isinstance(settings, list) or len(settings) > MAX_TABLE_CELLS:
        raise SlackError("invalid_blocks", [f"[ERROR] too many column_settings {pointer}"])
    for row in rows:
        if not isinstance(row, list) or not 1 <= len(row) <= MAX_TABLE_CELLS:
            raise SlackError("invalid_blocks", [f"[ERROR] 1 to {MAX_TABLE_CELLS} cells {pointer}"])
        for cell in row:
            raw = isinstance(cell, dict) and cell.get("type") == "raw_text"
            if raw and not (isinstance(cell.get("text"), str) and cell["text"]):
                raise SlackError("invalid_blocks", [f"[ERROR] empty raw_text cell {pointer}"])
            if not (raw or (isinstance(cell, dict) and cell.get("type") == "rich_text")):
                raise SlackError("invalid_blocks", [f"[ERROR] unknown cell type {pointer}"])


def check_block_model(block: dict[str, Any], pointer: str) -> None:
    """Slack's block rules as slack-sdk's block models know them: a known type, each
    field known to that type, and every limit the model checks."""
    try:
        model = Block.parse(block)
        if model is None or type(model) is Block:
            raise SlackError("invalid_blocks", [f"[ERROR] unknown block type {pointer}"])
        model.validate_json()
    except SlackObjectFormationError as error:
        raise SlackError("invalid_blocks", [f"[ERROR] {error} {pointer}"]) from None
    unknown = sorted(set(block) - set(model.to_dict()))
    if unknown:
        raise SlackError("invalid_blocks", [f"[ERROR] unknown fields {unknown} {pointer}"])


def block_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The elements of a block a user can use (click, choose, type into)."""
    kind = block.get("type")
    if kind == "input":
        candidates = [block.get("element")]
    elif kind == "section":
        candidates = [block.get("accessory")]
    elif kind in ("actions", "context_actions"):
        candidates = list(block.get("elements") or [])
    else:
        return []
    return [c for c in candidates if isinstance(c, dict) and c.get("type") not in PASSIVE_ELEMENTS]


def _derived_id(position: str, thing: Any) -> str:
    """A stable stand-in for the id Slack would assign where the app gave none."""
    rendered = json.dumps(thing, sort_keys=True, default=str)
    return hashlib.sha256(f"{position}:{rendered}".encode()).hexdigest()[:5]


def block_id_of(block: dict[str, Any], index: int) -> str:
    return str(block.get("block_id") or _derived_id(str(index), block))


def action_id_of(element: dict[str, Any], index: int, position: int) -> str:
    return str(element.get("action_id") or _derived_id(f"{index}.{position}", element))


def usable_elements(blocks: Sequence[Any]) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(block_id, action_id, element, block) for every usable element, in order."""
    found = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        block_id = block_id_of(block, index)
        for position, element in enumerate(block_elements(block)):
            found.append((block_id, action_id_of(element, index, position), element, block))
    return found


def element_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return options


def element_option(element: dict[str, Any], value: str) -> dict[str, Any]:
    options = element_options(element)
    for option in options:
        if option.get("value") == value:
            return option
    offered = [o.get("value") for o in options]
    raise AssertionError(
        f"{element.get('type')} {element.get('action_id')!r} offers {offered}, not {value!r}"
    )


def initial_entry(element: dict[str, Any]) -> dict[str, Any]:
    """An untouched element's ``state.values`` entry: its initial value, if any."""
    kind = str(element.get("type"))
    key, initial_key, how = STATEFUL_ELEMENTS[kind]
    initial = element.get(initial_key)
    value: Any
    if how in ("options", "list"):
        value = list(initial) if isinstance(initial, list) else []
    elif how == "text":
        value = None if initial is None or initial == "" else str(initial)
    else:
        value = initial
    return {"type": kind, key: value}
