"""Everything that speaks Slack: the Bolt app, the Web API client, replies, formatting.

The Bolt listeners (slack_client.listeners) are not exported here: bot.py imports them
directly, and message_processor, which imports this package, never sees them.
"""

from slack_client.handover import (
    AppContext,
    BotIdentity,
    IncomingMessage,
    SharedFile,
    is_dm_channel,
)
from slack_client.output.replies import SlackReplies
from slack_client.output.stream import ReplyStream
from slack_client.render.mrkdwn import markdown_to_mrkdwn, split_message
from slack_client.transport.errors import SlackRefused, SlackUnreachable, loggable, slack_error
from slack_client.transport.files import FileDownloadError, SlackFiles, read_at_most
from slack_client.transport.history import ThreadMessage, ThreadReader
from slack_client.transport.scheduler import SlackScheduler
from slack_client.transport.web import build_web_client

__all__ = [
    "AppContext",
    "BotIdentity",
    "FileDownloadError",
    "IncomingMessage",
    "ReplyStream",
    "SharedFile",
    "SlackFiles",
    "SlackRefused",
    "SlackReplies",
    "SlackScheduler",
    "SlackUnreachable",
    "ThreadMessage",
    "ThreadReader",
    "build_web_client",
    "is_dm_channel",
    "loggable",
    "markdown_to_mrkdwn",
    "read_at_most",
    "slack_error",
    "split_message",
]
