"""Splitting long mrkdwn into message parts of at most `MESSAGE_PART_LIMIT` characters: a
code block cut in two is closed and reopened so that every part renders on its own, and a
line too long for a part is cut where no link or entity breaks, in time linear in the text.
"""

from __future__ import annotations

from slack_client.render.mrkdwn.render import FENCE

# Slack truncates a message's text at 40,000 characters and recommends keeping it under
# 4,000; parts stay under that with room for a fence that has to be closed and reopened.
MESSAGE_PART_LIMIT = 3_900

# The smallest part that can still hold a reopened fence, a line of code and its closing.
_MIN_PART_LIMIT = 20


def split_message(text: str, limit: int = MESSAGE_PART_LIMIT) -> list[str]:
    """Split mrkdwn into parts of at most `limit` characters without breaking code blocks.

    A part cut inside a fenced block closes the fence, and the next part reopens it,
    so every part renders on its own. Cuts fall on line ends where possible; a line too
    long for a part is cut at whitespace, else before a `<…>` link or an `&…;` entity
    that would be cut in two. No part is empty, only whitespace or an empty code block.
    """
    if len(text) <= limit:
        return [text] if text.strip() else []
    if limit < _MIN_PART_LIMIT:
        raise ValueError(f"a part must hold at least {_MIN_PART_LIMIT} characters")
    splitter = _Splitter(limit)
    for line in text.split("\n"):
        splitter.add(line)
    return splitter.finish()


class _Splitter:
    """Packs lines into parts; a fence is a line that is exactly FENCE."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.lines: list[str] = []
        self.size = 0  # of "\n".join(self.lines)
        self.has_content = False  # the part holds a line that is not blank or a fence
        self.in_fence = False
        self.fence_line = 0  # where the open fence is in self.lines
        self.size_before_fence = 0
        self.has_code = False  # a line since the open fence is not blank

    def add(self, line: str) -> None:
        if line == FENCE:
            self._add_fence()
            return
        blank = not line or line.isspace()
        if blank and not self.lines and not self.in_fence:
            return  # a part never starts with a blank line
        if len(line) > self._room():
            self._add_long(line)
        else:
            self._push(line, blank)

    def finish(self) -> list[str]:
        self._flush()
        return self.parts

    def _room(self) -> int:
        """How long a line added now may be, keeping room for a closing "\n```"."""
        return self.limit - self.size - (1 if self.lines else 0) - len(FENCE) - 1

    def _push(self, line: str, blank: bool) -> None:
        self.size += len(line) + 1 if self.lines else len(line)
        self.lines.append(line)
        if not blank:
            self.has_content = True
            self.has_code = self.has_code or self.in_fence

    def _add_fence(self) -> None:
        if self.in_fence and not self.has_code:
            self._drop_open_fence()  # an empty code block is not worth showing
            return
        # An opening fence that leaves no room is dropped with its empty block when
        # the part is flushed, and the next part opens it again.
        if not self.in_fence:
            self.size_before_fence = self.size
            self.fence_line = len(self.lines)
            self.has_code = False
        self.size += len(FENCE) + 1 if self.lines else len(FENCE)
        self.lines.append(FENCE)
        self.in_fence = not self.in_fence

    def _drop_open_fence(self) -> None:
        del self.lines[self.fence_line :]
        self.size = self.size_before_fence
        self.in_fence = False

    def _add_long(self, line: str) -> None:
        """Add a line longer than the room left: in the next part, or cut in pieces."""
        start = 0
        while len(line) - start > self._room():
            if self.has_content or self._room() < self.limit // 2:
                # The line may fit in the next part; a part without content (blank
                # lines of code) is dropped rather than cut into tiny pieces.
                self._flush()
                if not (line.strip() or self.in_fence):
                    return  # a part never starts with a blank line
                continue
            end = _cut(line, start, self._room())
            self._push(line[start:end], not line[start:end].strip())
            self._flush()
            start = end
        rest = line[start:]
        self._push(rest, not rest.strip())

    def _flush(self) -> None:
        reopen = self.in_fence
        if self.in_fence and not self.has_code:
            self._drop_open_fence()
        if self.has_content:
            self.parts.append(self._body())
        self.lines, self.size, self.has_content, self.in_fence = [], 0, False, False
        if reopen:
            self._add_fence()

    def _body(self) -> str:
        if self.in_fence:
            return "\n".join([*self.lines, FENCE])
        while not self.lines[-1].strip():
            self.lines.pop()  # trailing blank lines; the part has content, so this stops
        return "\n".join(self.lines)


def _cut(line: str, start: int, room: int) -> int:
    """Where to end a piece of `line` that begins at `start` and may hold `room` characters.

    After a space in the second half of the piece if there is one, else before a `<…>`
    link or mention or an `&…;` entity that the limit would cut in two, else at the limit.
    Every cut moves on by at least half a piece, or lands on a link that is then cut at
    the limit, so cutting a line costs time linear in its length.
    """
    end = start + room
    opening = line.rfind("<", start + 1, end)
    if opening > line.rfind(">", start, end):
        end = opening  # the limit falls inside a link that starts in this piece
    space = line.rfind(" ", start + room // 2, end)
    if space != -1:
        inside = line.rfind("<", start, space)
        if inside <= line.rfind(">", start, space):
            return space + 1
        if inside > start + room // 2:
            return inside
    if end < start + room:
        return end
    entity = line.rfind("&", max(start + 1, end - 4), end)
    if entity != -1 and line.find(";", entity, end) == -1:
        return entity
    return end
