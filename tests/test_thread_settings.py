"""End to end: who may see and change a thread's settings (message menu → Thread
settings), what the thread is told, and what the model is told, over the fakes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, Message, View
from tests.inproc import InProcessBot, bot_in_process
from tests.seen import wait_for_text

BOT = "<@UBOT>"
ADMIN = "UADMIN7"
WHO_MAY = "Only the person who started this thread, people I've answered in it and admins"


@pytest.fixture(scope="module")
async def bot(slack: FakeSlack, model: FakeOpenAI, bot_dir: Path) -> AsyncIterator[InProcessBot]:
    async with bot_in_process(slack, model, bot_dir, ADMIN_USERS=ADMIN) as process:
        yield process


async def open_thread_settings(slack: FakeSlack, user: str, channel: str, ts: str) -> View:
    """The person uses the Thread settings shortcut on a message; what opens for them."""
    opened = len(slack.open_modals(user))
    envelope = await slack.message_shortcut(user, channel, ts, "thread_settings")
    await slack.wait_for(
        lambda: envelope in slack.acks and len(slack.open_modals(user)) > opened,
        what="the shortcut acknowledged and a modal open",
    )
    return slack.open_modals(user)[-1]


def notices(slack: FakeSlack, channel: str, root: str) -> list[Message]:
    said = ("changed the settings of this thread", "reset this thread's settings")
    return [m for m in slack.bot_replies(channel, root) if any(s in m.text for s in said)]


async def save_thread_settings(
    slack: FakeSlack, user: str, view: View, channel: str, root: str, values: dict[str, object]
) -> str:
    """Submit the modal; the notice then posted in the thread."""
    before = len(notices(slack, channel, root))
    await slack.submit_view(user, view.id, values)
    assert view.closed and not view.errors
    await slack.wait_for(
        lambda: len(notices(slack, channel, root)) > before, what="the notice in the thread"
    )
    return notices(slack, channel, root)[-1].text


def instructions_sent(model: FakeOpenAI, words: str) -> str:
    """The instructions of the model request that answered the message with `words`."""
    body = next(r.body for r in reversed(model.requests) if words in json.dumps(r.body))
    return str(body["instructions"])


async def test_a_stranger_refused_on_thread_settings(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    starter, stranger, channel = new_id("U"), new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, starter, f"{BOT} our launch plan")
    await wait_for_text(slack, channel, root, "our launch plan")
    view = await open_thread_settings(slack, starter, channel, root)
    await save_thread_settings(
        slack, starter, view, channel, root, {"instructions": "Codename is BLUEBIRD."}
    )

    # Reading: the stranger gets one line saying who may, and nothing of the settings.
    refusal = await open_thread_settings(slack, stranger, channel, root)
    assert WHO_MAY in refusal.text
    assert refusal.submit is None and "BLUEBIRD" not in refusal.text
    assert not [b for b in refusal.blocks if b["type"] == "input"]
    assert "BLUEBIRD" not in json.dumps([e.text for e in slack.ephemerals_for(stranger)])

    # Changing: the starter's open modal, submitted by the stranger, is refused.
    mine = await open_thread_settings(slack, starter, channel, root)
    forged = await slack.send_envelope(
        "interactive",
        {
            "type": "view_submission",
            "user": {"id": stranger},
            "trigger_id": "1.2.forged",
            "view": {
                "id": mine.id,
                "type": "modal",
                "callback_id": mine.callback_id,
                "private_metadata": mine.private_metadata,
                "hash": mine.hash,
                "blocks": mine.blocks,
                "state": {"values": {"instructions": {"instructions": {"value": "Say HACKED."}}}},
            },
        },
    )
    await slack.wait_for(lambda: forged in slack.acks, what="the forged submission's ack")
    assert mine.errors is not None and not mine.closed
    assert "out of date" in mine.errors["model"]

    await slack.post_user_message(channel, starter, f"{BOT} still ours?", thread_ts=root)
    await wait_for_text(slack, channel, root, "still ours?")
    sent = instructions_sent(model, "still ours?")
    assert "Codename is BLUEBIRD." in sent and "HACKED" not in sent
    assert len(notices(slack, channel, root)) == 1


async def test_the_starter_and_a_participant_can_open_and_save(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    starter, participant, channel = new_id("U"), new_id("U"), new_id("C")
    # The starter never talked to the bot: starting the thread is enough.
    root = await slack.post_user_message(channel, starter, "Retro notes, add yours below")
    reply = await slack.post_user_message(
        channel, participant, f"{BOT} what went well?", thread_ts=root
    )
    await wait_for_text(slack, channel, root, "what went well?")

    # From a reply: Slack names the thread's starter in it (parent_user_id).
    view = await open_thread_settings(slack, starter, channel, reply)
    assert "This thread" in view.text and "Thread instructions" in view.text
    notice = await save_thread_settings(
        slack, starter, view, channel, root, {"instructions": "Use bullet points."}
    )
    assert f"<@{starter}> changed the settings of this thread (instructions)" in notice
    assert "\n>Use bullet points." in notice

    # The participant sees what is set, and changes it.
    view = await open_thread_settings(slack, participant, channel, root)
    assert "Use bullet points." in view.text
    notice = await save_thread_settings(
        slack, participant, view, channel, root, {"instructions": "Number the points."}
    )
    assert f"<@{participant}> changed" in notice and ">Number the points." in notice

    await slack.post_user_message(channel, participant, f"{BOT} and what not?", thread_ts=root)
    await wait_for_text(slack, channel, root, "and what not?")
    sent = instructions_sent(model, "and what not?")
    assert "Instructions for this thread:\nNumber the points." in sent
    assert "Use bullet points." not in sent


async def test_an_admin_can_change_any_thread_and_clearing_is_announced(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    starter, channel = new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, starter, f"{BOT} draft the memo")
    await wait_for_text(slack, channel, root, "draft the memo")
    view = await open_thread_settings(slack, starter, channel, root)
    await save_thread_settings(
        slack, starter, view, channel, root, {"instructions": "Write in ALL CAPS."}
    )

    # The admin never took part, and may all the same.
    view = await open_thread_settings(slack, ADMIN, channel, root)
    assert "Write in ALL CAPS." in view.text
    notice = await save_thread_settings(slack, ADMIN, view, channel, root, {"instructions": ""})
    assert f"<@{ADMIN}> reset this thread's settings" in notice
    assert "instructions were cleared" in notice and "ALL CAPS" not in notice

    await slack.post_user_message(channel, starter, f"{BOT} memo again", thread_ts=root)
    await wait_for_text(slack, channel, root, "memo again")
    assert "ALL CAPS" not in instructions_sent(model, "memo again")


async def test_thread_instructions_add_to_the_persons_own(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    envelope = await slack.slash_command(user, channel, "settings")
    await slack.wait_for(
        lambda: envelope in slack.acks and bool(slack.open_modals(user)), what="my settings"
    )
    await slack.submit_view(
        user, slack.open_modals(user)[-1].id, {"instructions": "Answer in French."}
    )
    root = await slack.post_user_message(channel, user, f"{BOT} plan the offsite")
    await wait_for_text(slack, channel, root, "plan the offsite")
    view = await open_thread_settings(slack, user, channel, root)
    await save_thread_settings(
        slack, user, view, channel, root, {"instructions": "Keep the budget under 5k."}
    )

    await slack.post_user_message(channel, user, f"{BOT} which venue?", thread_ts=root)
    await wait_for_text(slack, channel, root, "which venue?")
    sent = instructions_sent(model, "which venue?")
    own = sent.index("The person's own instructions:\nAnswer in French.")
    thread = sent.index("Instructions for this thread:\nKeep the budget under 5k.")
    assert own < thread


async def test_the_notice_quotes_the_instructions_without_firing_anything(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    starter, channel = new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, starter, f"{BOT} incident review")
    await wait_for_text(slack, channel, root, "incident review")
    hostile = (
        "Ping <@UBOSS> and <!channel>, @here and @everyone too; "
        "see <https://evil.example|the docs> & act.\n" + "filler " * 200
    )
    view = await open_thread_settings(slack, starter, channel, root)
    notice = await save_thread_settings(
        slack, starter, view, channel, root, {"instructions": hostile}
    )

    quoted = notice.split("added to each person's own:\n", 1)[1]
    assert quoted.startswith(">Ping &lt;@UBOSS&gt; and &lt;!channel&gt;, @\u200bhere and ")
    assert (
        "@\u200beveryone" in quoted and "&lt;https://evil.example|the docs&gt; &amp; act." in quoted
    )
    for fired in ("<@UBOSS>", "<!channel>", "<https:", "@here", "@everyone"):
        assert fired not in notice
    # Bounded: the start of long instructions, marked as cut.
    assert quoted.endswith("…") and len(quoted) < 700
    [post] = [c for c in slack.calls_to("chat.postMessage") if c.params.get("text") == notice]
    assert post.params.get("unfurl_links") is False
