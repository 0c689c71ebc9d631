"""The model API: one shared `AsyncOpenAI`, two wire styles, bounded calls, token budgets."""

from typing import TYPE_CHECKING

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
    Source,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
    accepts_verbosity,
    is_reasoning_model,
)
from openai_client.prices import Price, PriceTable, parse_prices
from openai_client.tokens import TokenCounter, TrimmedContext, input_budget, trim_to_budget

if TYPE_CHECKING:
    from openai_client.client import ModelClient, build_openai, list_models, sampling_parameters

# The OpenAI SDK takes over half a second to load: what does not call the model (the
# admin command line, settings, prices) does not pay for it.
_CLIENT = frozenset({"ModelClient", "build_openai", "list_models", "sampling_parameters"})


def __getattr__(name: str) -> object:
    if name in _CLIENT:
        from openai_client import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ChatTurn",
    "ContentRefusedError",
    "DeltaSink",
    "GenerationSettings",
    "ModelAuthError",
    "ModelClient",
    "ModelConnectTimeoutError",
    "ModelConnectionError",
    "ModelConnectionRefusedError",
    "ModelError",
    "ModelHostNotFoundError",
    "ModelImage",
    "ModelRateLimitError",
    "ModelReply",
    "ModelRequest",
    "ModelRequestError",
    "ModelTimeoutError",
    "ModelUnavailableError",
    "Price",
    "PriceTable",
    "Source",
    "TokenCounter",
    "ToolCall",
    "ToolResult",
    "ToolSpec",
    "TrimmedContext",
    "Usage",
    "accepts_verbosity",
    "build_openai",
    "input_budget",
    "is_reasoning_model",
    "list_models",
    "parse_prices",
    "sampling_parameters",
    "trim_to_budget",
]
