"""`admin doctor`: every setting checked, then Slack, the model API, the browser
service and each MCP server reached with the configured credentials, concurrently, each
within a bound.

A line per finding: "ok", "FAIL" or "skip", what was checked, and what happened, named
as it happened (a refused connection is not a timeout). No token or key is printed.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from config import BotConfig, config_problems, load_config
from mcp_settings import McpServerSettings
from openai_client import (
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelRequestError,
    ModelTimeoutError,
    build_openai,
    list_models,
)

# The bound on each check: they run at once, so on all of them together too.
CHECK_SECONDS = 10.0
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Finding:
    outcome: str  # "ok", "FAIL" or "skip"
    what: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.outcome != "FAIL"

    def line(self) -> str:
        return f"{self.outcome:<4} {self.what}: {self.detail}"


class CheckFailed(Exception):
    """What a check found wrong, as the operator reads it."""


async def examine(env: Mapping[str, str]) -> list[Finding]:
    problems = config_problems(env)
    if problems:
        # The bot would not start: reaching services with half a configuration could
        # only mislead.
        return [Finding("FAIL", "configuration", problem) for problem in problems] + [
            Finding("skip", what, "fix the configuration first")
            for what in ("Slack bot token", "Slack app token", "model API", "browser service")
        ]
    config = load_config(env)
    findings = [Finding("ok", "configuration", "every setting is valid")]
    async with aiohttp.ClientSession() as session:
        findings += await asyncio.gather(
            _bounded("Slack bot token", _slack_bot(session, config), _host(config.slack_api_url)),
            _bounded("Slack app token", _slack_app(session, config), _host(config.slack_api_url)),
            _bounded("model API", _model(config), _host(_model_url(config))),
            _browser_service(session, config),
            *(_mcp_server(server) for server in config.mcp_servers),
        )
    return [_without_secrets(finding, config) for finding in findings]


async def _bounded(what: str, check: Awaitable[str], where: str) -> Finding:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return Finding("ok", what, await check)
    except TimeoutError:
        return Finding("FAIL", what, f"no answer from {where} within {CHECK_SECONDS:g} s")
    except CheckFailed as failed:
        return Finding("FAIL", what, str(failed))
    except (aiohttp.ClientError, OSError) as error:
        # Past the connection: the answer broke off or could not be read.
        return Finding("FAIL", what, f"failed at {where} ({why_not_connected(error)})")


async def _slack_bot(session: aiohttp.ClientSession, config: BotConfig) -> str:
    body = await _ask_slack(session, config, "auth.test", config.slack_bot_token)
    return f"works as @{body.get('user', '?')} in workspace {body.get('team', '?')}"


async def _slack_app(session: aiohttp.ClientSession, config: BotConfig) -> str:
    if config.slack_mode == "http":
        # Slack comes to the bot: no app token is used, and none is asked about.
        return "not used in HTTP mode (SLACK_MODE=http)"
    # Only a ticket for a connection: nothing connects, so a running bot is not disturbed.
    await _ask_slack(session, config, "apps.connections.open", config.slack_app_token)
    return "Socket Mode connections can be opened"


async def _ask_slack(
    session: aiohttp.ClientSession, config: BotConfig, method: str, token: str
) -> dict[str, Any]:
    try:
        async with session.post(
            config.slack_api_url + method,
            headers={"Authorization": f"Bearer {token}"},
            # A token goes to SLACK_API_URL and nowhere it may redirect to.
            allow_redirects=False,
        ) as response:
            if response.status != 200:
                raise CheckFailed(f"Slack answered HTTP {response.status}")
            body = await response.json(content_type=None)
    except aiohttp.ClientConnectionError as error:
        raise CheckFailed(
            f"cannot connect to {_host(config.slack_api_url)} ({why_not_connected(error)})"
        ) from None
    except ValueError:
        raise CheckFailed("Slack's answer is not JSON; is SLACK_API_URL Slack's?") from None
    if not isinstance(body, dict):
        raise CheckFailed("Slack's answer is not a JSON object; is SLACK_API_URL Slack's?")
    if not body.get("ok"):
        raise CheckFailed(f"refused ({body.get('error', 'no reason given')})")
    return body


async def _model(config: BotConfig) -> str:
    where = _host(_model_url(config))
    # The bot's own client and error translation, without retries: they would turn a
    # clear refusal into a wait.
    client = build_openai(config.openai_api_key, config.openai_base_url, CHECK_SECONDS)
    async with client.with_options(max_retries=0) as once:
        try:
            names = await list_models(once, CHECK_SECONDS)
        except ModelTimeoutError:
            raise TimeoutError from None
        except ModelConnectionError as error:
            raise CheckFailed(f"cannot connect to {where} ({error.brief})") from None
        except ModelRequestError:
            # It answered: some compatible servers just have no model list.
            return f"answers at {where} (it lists no models)"
        except ModelAuthError as error:
            # Its message is left out: an API's may quote part of the key.
            raise CheckFailed(f"refused the key (HTTP {error.status})") from None
        except ModelError as error:
            raise CheckFailed(f"{error.brief} at {where}") from None
    listed = f", {config.openai_model} among them" if config.openai_model in names else ""
    return f"{len(names)} models at {where}{listed}"


async def _mcp_server(server: McpServerSettings) -> Finding:
    """Its tool list read as the bot reads it, within the same bound as every check."""
    # Imported only when there are servers, as the bot does.
    from tool_sources.mcp import McpServer

    source = McpServer(
        server.name,
        server.url,
        token=server.token,
        allow=server.tools,
        timeout=min(CHECK_SECONDS, server.timeout_seconds),
    )
    await source.refresh()
    what = f"MCP server {server.name}"
    if source.problem is not None:
        return Finding("FAIL", what, source.problem)
    count = len(source.known_tools)
    return Finding("ok", what, f"answers, {count} allowed tool{'' if count == 1 else 's'}")


async def _browser_service(session: aiohttp.ClientSession, config: BotConfig) -> Finding:
    what = "browser service"
    if config.browser_service_url is None:
        return Finding("skip", what, "BROWSER_SERVICE_URL not set")
    origin = str(URL(config.browser_service_url).origin())
    return await _bounded(what, _browser_status(session, config, origin), origin)


async def _browser_status(session: aiohttp.ClientSession, config: BotConfig, origin: str) -> str:
    assert config.browser_service_url is not None
    token = config.browser_service_token
    try:
        async with session.get(
            config.browser_service_url.rstrip("/") + "/status",
            headers={"Authorization": f"Bearer {token}"} if token else {},
            allow_redirects=False,
        ) as response:
            if response.status in (401, 403):
                sent = "BROWSER_SERVICE_TOKEN" if token else "no token (BROWSER_SERVICE_TOKEN)"
                raise CheckFailed(f"refused {sent} (HTTP {response.status})")
            if response.status != 200:
                raise CheckFailed(f"answered HTTP {response.status} at {origin}/status")
            body = await response.json(content_type=None)
    except aiohttp.ClientConnectionError as error:
        raise CheckFailed(f"not reachable at {origin} ({why_not_connected(error)})") from None
    except ValueError:
        raise CheckFailed(f"its /status at {origin} is not JSON") from None
    logged_in = body.get("logged_in") if isinstance(body, dict) else None
    if logged_in is False:
        return f"answers at {origin}, but its browser is not logged in"
    return f"answers at {origin}"


def why_not_connected(error: BaseException) -> str:
    """The cause of a failed connection in a few words ("connection refused")."""
    return _os_reason(error) or type(error).__name__


def _os_reason(error: BaseException) -> str | None:
    """What the system said, from the first error in the chain that says."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(seen, OSError) and seen.errno is not None and seen.errno in errno.errorcode:
            return os.strerror(seen.errno).lower()
        seen = seen.__cause__ or seen.__context__
    return None


def _model_url(config: BotConfig) -> str:
    return config.openai_base_url or OPENAI_DEFAULT_BASE_URL


def _host(url: str) -> str:
    parsed = URL(url)
    return f"{parsed.host}:{parsed.port}"


def _without_secrets(finding: Finding, config: BotConfig) -> Finding:
    """A last guard: whatever a service answered, no secret of ours is printed."""
    detail = finding.detail
    for secret in config.secrets:
        detail = detail.replace(secret, REDACTED)
    return Finding(finding.outcome, finding.what, detail)
