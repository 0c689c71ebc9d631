"""What users enter in blocks: ``state.values`` entries, the action a click sends, and the
checks Slack's client makes before it submits a modal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.workspace.blocks import (
    STATEFUL_ELEMENTS,
    element_option,
    initial_entry,
    usable_elements,
)
from sandbox.workspace.reading import blocks_text, text_of
from sandbox.workspace.state import action_ts


def state_entry(
    element: dict[str, Any],
    given: object,
    *,
    previous: Mapping[str, Any] | None = None,
    toggle: bool = False,
) -> dict[str, Any]:
    """The ``state.values`` entry once the user entered ``given`` (a test's plain value)."""
    kind = str(element.get("type"))
    if kind not in STATEFUL_ELEMENTS:
        raise AssertionError(f"a {kind} element holds no value")
    key, _, how = STATEFUL_ELEMENTS[kind]
    value: Any
    if how == "text":  # number_input values travel as strings too
        value = None if given is None or given == "" else str(given)
    elif how == "plain":
        value = None if given is None else str(given)
    elif how == "option":
        value = None if given is None else element_option(element, str(given))
    else:
        if isinstance(given, str):
            chosen = [given]
            if toggle:  # one more click on a checkbox or multi-select option
                items = (previous or {}).get(key) or []
                current = [str(o.get("value")) if isinstance(o, dict) else str(o) for o in items]
                chosen = [v for v in current if v != given] + ([] if given in current else [given])
        elif isinstance(given, Sequence):
            chosen = [str(v) for v in given]
        elif given is None:
            chosen = []
        else:
            raise AssertionError(f"give a {kind} a list of values, not {given!r}")
        value = [element_option(element, v) for v in chosen] if how == "options" else chosen
    return {"type": kind, key: value}


def state_values(
    blocks: Sequence[Any], chosen: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``state.values``: every stateful element's entry, chosen by the user or initial."""
    values: dict[str, dict[str, Any]] = {}
    for block_id, action_id, element, _ in usable_elements(blocks):
        if element.get("type") in STATEFUL_ELEMENTS:
            entry = chosen.get(block_id, {}).get(action_id) or initial_entry(element)
            values.setdefault(block_id, {})[action_id] = entry
    return values


def click_action(
    blocks: Sequence[Any],
    state: dict[str, dict[str, Any]],
    action_id: str,
    block_id: str | None,
    value: str | Sequence[str] | None,
) -> dict[str, Any]:
    """``actions[0]`` of a block_actions payload; records a choice in ``state``."""
    matches = [
        (b, a, element)
        for b, a, element, _ in usable_elements(blocks)
        if a == action_id and (block_id is None or b == block_id)
    ]
    if isinstance(value, str):  # buttons sharing an action_id differ by value
        matches = [
            m
            for m in matches
            if m[2].get("type") not in ("button", "icon_button") or m[2].get("value") == value
        ]
    if len(matches) != 1:
        problem = "no" if not matches else "more than one"
        raise AssertionError(
            f"{problem} element with action_id {action_id!r} (block_id={block_id!r}, "
            f"value={value!r}) is shown; the blocks read:\n{blocks_text(blocks)}"
        )
    found_block, found_action, element = matches[0]
    kind = element.get("type")
    action: dict[str, Any] = {"type": kind, "action_id": found_action, "block_id": found_block}
    if kind in ("button", "icon_button", "workflow_button"):
        action.update({k: element[k] for k in ("text", "value", "style") if k in element})
    elif kind == "feedback_buttons":
        buttons = [element.get("positive_button"), element.get("negative_button")]
        allowed = [b.get("value") for b in buttons if isinstance(b, dict)]
        if value not in allowed:
            raise AssertionError(
                f"feedback_buttons {found_action!r} offer {allowed}, not {value!r}"
            )
        action["value"] = value
    elif kind == "overflow":
        if not isinstance(value, str):
            raise AssertionError(f"choose one of overflow {found_action!r}'s options by value")
        action["selected_option"] = element_option(element, value)
    elif kind in STATEFUL_ELEMENTS:
        if value is None:
            raise AssertionError(f"say what to choose or type in {kind} {found_action!r}")
        entries = state.setdefault(found_block, {})
        previous = entries.get(found_action) or initial_entry(element)
        entry = state_entry(element, value, previous=previous, toggle=True)
        entries[found_action] = entry
        action.update((k, v) for k, v in entry.items() if k != "type")
        if "placeholder" in element:
            action["placeholder"] = element["placeholder"]
    else:
        raise AssertionError(f"a {kind} element cannot be clicked")
    action["action_ts"] = action_ts()
    return action


def check_input(block: dict[str, Any], element: dict[str, Any], entry: Any) -> None:
    """What Slack's client checks before it lets a user submit a modal."""
    if not isinstance(entry, dict):
        return  # an element whose value the fake does not model
    label = text_of(block.get("label"))
    filled = [v for k, v in entry.items() if k != "type" and v not in (None, "", [])]
    if not filled and not block.get("optional"):
        raise AssertionError(f"Slack does not submit the view: {label!r} is required")
    text = entry.get("value")
    if element.get("type") == "plain_text_input" and isinstance(text, str):
        low, high = element.get("min_length"), element.get("max_length")
        if (isinstance(low, int) and len(text) < low) or (
            isinstance(high, int) and len(text) > high
        ):
            raise AssertionError(f"Slack does not submit the view: {label!r} has {len(text)} chars")
