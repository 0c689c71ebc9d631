"""What a Slack user sees in a thread, read from the fake workspace."""

from __future__ import annotations

import json

from sandbox.workspace import FakeSlack, Message

THINKING = "Thinking…"


def bot_texts(slack: FakeSlack, channel: str, thread_ts: str) -> list[str]:
    """The bot's messages in the thread as they read now (status messages included)."""
    return [m.text for m in slack.bot_replies(channel, thread_ts)]


def settled(slack: FakeSlack, channel: str, thread_ts: str) -> bool:
    """True when the bot has replied and nothing in the thread is still being written."""
    replies = slack.bot_replies(channel, thread_ts)
    return bool(replies) and not any(m.streaming or THINKING in m.text for m in replies)


def thread_text(slack: FakeSlack, channel: str, thread_ts: str) -> str:
    return "\n".join(bot_texts(slack, channel, thread_ts))


async def wait_for_text(
    slack: FakeSlack, channel: str, thread_ts: str, needle: str, timeout: float = 30.0
) -> str:
    """Wait until the thread, fully written, shows `needle`; return all the bot's text."""
    await slack.wait_for(
        lambda: (
            settled(slack, channel, thread_ts) and needle in thread_text(slack, channel, thread_ts)
        ),
        timeout=timeout,
        what=f"{needle!r} in thread {channel}/{thread_ts}",
    )
    return thread_text(slack, channel, thread_ts)


async def command(slack: FakeSlack, user: str, channel: str, text: str) -> str:
    """Run `/ai …` and return what the bot answered privately."""
    envelope = await slack.slash_command(user, channel, text)
    # Unacknowledged, Slack would show the person an error, whatever came after.
    await slack.wait_for(
        lambda: envelope in slack.acks and bool(slack.responses.get(envelope)),
        what=f"/ai {text} acknowledged and answered",
    )
    return slack.responses[envelope][-1].text


async def shortcut(slack: FakeSlack, user: str, channel: str, ts: str, callback_id: str) -> str:
    """Run the message shortcut `callback_id` on message `ts`; what the bot answered
    privately."""
    envelope = await slack.message_shortcut(user, channel, ts, callback_id)
    await slack.wait_for(
        lambda: envelope in slack.acks and bool(slack.responses.get(envelope)),
        what=f"shortcut {callback_id} acknowledged and answered",
    )
    answer = slack.responses[envelope][-1]
    assert answer.response_type == "ephemeral", answer
    return answer.text


def shown_steps(slack: FakeSlack, channel: str, thread_ts: str) -> str:
    """Every step and status the thread showed: tasks of the streamed answer and Slack's
    loading states."""
    tasks = [t["title"] for m in slack.bot_replies(channel, thread_ts) for t in m.tasks.values()]
    statuses = [
        " ".join([str(c.params.get("status", "")), *(c.params.get("loading_messages") or [])])
        for c in slack.calls_to("assistant.threads.setStatus")
        if (c.params.get("channel_id"), c.params.get("thread_ts")) == (channel, thread_ts)
    ]
    return "\n".join(tasks + statuses)


def approval_in(slack: FakeSlack, channel: str, thread_ts: str | None = None) -> Message:
    found = [
        m
        for m in slack.messages_in(channel)
        if m.bot_id
        and "browser_approve" in json.dumps(m.blocks or [])
        and (thread_ts is None or m.thread_ts == thread_ts)
    ]
    assert found, "no approval message"
    return found[-1]
