"""The model API: one shared `AsyncOpenAI`, two wire styles, bounded calls, token budgets."""

from openai_client.client import ModelClient, build_openai, sampling_parameters
from openai_client.errors import (
    ContentRefusedError,
    ModelAuthError,
    ModelError,
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

__all__ = [
    "ChatTurn",
    "ContentRefusedError",
    "DeltaSink",
    "GenerationSettings",
    "ModelAuthError",
    "ModelClient",
    "ModelError",
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
    "parse_prices",
    "sampling_parameters",
    "trim_to_budget",
]
