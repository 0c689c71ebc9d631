"""Where the model's outside tools come from: one interface for every source.

A source (the browser service's OpenAPI catalogue, an MCP server) offers `Tool`s, checks
arguments against their JSON Schemas, shows exactly what a call will send, and calls
them, within its own time bound; what goes wrong is a `ToolSourceError`, worded for
people in message_processor/failures.py.
"""

from tool_sources.arguments import ArgumentsError, check_arguments
from tool_sources.errors import (
    CallFailed,
    InputRejected,
    SourceFailed,
    SourceRefused,
    SourceTimeout,
    SourceUnreachable,
    ToolSourceError,
    UnknownTool,
)
from tool_sources.tool import (
    CallStats,
    Tool,
    ToolSource,
    WaitNotice,
    loggable_arguments,
    model_tool_name,
)

__all__ = [
    "ArgumentsError",
    "CallFailed",
    "CallStats",
    "InputRejected",
    "SourceFailed",
    "SourceRefused",
    "SourceTimeout",
    "SourceUnreachable",
    "Tool",
    "ToolSource",
    "ToolSourceError",
    "UnknownTool",
    "WaitNotice",
    "check_arguments",
    "loggable_arguments",
    "model_tool_name",
]
