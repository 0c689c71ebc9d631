"""End to end: `/ai`, the settings modal and its scopes, App Home, the assistant panel,
feedback and usage, as a Slack user would meet them, over the fakes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI, responses_prompt
from sandbox.workspace import FakeSlack, View, blocks_text
from tests.fakes.scripted_model import parse_markers, plan_answer
from tests.inproc import InProcessBot, bot_in_process
from tests.manifests import assistant_view_manifest, installed
from tests.pictures import picture
from tests.seen import command, wait_for_text

BOT = "<@UBOT>"
ADMIN = "UADMIN1"
MODELS = "gpt-4.1-mini,gpt-5.4-mini,o3"


@pytest.fixture(scope="module")
async def bot(slack: FakeSlack, model: FakeOpenAI, bot_dir: Path) -> AsyncIterator[InProcessBot]:
    async with bot_in_process(
        slack,
        model,
        bot_dir,
        ADMIN_USERS=ADMIN,
        ALLOWED_MODELS=MODELS,
        MODEL_PRICES="gpt-4.1-mini=1000/2000",
    ) as process:
        yield process


async def open_modal(slack: FakeSlack, user: str, channel: str, text: str = "settings") -> View:
    envelope = await slack.slash_command(user, channel, text)
    await slack.wait_for(
        lambda: envelope in slack.acks and bool(slack.open_modals(user)),
        what="/ai settings acknowledged and the modal open",
    )
    return slack.open_modals(user)[-1]


def fields(view: View) -> list[str]:
    return [b["block_id"] for b in view.blocks if b["type"] == "input"]


def answering_request(model: FakeOpenAI, words: str) -> dict[str, object]:
    return next(r.body for r in reversed(model.requests) if words in json.dumps(r.body))


async def test_settings_modal_saved_settings_apply_to_the_next_answer(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    view = await open_modal(slack, user, channel)

    shown = blocks_text(view.blocks)
    assert "Your defaults" in shown
    assert "Default (gpt-4.1-mini)" in shown and "o3" in shown and "gpt-5.4-mini" in shown
    # The default model takes sampling parameters, not reasoning ones.
    assert {"model", "temperature", "top_p", "instructions", "web_search"} <= set(fields(view))
    assert "reasoning_effort" not in fields(view)

    await slack.submit_view(
        user,
        view.id,
        {"temperature": "0.25", "instructions": "Always end with PINEAPPLE.", "web_search": "on"},
    )
    assert view.closed and not view.errors

    root = await slack.post_user_message(channel, user, f"{BOT} first question after saving")
    await wait_for_text(slack, channel, root, "first question after saving")
    body = answering_request(model, "first question after saving")
    assert body["temperature"] == 0.25
    assert "Always end with PINEAPPLE." in str(body["instructions"])
    assert {"type": "web_search"} in list(body["tools"])  # type: ignore[call-overload]


async def test_invalid_values_are_shown_in_the_modal_and_nothing_is_saved(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    view = await open_modal(slack, user, channel)
    await slack.submit_view(user, view.id, {"temperature": "very hot", "top_p": "3"})

    assert not view.closed and view.errors is not None
    assert "0 to 2" in view.errors["temperature"]
    assert "0 to 1" in view.errors["top_p"]
    root = await slack.post_user_message(channel, user, f"{BOT} nothing was saved")
    await wait_for_text(slack, channel, root, "nothing was saved")
    assert "temperature" not in answering_request(model, "nothing was saved")


async def test_choosing_a_reasoning_model_rebuilds_the_modal(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    view = await open_modal(slack, user, channel)
    await slack.submit_view(user, view.id, {"temperature": "0.5"})
    view = await open_modal(slack, user, channel)
    assert any(b.get("element", {}).get("initial_value") == "0.5" for b in view.blocks)

    await slack.click(user, view_id=view.id, action_id="model", value="gpt-5.4-mini")
    await slack.wait_for(lambda: "reasoning_effort" in fields(view), what="the rebuilt modal")
    assert "temperature" not in fields(view) and "verbosity" in fields(view)

    await slack.submit_view(user, view.id, {"reasoning_effort": "high", "verbosity": "low"})
    assert view.closed
    root = await slack.post_user_message(channel, user, f"{BOT} think hard")
    await wait_for_text(slack, channel, root, "think hard")
    body = answering_request(model, "think hard")
    assert body["model"] == "gpt-5.4-mini"
    assert body["reasoning"] == {"effort": "high"}
    assert body["text"] == {"verbosity": "low"}
    assert "temperature" not in body


async def test_thread_settings_apply_to_that_thread_only(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, other, channel = new_id("U"), new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, user, f"{BOT} start of the thread")
    await wait_for_text(slack, channel, root, "start of the thread")

    await slack.message_shortcut(user, channel, root, "thread_settings")
    await slack.wait_for(lambda: bool(slack.open_modals(user)), what="the thread modal")
    view = slack.open_modals(user)[-1]
    assert "This thread" in blocks_text(view.blocks)
    await slack.submit_view(user, view.id, {"model": "o3"})
    # Everyone in the thread is told: its settings now decide their answers too.
    await slack.wait_for(
        lambda: any("changed the settings" in m.text for m in slack.bot_replies(channel, root)),
        what="the notice in the thread",
    )

    # Anyone answered in that thread gets its settings.
    await slack.post_user_message(channel, other, f"{BOT} in the tuned thread", thread_ts=root)
    await wait_for_text(slack, channel, root, "in the tuned thread")
    assert answering_request(model, "in the tuned thread")["model"] == "o3"
    elsewhere = await slack.post_user_message(channel, user, f"{BOT} another thread")
    await wait_for_text(slack, channel, elsewhere, "another thread")
    assert answering_request(model, "another thread")["model"] == "gpt-4.1-mini"


async def test_channel_settings_are_for_admins_even_with_a_forged_payload(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    assert "Only admins" in await command(slack, user, channel, "settings channel")
    assert not slack.open_modals(user)

    # A user modal whose payload is rewritten to claim the channel's scope.
    view = await open_modal(slack, user, channel)
    meta = json.loads(view.private_metadata or "{}")
    view.private_metadata = json.dumps({**meta, "scope": "channel", "key": channel})
    await slack.submit_view(user, view.id, {"model": "o3", "instructions": "Say HACKED."})
    assert not view.closed and view.errors is not None
    assert "out of date" in view.errors["model"]

    root = await slack.post_user_message(channel, new_id("U"), f"{BOT} is it untouched")
    await wait_for_text(slack, channel, root, "is it untouched")
    body = answering_request(model, "is it untouched")
    assert body["model"] == "gpt-4.1-mini" and "HACKED" not in str(body["instructions"])

    # The admin can, and the channel's instructions reach everyone there.
    view = await open_modal(slack, ADMIN, channel, "settings channel")
    assert "Only admins can change them" in blocks_text(view.blocks)
    await slack.submit_view(ADMIN, view.id, {"instructions": "Answer like a pirate."})
    assert view.closed
    root = await slack.post_user_message(channel, user, f"{BOT} ahoy there")
    await wait_for_text(slack, channel, root, "ahoy there")
    assert "Answer like a pirate." in str(answering_request(model, "ahoy there")["instructions"])


async def test_first_contact_is_welcomed_and_answered_at_once(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, user, f"{BOT} hello for the first time")
    await wait_for_text(slack, channel, root, "hello for the first time")
    await slack.wait_for(lambda: bool(slack.ephemerals_for(user)), what="the welcome")
    [welcome] = slack.ephemerals_for(user)
    assert "Welcome" in welcome.text and welcome.thread_ts == root

    await slack.click(user, ephemeral=welcome, action_id="open_settings")
    await slack.wait_for(lambda: bool(slack.open_modals(user)), what="settings from the welcome")

    again = await slack.post_user_message(channel, user, f"{BOT} second message")
    await wait_for_text(slack, channel, again, "second message")
    assert len(slack.ephemerals_for(user)) == 1


async def test_app_home_shows_effective_settings_and_opens_them(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    view = await open_modal(slack, user, channel)
    await slack.submit_view(user, view.id, {"model": "o3", "instructions": "Use metric units."})

    await slack.open_home(user)
    await slack.wait_for(lambda: slack.home_view(user) is not None, what="App Home")
    home = slack.home_view(user)
    assert home is not None
    shown = blocks_text(home.blocks)
    assert "Model: o3" in shown.replace("*", "")
    assert "Use metric units." in shown
    await slack.click(user, view_id=home.id, action_id="show_usage")
    await slack.wait_for(lambda: bool(slack.open_modals(user)), what="the usage modal")
    assert "Your usage this month" in blocks_text(slack.open_modals(user)[-1].blocks)


async def test_assistant_panel_greets_suggests_shows_status_and_answers(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    # An install from before the agent experience: the assistant panel.
    with installed(slack, assistant_view_manifest()):
        channel, thread = await slack.start_assistant_thread(user)
        key = (channel, thread)
        await slack.wait_for(lambda: key in slack.suggested_prompts, what="suggested prompts")
        assert any("What can I help you with" in m.text for m in slack.bot_replies(channel, thread))

        await slack.post_user_message(
            channel, user, "Plan a team offsite in Lisbon for twelve", thread_ts=thread
        )
        await wait_for_text(slack, channel, thread, "Plan a team offsite")
        assert slack.assistant_titles[key] == "Plan a team offsite in Lisbon for twelve"
        # The panel's own status, with a loading message, stands in for a status message.
        [status] = [
            c.params
            for c in slack.calls_to("assistant.threads.setStatus")
            if c.params.get("thread_ts") == thread
        ]
        assert status["status"] == "is thinking…" and status["loading_messages"] == ["Thinking…"]
        posted = [
            c.params.get("text") or ""
            for c in slack.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == thread
        ]
        assert not any("Thinking" in text for text in posted)
        assert slack.assistant_status.get(key, "") == ""


async def test_streaming_off_shows_the_answer_whole_and_image_settings_apply(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    view = await open_modal(slack, user, channel)
    await slack.submit_view(
        user, view.id, {"streaming": "off", "image_size": "landscape", "vision_detail": "low"}
    )
    draw = '[tool:generate_image:{"prompt": "a red kite", "size": "square"}]'
    root = await slack.post_user_message(
        channel, user, f"{BOT} [chunks:6][chunk_delay:0.3] {draw} draw it"
    )
    await wait_for_text(slack, channel, root, "Tool result")

    streamed = [
        c
        for c in slack.calls_to("chat.startStream") + slack.calls_to("chat.appendStream")
        if c.params.get("channel") == channel
    ]
    assert streamed == []
    generation = next(r for r in model.requests if r.path.endswith("/images/generations"))
    assert generation.body["size"] == "1536x1024"

    photo = await slack.post_user_message(
        channel, user, f"{BOT} what colour is it", files=[picture("kite.png", 800, 600)]
    )
    await wait_for_text(slack, channel, photo, "saw 1 image")
    looked = next(r for r in reversed(model.requests) if "what colour is it" in str(r.body))
    assert [image.detail for image in looked.images] == ["low"]


async def test_feedback_is_stored_and_counted_for_admins_with_usage_and_cost(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, user, f"{BOT} rate this answer")
    await wait_for_text(slack, channel, root, "rate this answer")
    answer = slack.bot_replies(channel, root)[-1]
    assert "Good answer" in blocks_text(answer.blocks or [])

    await slack.click(user, message=answer, action_id="answer_feedback", value="good")
    await slack.wait_for(
        lambda: any("Thanks" in e.text for e in slack.ephemerals_for(user, channel)),
        what="the thanks",
    )

    body = answering_request(model, "rate this answer")
    prompt = responses_prompt(body)
    tokens_in = prompt.input_tokens
    tokens_out = plan_answer(parse_markers(prompt.last_user_text), prompt).output_tokens
    mine = await command(slack, user, channel, "usage")
    assert f"1 answers, {tokens_in:,} tokens in, {tokens_out:,} out" in mine
    # 1000 and 2000 dollars per million tokens (MODEL_PRICES above).
    assert f"${(tokens_in * 1000 + tokens_out * 2000) / 1e6:,.4f}" in mine
    assert "Feedback" not in mine
    everyone = await command(slack, ADMIN, channel, "usage")
    assert ":+1: 1" in everyone and "Everyone" in everyone


async def test_help_status_and_unknown_subcommands(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    assert "/ai settings" in await command(slack, user, channel, "help")
    unknown = await command(slack, user, channel, "frobnicate now")
    assert "I don't know `/ai frobnicate now`" in unknown and "/ai settings" in unknown
    status = await command(slack, user, channel, "status")
    assert "Model API:* :white_check_mark: answers" in status and "Answering now" in status
    assert "*Event loop:* " in status and "worst lag in the last hour" in status
    assert "*File readers:* 0 of 2 busy, 0 files waiting" in status
    assert "not set up" in await command(slack, user, channel, "browser")


async def test_a_dm_is_one_conversation_until_reset(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel, dm = new_id("U"), new_id("C"), new_id("D")
    first = await slack.post_user_message(dm, user, "my code word is MANGO")
    await wait_for_text(slack, dm, first, "MANGO")
    second = await slack.post_user_message(dm, user, "what is my code word?")
    await wait_for_text(slack, dm, second, "my code word?")
    assert "MANGO" in json.dumps(answering_request(model, "what is my code word?")["input"])

    assert "is for our DM" in await command(slack, user, channel, "reset")
    assert "fresh conversation" in await command(slack, user, dm, "reset")
    third = await slack.post_user_message(dm, user, "and now, my code word?")
    await wait_for_text(slack, dm, third, "and now, my code word?")
    assert "MANGO" not in json.dumps(answering_request(model, "and now, my code word?")["input"])
