"""Markdown (as models write it) to Slack mrkdwn, and splitting long replies.

Code is never rewritten: fenced blocks and inline code pass through untouched apart
from the HTML-like escaping that Slack requires everywhere (&, <, >).
"""

from __future__ import annotations

import re

FENCE = "```"
# Slack truncates a message's text at 40,000 characters and recommends keeping it under
# 4,000; parts stay under that with room for a fence that has to be closed and reopened.
MESSAGE_PART_LIMIT = 3_900

_FENCE_LINE = re.compile(r"^\s*```")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
# Private-use characters mark converted spans so later rules leave them alone.
_BOLD_OPEN, _BOLD_CLOSE = "\ue000", "\ue001"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _convert_inline(line: str) -> str:
    stash: list[str] = []

    def keep(piece: str) -> str:
        stash.append(piece)
        return f"\ue002{len(stash) - 1}\ue003"

    line = _INLINE_CODE.sub(lambda m: keep(escape(m.group(0))), line)
    line = _LINK.sub(lambda m: keep(f"<{m.group(2)}|{escape(m.group(1))}>"), line)
    line = escape(line)
    heading = _HEADING.match(line)
    if heading:
        line = f"{_BOLD_OPEN}{heading.group(1)}{_BOLD_CLOSE}"
    line = _BULLET.sub(lambda m: f"{m.group(1)}• ", line)
    line = _BOLD.sub(lambda m: f"{_BOLD_OPEN}{m.group(2)}{_BOLD_CLOSE}", line)
    line = _ITALIC_STAR.sub(r"_\1_", line)
    line = _STRIKE.sub(r"~\1~", line)
    line = line.replace(_BOLD_OPEN, "*").replace(_BOLD_CLOSE, "*")
    return re.sub(r"\ue002(\d+)\ue003", lambda m: stash[int(m.group(1))], line)


def _is_table_start(lines: list[str], index: int) -> bool:
    return (
        "|" in lines[index]
        and index + 1 < len(lines)
        and _TABLE_RULE.match(lines[index + 1]) is not None
    )


def markdown_to_mrkdwn(markdown: str) -> str:
    lines = markdown.split("\n")
    out: list[str] = []
    index = 0
    in_fence = False
    while index < len(lines):
        line = lines[index]
        if _FENCE_LINE.match(line):
            # Slack shows a language tag as code text, so fences lose it.
            out.append(FENCE if not in_fence else line.strip())
            in_fence = not in_fence
        elif in_fence:
            out.append(escape(line))
        elif _is_table_start(lines, index):
            # Slack has no tables: a monospaced block keeps the columns readable.
            table = [escape(line)]
            index += 2
            while index < len(lines) and "|" in lines[index] and lines[index].strip():
                table.append(escape(lines[index]))
                index += 1
            out.extend([FENCE, *table, FENCE])
            continue
        else:
            out.append(_convert_inline(line))
        index += 1
    return "\n".join(out)


def split_message(text: str, limit: int = MESSAGE_PART_LIMIT) -> list[str]:
    """Split into parts of at most `limit` characters without breaking code blocks.

    A part cut inside a fenced block closes the fence, and the next part reopens it,
    so every part renders on its own. Cuts fall on line ends where possible.
    """
    if len(text) <= limit:
        return [text] if text else []
    budget = limit - len(FENCE) - 1
    parts: list[str] = []
    current: list[str] = []
    size = 0
    in_fence = False

    def close_part() -> None:
        nonlocal current, size
        body = "\n".join(current)
        if in_fence:
            body += "\n" + FENCE
        parts.append(body)
        current = [FENCE] if in_fence else []
        size = len(FENCE) + 1 if in_fence else 0

    for raw_line in text.split("\n"):
        pieces = [raw_line[i : i + budget - 4] for i in range(0, len(raw_line), budget - 4)]
        for line in pieces or [""]:
            if current and size + len(line) + 1 > budget:
                close_part()
            current.append(line)
            size += len(line) + 1
        if raw_line.strip().startswith(FENCE):
            in_fence = not in_fence
    if current and (len(current) > 1 or current[0] not in ("", FENCE)):
        parts.append("\n".join(current) + ("\n" + FENCE if in_fence else ""))
    return parts
