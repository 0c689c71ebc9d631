"""Everything that speaks Slack: the Bolt app, the Web API client, replies, formatting."""

from slack_client.app import build_app, fetch_identity
from slack_client.errors import slack_error
from slack_client.events import BotIdentity, IncomingMessage, MessageSink
from slack_client.history import ThreadMessage, UserNames, fetch_thread
from slack_client.mrkdwn import markdown_to_mrkdwn, split_message
from slack_client.pacing import ChannelPacer
from slack_client.replies import ReplyStream, SlackReplies
from slack_client.web import build_web_client

__all__ = [
    "BotIdentity",
    "ChannelPacer",
    "IncomingMessage",
    "MessageSink",
    "ReplyStream",
    "SlackReplies",
    "ThreadMessage",
    "UserNames",
    "build_app",
    "build_web_client",
    "fetch_identity",
    "fetch_thread",
    "markdown_to_mrkdwn",
    "slack_error",
    "split_message",
]
