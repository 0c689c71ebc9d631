"""The Slack Web API client: the configured base URL and retry handlers that never double-post."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import ClientSession
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.pacing import ChannelPacer

# A 429 means Slack did nothing, so any method may be retried after Retry-After.
RATE_LIMIT_RETRIES = 20
API_TIMEOUT_SECONDS = 30

# Methods that create something: after a dropped connection or a 5xx we cannot know
# whether Slack carried them out, so retrying could post twice.
NON_IDEMPOTENT_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.startStream",
        "chat.appendStream",
        "chat.postEphemeral",
        "files.completeUploadExternal",
    }
)


class _IdempotentOnly(AsyncRetryHandler):
    """Delegates to `inner`, except for methods whose retry could post twice."""

    def __init__(self, inner: AsyncRetryHandler) -> None:
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self._inner = inner

    async def _can_retry_async(self, **kwargs: Any) -> bool:
        method = kwargs["request"].url.rstrip("/").rsplit("/", 1)[-1]
        if method in NON_IDEMPOTENT_METHODS:
            return False
        return bool(await self._inner._can_retry_async(**kwargs))

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        await self._inner.prepare_for_next_attempt_async(**kwargs)


class _TellingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, which also tells the pacer that Slack pushed back."""

    def __init__(self, on_rate_limited: Callable[[], None]) -> None:
        super().__init__(max_retry_count=RATE_LIMIT_RETRIES)
        self._on_rate_limited = on_rate_limited

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        self._on_rate_limited()
        await super().prepare_for_next_attempt_async(**kwargs)


def build_web_client(
    token: str, base_url: str, session: ClientSession, pacer: ChannelPacer
) -> AsyncWebClient:
    """`session` is shared by every call; without one slack-sdk opens a session per call."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=[
            _TellingRateLimitHandler(pacer.note_rate_limited),
            _IdempotentOnly(AsyncConnectionErrorRetryHandler(max_retry_count=2)),
            _IdempotentOnly(AsyncServerErrorRetryHandler(max_retry_count=2)),
        ],
    )
