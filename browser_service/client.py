"""The HTTP client of one browser-automation service.

Every call is bounded by BROWSER_SERVICE_TIMEOUT_SECONDS as a whole (retries
included); only GETs are retried, with backoff. Calls are serialised to the service's
concurrency (a single browser does one thing at a time) and a caller that must wait
is told how many are ahead. Before an action, `GET /status` is asked whether the
browser is logged in, so an action fails at once instead of hanging on a login wait.
The bearer token goes to this service only: URLs are built from its base URL, path
values are escaped, and redirects are not followed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping

import aiohttp
from yarl import URL

from browser_service.catalogue import (
    SOURCE_NAME,
    Action,
    AllowList,
    check_arguments,
    parse_catalogue,
)
from browser_service.errors import NotLoggedIn
from tool_sources import (
    CallFailed,
    CallStats,
    InputRejected,
    SourceFailed,
    SourceRefused,
    SourceTimeout,
    SourceUnreachable,
    Tool,
    ToolSourceError,
    UnknownTool,
    WaitNotice,
    loggable_arguments,
)

logger = logging.getLogger(__name__)

GET_ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
STATUS_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024


class BrowserService:
    """The browser service as a tool source (`tool_sources.ToolSource`)."""

    name = SOURCE_NAME
    label = "the browser service"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        token: str | None,
        timeout: float,
        concurrency: int,
        allow: AllowList,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._origin = URL(self._base).origin()
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._pending = 0
        self._allow = allow
        self._actions: dict[str, Action] = {}
        self._catalogue_problem: str | None = "not read yet"
        self._tools: dict[str, Tool] = {}
        self._stats = CallStats()

    @property
    def stats(self) -> CallStats:
        return self._stats

    @property
    def problem(self) -> str | None:
        """Why the last read of the catalogue failed; None once it succeeded."""
        return self._catalogue_problem

    @property
    def waiting(self) -> int:
        """Calls waiting for the service to be free."""
        return max(0, self._pending - self._concurrency)

    @property
    def known_tools(self) -> dict[str, Tool]:
        """The catalogue as last read (empty while the service has not answered)."""
        return self._tools

    async def refresh(self) -> None:
        """Read the action catalogue; on failure keep the last one and remember why."""
        try:
            async with asyncio.timeout(self._timeout):
                status, document = await self._request("GET", "/openapi.json")
            if status != 200 or not isinstance(document, dict):
                raise SourceUnreachable(f"its OpenAPI document answered HTTP {status}")
            self._actions = parse_catalogue(document, self._allow)
            self._tools = {a.tool_name: a.tool for a in self._actions.values()}
            self._catalogue_problem = None
            logger.info("browser service offers %d allowed actions", len(self._actions))
        except TimeoutError:
            self._catalogue_problem = f"no answer within {self._timeout:g}s"
        except (aiohttp.ClientError, OSError) as error:
            self._catalogue_problem = f"cannot connect ({type(error).__name__})"
        except (ToolSourceError, ValueError) as error:
            self._catalogue_problem = str(error)
        except Exception as error:  # noqa: BLE001 - a malformed document, whatever its shape
            self._catalogue_problem = (
                f"its OpenAPI document could not be read ({type(error).__name__})"
            )
        if self._catalogue_problem:
            logger.warning("browser service catalogue not read: %s", self._catalogue_problem)

    async def tools(self) -> dict[str, Tool]:
        """The catalogue; if the last read failed, it is read again first (the person
        asking waits for that, and learns whether the service is back)."""
        if self._catalogue_problem:
            await self.refresh()
        if self._catalogue_problem and not self._tools:
            raise SourceUnreachable(self._catalogue_problem)
        return self._tools

    def check(self, tool: Tool, given: Mapping[str, object]) -> dict[str, object]:
        return check_arguments(self._action(tool), given)

    def preview(self, tool: Tool, arguments: Mapping[str, object]) -> str:
        return self._action(tool).request_preview(arguments)

    async def call(
        self, tool: Tool, arguments: Mapping[str, object], on_wait: WaitNotice | None = None
    ) -> object:
        return await self.run(self._action(tool), arguments, on_wait)

    def _action(self, tool: Tool) -> Action:
        action = self._actions.get(tool.name)
        if action is None:
            raise UnknownTool(tool.name)
        return action

    async def state(self) -> str:
        """A few words on the service's state, for /ai status."""
        calls = f"{self._stats.calls} calls, {self._stats.failures} failed"
        try:
            logged_in = await self._logged_in()
        except ToolSourceError as error:
            return f"not usable ({error}); {calls}"
        return f"answers, {'logged in' if logged_in else 'NOT logged in'}; {calls}"

    async def close(self) -> None:
        """Nothing of its own to close: the session is the bot's."""

    async def run(
        self, action: Action, arguments: Mapping[str, object], on_wait: WaitNotice | None = None
    ) -> object:
        """The service's answer to one call; raises a ToolSourceError otherwise."""
        ahead = self._pending
        self._pending += 1
        notice: asyncio.Task[None] | None = None
        if ahead >= self._concurrency and on_wait is not None:
            # Told on the side: a slow or failing notice neither delays nor stops the call.
            notice = asyncio.create_task(_tell(on_wait, ahead))
        try:
            async with self._slots:
                return await self._run(action, arguments)
        finally:
            self._pending -= 1
            if notice is not None and not notice.done():
                notice.cancel()

    async def _run(self, action: Action, arguments: Mapping[str, object]) -> object:
        started = time.monotonic()
        outcome = "ok"
        self._stats.calls += 1
        try:
            if action.path != "/status" and not await self._logged_in():
                raise NotLoggedIn("the browser is waiting for a login")
            return await self._send(action, arguments)
        except Exception as error:
            outcome = type(error).__name__
            self._stats.failures += 1
            self._stats.last_failure = f"{action.name}: {outcome}"
            raise
        finally:
            logger.info(
                "browser call action=%s params=%s outcome=%s duration=%.2fs",
                action.name,
                loggable_arguments(arguments),
                outcome,
                time.monotonic() - started,
            )

    async def _logged_in(self) -> bool:
        """What `GET /status` says; a service without that route is taken as logged in."""
        try:
            async with asyncio.timeout(min(STATUS_TIMEOUT_SECONDS, self._timeout)):
                status, body = await self._request("GET", "/status")
        except TimeoutError:
            # A busy browser can be slow to say so: go ahead, under the call's own bound.
            return True
        except (aiohttp.ClientError, OSError) as error:
            raise SourceUnreachable(f"cannot connect ({type(error).__name__})") from None
        if status == 404:
            return True
        if status in (401, 403):
            raise SourceRefused("the service did not accept the bot's token")
        return not (isinstance(body, dict) and body.get("logged_in") is False)

    async def _send(self, action: Action, arguments: Mapping[str, object]) -> object:
        path, query, body = action.split(arguments)
        has_body = any(p.location == "body" for p in action.params)
        # A change goes on a connection of its own: aiohttp resends some methods when a
        # kept-alive connection turns out closed, and a change must never go twice.
        headers = {} if action.method == "GET" else {"Connection": "close"}
        attempts = GET_ATTEMPTS if action.method == "GET" else 1
        try:
            async with asyncio.timeout(self._timeout):
                for attempt in range(1, attempts + 1):
                    try:
                        status, payload = await self._request(
                            action.method,
                            path,
                            query=query,
                            body=body if has_body else None,
                            headers=headers,
                        )
                    except (aiohttp.ClientError, OSError) as error:
                        if attempt == attempts:
                            raise SourceUnreachable(
                                f"cannot connect ({type(error).__name__})"
                            ) from None
                    else:
                        if status < 500 or attempt == attempts:
                            return _outcome(status, payload)
                    await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        except TimeoutError:
            raise SourceTimeout(self._timeout) from None
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, object]:
        url = URL(self._base + path)
        if url.origin() != self._origin:
            # Only a hostile document could build such a path: the token stays home.
            raise SourceUnreachable("an action's path leads away from the service")
        async with self._session.request(
            method,
            url,
            params=query or None,
            json=body,
            headers={**self._headers, **(headers or {})},
            allow_redirects=False,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(READ_CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise CallFailed("the service's answer is too large to show")
                chunks.append(chunk)
            raw = b"".join(chunks)
            try:
                return response.status, json.loads(raw) if raw else None
            except ValueError:
                return response.status, raw.decode(errors="replace")


async def _tell(on_wait: WaitNotice, ahead: int) -> None:
    try:
        await on_wait(ahead)
    except Exception as error:  # noqa: BLE001 - only a courtesy
        logger.info("queue notice not shown: %s", type(error).__name__)


def _outcome(status: int, payload: object) -> object:
    if 200 <= status < 300:
        if isinstance(payload, dict) and payload.get("success") is False:
            raise CallFailed(str(payload.get("details") or payload.get("detail") or "failed"))
        return payload
    if status == 422:
        raise InputRejected(_rejections(payload))
    if status in (401, 403):
        raise SourceRefused("the service did not accept the bot's token")
    if status >= 500:
        raise SourceFailed(f"HTTP {status}")
    detail = payload.get("detail") if isinstance(payload, dict) else None
    raise CallFailed(str(detail or f"HTTP {status}"))


def _rejections(payload: object) -> list[str]:
    """FastAPI's 422 `detail` list as "field: why" lines."""
    detail = payload.get("detail") if isinstance(payload, dict) else None
    if not isinstance(detail, list):
        return [str(detail or "the service rejected the input")]
    problems = []
    for item in detail:
        if not isinstance(item, dict):
            continue
        location = [str(part) for part in item.get("loc") or [] if part not in ("body",)]
        field = ".".join(location[-1:] if location[:1] in (["query"], ["path"]) else location)
        problems.append(f"`{field or 'input'}`: {item.get('msg') or 'invalid'}")
    return problems or ["the service rejected the input"]
