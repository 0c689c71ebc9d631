"""Reading blocks as a person does: :func:`blocks_text` gives what they show, for tests
asserting on what users see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.workspace.blocks import (
    STATEFUL_ELEMENTS,
    action_id_of,
    block_elements,
    block_id_of,
    element_options,
    initial_entry,
)


def blocks_text(
    blocks: Sequence[Any] | None, values: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """Everything a person reads in ``blocks``, one line per piece.

    Header, section, markdown and context texts, section fields, input labels with what the
    input holds (else its placeholder) and hint, option texts of selects, radio buttons and
    checkboxes ("(selected)" after the chosen ones: per ``values``, a ``state.values``
    mapping, else the initial ones), button and feedback button texts, and rich text.
    Images and dividers add nothing.
    """
    lines: list[str] = []
    for index, block in enumerate(blocks or []):
        if not isinstance(block, dict):
            continue
        block_state = (values or {}).get(block_id_of(block, index), {})
        lines.extend(_block_lines(block, index, block_state))
    return "\n".join(line for line in lines if line)


def _block_lines(block: dict[str, Any], index: int, state: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    lines: list[str] = []
    if kind in ("header", "section"):
        lines.append(text_of(block.get("text")))
        lines.extend(text_of(f) for f in block.get("fields") or [])
    elif kind == "markdown":
        lines.append(str(block.get("text") or ""))
    elif kind == "context":
        lines.extend(
            text_of(e)
            for e in block.get("elements") or []
            if isinstance(e, dict) and e.get("type") in ("mrkdwn", "plain_text")
        )
    elif kind == "input":
        lines.append(text_of(block.get("label")))
    elif kind == "rich_text":
        lines.extend(_rich_text_lines(block.get("elements")))
    elif kind in ("image", "video"):
        lines.append(text_of(block.get("title")))
    for position, element in enumerate(block_elements(block)):
        lines.extend(_element_lines(element, state.get(action_id_of(element, index, position))))
    if kind == "input":
        lines.append(text_of(block.get("hint")))
    return lines


def _element_lines(element: dict[str, Any], entry: Any) -> list[str]:
    kind = element.get("type")
    if kind in ("button", "icon_button", "workflow_button"):
        return [text_of(element.get("text"))]
    if kind == "feedback_buttons":
        buttons = [element.get("positive_button"), element.get("negative_button")]
        return [text_of(b.get("text")) for b in buttons if isinstance(b, dict)]
    if kind == "overflow":
        return [text_of(o.get("text")) for o in element_options(element)]
    if kind not in STATEFUL_ELEMENTS:
        return []
    key, _, how = STATEFUL_ELEMENTS[kind]
    current = entry if isinstance(entry, dict) else initial_entry(element)
    value = current.get(key)
    if how in ("option", "options"):
        picked = value if isinstance(value, list) else [value]
        selected = {o.get("value") for o in picked if isinstance(o, dict)}
        lines = [] if selected else [text_of(element.get("placeholder"))]
        for option in element_options(element):
            text = text_of(option.get("text"))
            lines.append(f"{text} (selected)" if option.get("value") in selected else text)
        return lines
    if value is None or value == "" or value == []:
        return [text_of(element.get("placeholder"))]
    return [", ".join(map(str, value)) if isinstance(value, list) else str(value)]


def text_of(value: Any) -> str:
    """The text of a text object (or a plain string)."""
    if isinstance(value, dict):
        return str(value.get("text") or "")
    return value if isinstance(value, str) else ""


def _rich_text_lines(elements: Any) -> list[str]:
    lines: list[str] = []
    for element in elements or []:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "rich_text_list":
            lines.extend(_rich_text_lines(element.get("elements")))
        elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            parts = element.get("elements") or []
            lines.append("".join(_inline_text(p) for p in parts if isinstance(p, dict)))
    return lines


def _inline_text(part: dict[str, Any]) -> str:
    kind = part.get("type")
    if kind == "link":
        return str(part.get("text") or part.get("url") or "")
    if kind == "user":
        return f"<@{part.get('user_id')}>"
    if kind == "channel":
        return f"<#{part.get('channel_id')}>"
    if kind == "usergroup":
        return f"<!subteam^{part.get('usergroup_id')}>"
    if kind == "emoji":
        return f":{part.get('name')}:"
    if kind == "broadcast":
        return f"@{part.get('range')}"
    if kind == "date":
        return str(part.get("fallback") or part.get("timestamp") or "")
    return str(part.get("text") or "")
