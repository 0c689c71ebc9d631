"""The one place where a failure becomes what the user reads in the thread.

Each line is short and honest: what happened and what to do. Nothing here ever
includes a token, a key or the raw text of a third-party error.
"""

from __future__ import annotations

from browser_service import NotLoggedIn
from openai_client import (
    ModelAuthError,
    ModelConnectionError,
    ModelConnectionRefusedError,
    ModelConnectTimeoutError,
    ModelHostNotFoundError,
    ModelRateLimitError,
    ModelRequestError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from slack_client import SlackRefused, SlackUnreachable
from slack_client.render.mrkdwn import escape
from tool_sources import (
    ArgumentsError,
    CallFailed,
    InputRejected,
    SourceFailed,
    SourceRefused,
    SourceTimeout,
    SourceUnreachable,
    ToolSourceError,
    UnknownTool,
)

BUSY = (
    ":hourglass_flowing_sand: I'm still answering your previous message in this thread. "
    "Send this one again once that answer is done."
)
STOPPED = "_:black_square_for_stop: Stopped._"
SHUTTING_DOWN = "I'm restarting right now. Please ask again in a minute."
INTERRUPTED_BY_SHUTDOWN = (
    ":warning: _This answer was cut off because the bot is restarting. "
    "Ask again in a moment and I'll answer in full._"
)
INTERRUPTED_BY_CRASH = (
    ":warning: _This answer was interrupted when the bot restarted unexpectedly. "
    "Ask again and I'll answer._"
)
NOT_RECORDED = (
    ":warning: _I couldn't take on this message because of a problem on my side, "
    "so it has no answer. Please send it again in a moment._"
)
BROWSER_OFF = "The browser service is not set up for this bot (its admin sets BROWSER_SERVICE_URL)."
NEAR_BUDGET = (
    "_:information_source: This thread is getting long, so I'm leaving its oldest "
    "messages out of what I read. Start a new thread for a fresh context._"
)


def deadline_passed(seconds: float) -> str:
    """The answer ran past ANSWER_DEADLINE_SECONDS (not one model call past its own
    timeout: that line is describe_failure's)."""
    return (
        f":stopwatch: _I stopped this answer after {seconds:g} seconds, the longest one "
        "answer may take, waiting for a free model slot included. Ask again, perhaps in "
        "smaller steps._"
    )


def attachment_notice(unread: list[str], partly_read: list[str]) -> str:
    """What could not be used, or was cut, of what was attached: one line per file."""
    sections = []
    if unread:
        sections.append("_:paperclip: Not read:_\n" + "\n".join(f"• {line}" for line in unread))
    if partly_read:
        lines = "\n".join(f"• {line}" for line in partly_read)
        sections.append("_:paperclip: Partly read:_\n" + lines)
    return "\n".join(sections)


def describe_failure(error: BaseException, *, timeout: float) -> str:
    if isinstance(error, ModelTimeoutError):
        return (
            f":hourglass: _The model didn't finish within {timeout:g} seconds, so I stopped "
            "here. Please try again; a shorter question may help._"
        )
    if isinstance(error, ModelRateLimitError):
        return (
            ":warning: _The model API is rate-limiting this bot right now. "
            "Please try again in a minute._"
        )
    if isinstance(error, ModelUnavailableError):
        return (
            ":warning: _The model API had a server error, so I stopped here. "
            "Please try again shortly._"
        )
    if isinstance(error, ModelConnectionError):
        return _connection_line(error)
    if isinstance(error, ModelAuthError) and error.status == 401:
        return (
            ":warning: _The model API refused this bot's API key. "
            "An admin needs to check OPENAI_API_KEY._"
        )
    if isinstance(error, ModelAuthError):
        return (
            ":warning: _The model API does not allow this bot's API key to do that. "
            "An admin needs to check what OPENAI_API_KEY may use._"
        )
    if isinstance(error, ModelRequestError):
        return (
            ":warning: _The model API rejected this request (unsupported model or "
            "parameters, or too much input). An admin can check the bot's logs._"
        )
    if isinstance(error, SlackRefused):
        return f":warning: _Slack refused one of my messages ({error.code})._"
    if isinstance(error, SlackUnreachable):
        return ":warning: _Slack did not answer while I was posting this answer._"
    return ":warning: _Something went wrong on my side while answering. Please try again._"


def _connection_line(error: ModelConnectionError) -> str:
    # The host stays in the log: the people asking need to know what happened, the admin
    # where to look.
    if isinstance(error, ModelConnectionRefusedError):
        return (
            ":warning: _I couldn't reach the model API: its server refused the connection. "
            "An admin needs to check that it is running and OPENAI_BASE_URL._"
        )
    if isinstance(error, ModelHostNotFoundError):
        return (
            ":warning: _I couldn't reach the model API: its host name could not be found "
            "(DNS). An admin needs to check OPENAI_BASE_URL and the network._"
        )
    if isinstance(error, ModelConnectTimeoutError):
        return (
            f":warning: _I couldn't reach the model API: it did not accept a connection "
            f"within {error.seconds:g} seconds. Please try again shortly._"
        )
    return (
        ":warning: _The connection to the model API failed before the answer was complete. "
        "Please try again shortly._"
    )


def describe_tool_failure(error: ToolSourceError | ArgumentsError, label: str) -> str:
    """One line on why a call to a tool source (`label`: "the browser service", "the MCP
    server docs") produced no result."""
    source = label[:1].upper() + label[1:]
    if isinstance(error, NotLoggedIn):
        return (
            f":lock: {source} is not logged in, so nothing was done. "
            "Someone needs to log it in first."
        )
    if isinstance(error, CallFailed):
        return f":x: {source} could not do it: {_quoted(error.details)}"
    if isinstance(error, InputRejected | ArgumentsError):
        # The source's words are escaped: they must not mention or link anyone.
        lines = "\n".join(f"• {_escaped(problem)}" for problem in error.problems)
        return f":x: The input was not accepted:\n{lines}"
    if isinstance(error, SourceTimeout):
        return (
            f":hourglass: {source} did not answer within {error.seconds:g} seconds. "
            "It may still be busy; try again in a moment."
        )
    if isinstance(error, SourceRefused):
        return f":warning: {source} refused the bot's token. An admin needs to check it."
    if isinstance(error, SourceFailed):
        return f":warning: {source} failed ({_escaped(str(error))}). Try again in a moment."
    if isinstance(error, SourceUnreachable):
        return f":warning: {source} is not reachable right now ({_escaped(str(error))})."
    if isinstance(error, UnknownTool):
        listing = "`/ai browser`" if label == "the browser service" else "`/ai tools`"
        return f":x: {source} has no tool called `{_escaped(error.name)}`. {listing} lists them."
    return f":warning: The call to {label} failed."


def _quoted(text: str) -> str:
    """A service's own words, cut, and unable to mention or link anyone."""
    return "_" + _escaped(text) + "_"


def _escaped(text: str, limit: int = 500) -> str:
    short = text if len(text) <= limit else text[:limit] + "…"
    return escape(short)
