"""What can go wrong with a tool source, raised by the sources and worded for people in
message_processor/failures.py (which names the source)."""

from __future__ import annotations


class ToolSourceError(Exception):
    """Base: the call did not produce a result."""


class SourceUnreachable(ToolSourceError):
    """No connection, or no usable answer (its tool list could not be read)."""


class SourceTimeout(ToolSourceError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g}s")
        self.seconds = seconds


class SourceRefused(ToolSourceError):
    """401/403: the source did not accept the bot's token."""


class SourceFailed(ToolSourceError):
    """The source broke while answering (an HTTP 5xx, a protocol error)."""


class CallFailed(ToolSourceError):
    """The source carried the call and said it did not work."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class InputRejected(ToolSourceError):
    """The source rejected the arguments; each problem names its field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class UnknownTool(ToolSourceError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
