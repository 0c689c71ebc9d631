"""The Slack Web API client: the configured base URL, every call scheduled by Slack's
budgets (slack_client.transport.scheduler), and retry handlers that never double-post."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from aiohttp import (
    ClientError,
    ClientSession,
    TraceConfig,
    TraceRequestEndParams,
    TraceRequestExceptionParams,
)
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from yarl import URL

from operations.metrics import Metrics
from slack_client.transport.errors import SlackRefused, SlackUnreachable
from slack_client.transport.scheduler import SlackScheduler

# A 429 means Slack did nothing, so any method may be retried after Retry-After.
RATE_LIMIT_RETRIES = 20
API_TIMEOUT_SECONDS = 30
# When a 429 carries no Retry-After (Slack always sends one).
DEFAULT_RETRY_AFTER_SECONDS = 1.0

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
        if _method_of(kwargs["request"]) in NON_IDEMPOTENT_METHODS:
            return False
        return bool(await self._inner._can_retry_async(**kwargs))

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        await self._inner.prepare_for_next_attempt_async(**kwargs)


class _ScheduledRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, except that the wait is the scheduler's: the refused
    budget pauses for exactly `Retry-After`, and the call waits for its turn again."""

    def __init__(self, scheduler: SlackScheduler) -> None:
        super().__init__(max_retry_count=RATE_LIMIT_RETRIES)
        self._scheduler = scheduler

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # With `error`, the scheduler already answered this 429 (Refused): it stands.
        return error is None and response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # only a 429 response brings us here
            raise error or RuntimeError("rate-limit retry without a response")
        # Asked for only once the scheduler gives the call its turn again: a caller that
        # gives up (Refused) must not be retried by slack-sdk's loop.
        await self._scheduler.rate_limited(_retry_after(response.headers))
        state.next_attempt_requested = True
        state.increment_current_attempt()


def _method_of(request: HttpRequest) -> str:
    return request.url.rstrip("/").rsplit("/", 1)[-1]


def _retry_after(headers: Mapping[str, Any]) -> float:
    for name, values in headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER_SECONDS


class ScheduledWebClient(AsyncWebClient):
    """Every Web API call, Bolt's own included, takes its turn from the scheduler."""

    def __init__(self, *, scheduler: SlackScheduler, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scheduler = scheduler

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        async with self.scheduler.call(api_method, _channel_of(json, params, data)):
            try:
                return await super().api_call(
                    api_method,
                    http_verb=http_verb,
                    files=files,
                    data=data,
                    params=params,
                    json=json,
                    headers=headers,
                    auth=auth,
                )
            except SlackRefused:
                raise
            except SlackApiError as error:
                raise SlackRefused(api_method, error) from error
            except (SlackClientError, ClientError, TimeoutError) as error:
                # slack-sdk's own retries are spent by now.
                raise SlackUnreachable(
                    f"no answer from Slack to {api_method} ({type(error).__name__})"
                ) from error


def _channel_of(*bodies: Any) -> str | None:
    for body in bodies:
        if isinstance(body, Mapping):
            channel = body.get("channel") or body.get("channel_id")
            if isinstance(channel, str):
                return channel
    return None


def build_web_client(
    token: str, base_url: str, session: ClientSession, scheduler: SlackScheduler
) -> ScheduledWebClient:
    """`session` is shared by every call; without one slack-sdk opens a session per call."""
    return ScheduledWebClient(
        scheduler=scheduler,
        token=token,
        base_url=base_url,
        session=session,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=[
            _ScheduledRateLimitHandler(scheduler),
            _IdempotentOnly(AsyncConnectionErrorRetryHandler(max_retry_count=2)),
            _IdempotentOnly(AsyncServerErrorRetryHandler(max_retry_count=2)),
        ],
    )


def counting_calls(metrics: Metrics, api_url: str) -> TraceConfig:
    """For the Slack session: counts every request to the Web API at `api_url` by method,
    each attempt (retries included) as Slack sees them, and those Slack answered 429."""
    api = URL(api_url)

    def method_of(url: URL) -> str | None:
        if url.host != api.host or not url.path.startswith(api.path):
            return None  # a file download, say
        return url.path[len(api.path) :].strip("/")

    async def answered(
        _: ClientSession, __: SimpleNamespace, params: TraceRequestEndParams
    ) -> None:
        method = method_of(params.url)
        if method is not None:
            metrics.slack_call(method)
            if params.response.status == 429:
                metrics.slack_rate_limited(method)

    async def failed(
        _: ClientSession, __: SimpleNamespace, params: TraceRequestExceptionParams
    ) -> None:
        method = method_of(params.url)
        if method is not None:
            metrics.slack_call(method)

    trace = TraceConfig()
    trace.on_request_end.append(answered)
    trace.on_request_exception.append(failed)
    trace.freeze()
    return trace
