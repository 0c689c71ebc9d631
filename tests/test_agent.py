"""End to end: Slack's agent messaging experience, as a person meets it, over the fakes.

The fake workspace has the project's manifest installed (agent_view): it sends only the
events that manifest subscribes to and offers only its commands and shortcuts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.manifest import ManifestRejected, check_manifest, load_manifest
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, UploadedFile
from slack_client.listeners.commands import parse_since
from tests.inproc import InProcessBot, bot_in_process
from tests.manifests import assistant_view_manifest
from tests.seen import command, thread_text, wait_for_text

ADA, BEN, OUTSIDER = "UADA01", "UBEN01", "UOUT01"
README = Path(__file__).resolve().parent.parent / "README.md"
CHANNEL_ENTITY = "slack#/types/channel_id"
MESSAGE_ENTITY = "slack#/types/message_context"


@pytest.fixture(scope="module")
async def bot(slack: FakeSlack, model: FakeOpenAI, bot_dir: Path) -> AsyncIterator[InProcessBot]:
    slack.add_user(ADA, "Ada")
    slack.add_user(BEN, "Ben")
    async with bot_in_process(slack, model, bot_dir) as process:
        yield process


def test_the_readme_sets_up_the_agent_experience_from_the_manifest() -> None:
    setup = README.read_text(encoding="utf-8")
    assert "[`manifest.json`](manifest.json)" in setup
    app = check_manifest(load_manifest())
    assert app.experience == "agent"
    assert {"app_home_opened", "app_context_changed", "agent_session_stopped"} <= app.events
    assert {"message.im", "app_mention"} <= app.events
    assert {"summarize_thread", "thread_settings"} == app.shortcuts
    assert app.commands == {"/ai"}
    # An app created before the agent experience keeps its manifest valid too.
    assert check_manifest(assistant_view_manifest()).experience == "assistant"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (lambda m: m["features"].update(assistant_view={}), "exclude each other"),
        (
            lambda m: m["settings"]["event_subscriptions"]["bot_events"].append(
                "assistant_thread_started"
            ),
            "cannot be subscribed with agent_view",
        ),
        (lambda m: m["features"].pop("agent_view"), "need features.agent_view"),
        (lambda m: m["oauth_config"]["scopes"]["bot"].remove("im:history"), "im:history"),
        (
            lambda m: m["features"]["agent_view"]["suggested_prompts"].append(
                {"title": "Fifth", "message": "One too many"}
            ),
            "at most 4",
        ),
        (
            lambda m: m["features"]["agent_view"].update(assistant_description="old name"),
            "agent_description",
        ),
    ],
)
def test_the_fake_refuses_manifests_slack_refuses(
    change: Callable[[dict[str, object]], object], refusal: str
) -> None:
    manifest = copy.deepcopy(load_manifest())
    change(manifest)
    with pytest.raises(ManifestRejected, match=refusal):
        check_manifest(manifest)


def test_since_takes_a_time_ago_or_a_date() -> None:
    now = 1_800_000_000.0
    assert parse_since("3h", now) == now - 3 * 3600
    assert parse_since("2d", now) == now - 2 * 86400
    assert parse_since("2026-12-01", now) == 1_796_083_200.0
    assert parse_since("soon", now) is None


async def test_opening_the_messages_tab_greets_once_and_pins_prompts(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    await slack.open_messages_tab(user)
    await slack.wait_for(lambda: (dm, "") in slack.suggested_prompts, what="pinned prompts")
    await slack.wait_for(lambda: bool(slack.messages_in(dm)), what="the greeting")
    [greeting] = slack.messages_in(dm)
    assert "Welcome" in greeting.text and greeting.thread_ts is None
    titles = [p["title"] for p in slack.suggested_prompts[(dm, "")].prompts]
    assert "Draw a picture" in titles

    envelope = await slack.open_messages_tab(user)
    await slack.wait_for(lambda: envelope in slack.acks, what="the second visit acknowledged")
    assert len(slack.messages_in(dm)) == 1
    # Nothing of the assistant panel's is needed any more.
    assert not any(m.subtype == "assistant_app_thread" for m in slack.messages_in(dm))


async def test_a_message_in_the_messages_tab_is_answered_in_its_own_thread(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    first = await slack.post_user_message(dm, user, "What is a haiku?")
    await wait_for_text(slack, dm, first, "Answer to:")
    # Slack's loading state showed under the thread until the answer began.
    assert slack.assistant_status_history[(dm, first)][:1] == ["is thinking…"]
    second = await slack.post_user_message(dm, user, "And a limerick?")
    await wait_for_text(slack, dm, second, "And a limerick?")
    assert "limerick" not in thread_text(slack, dm, first)


async def test_summarise_this_reads_the_channel_the_person_has_open(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    slack.add_channel(channel, [ADA, BEN])
    await slack.post_user_message(channel, BEN, "Launch moves to Friday, QA needs two more days.")
    await slack.post_user_message(channel, ADA, "Agreed: Friday it is.")
    dm = slack.dm_channel(ADA)
    await slack.open_messages_tab(ADA)
    await slack.change_context(ADA, [{"type": CHANNEL_ENTITY, "value": channel}])
    # The prompts follow what the person has open.
    await slack.wait_for(
        lambda: (
            (dm, "") in slack.suggested_prompts
            and slack.suggested_prompts[(dm, "")].prompts[0]["title"] == "Summarise this channel"
        ),
        what="prompts about the open channel",
    )
    asked = await slack.post_user_message(
        dm, ADA, "summarise this [tool:read_open_conversation:{}]"
    )
    text = await wait_for_text(slack, dm, asked, "Tool result:")
    assert "Ben: Launch moves to Friday" in text and "Ada: Agreed: Friday it is." in text


async def test_a_conversation_the_person_is_not_in_is_not_read_to_them(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    secret = new_id("G")
    slack.add_channel(secret, [BEN], private=True)
    await slack.post_user_message(secret, BEN, "The acquisition price is 40 million.")
    dm = slack.dm_channel(ADA)
    asked = await slack.post_user_message(
        dm,
        ADA,
        "what did they decide? [tool:read_open_conversation:{}]",
        app_context={"entities": [{"type": CHANNEL_ENTITY, "value": secret}]},
    )
    text = await wait_for_text(slack, dm, asked, "Tool result:")
    assert "conversations you're in yourself" in text
    assert "40 million" not in text


async def test_the_summarize_thread_shortcut_writes_the_summary_in_the_dm(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    slack.add_channel(channel, [ADA, BEN])
    root = await slack.post_user_message(channel, BEN, "Which database for the new service?")
    await slack.post_user_message(channel, ADA, "PostgreSQL, we know it well.", thread_ts=root)
    reply = await slack.post_user_message(channel, BEN, "Fine, PostgreSQL.", thread_ts=root)

    envelope = await slack.message_shortcut(ADA, channel, reply, "summarize_thread")
    await slack.wait_for(lambda: bool(slack.responses.get(envelope)), what="the shortcut's note")
    assert "our DM" in slack.responses[envelope][-1].text
    dm = slack.dm_channel(ADA)
    summary = await _summary_in(slack, dm, "Summary of a thread in")
    text = await wait_for_text(slack, dm, summary, "Answer to:")
    assert "Ada: PostgreSQL, we know it well." in text and "Ben: Fine, PostgreSQL." in text
    # Nothing was posted where the thread is.
    assert not slack.bot_replies(channel, root)


async def test_ai_summarize_summarises_the_channel_and_refuses_outsiders(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel = new_id("G")
    slack.add_channel(channel, [ADA, BEN], private=True)
    await slack.post_user_message(channel, BEN, "Budget approved for the offsite.")

    slack.channel_names[channel] = "plans"
    # Slack writes #plans as <#G…|plans> in the command's text (should_escape).
    envelope = await slack.slash_command(OUTSIDER, new_id("C"), "summarize #plans 1d")
    await slack.wait_for(lambda: bool(slack.responses.get(envelope)), what="the refusal")
    assert "conversations you're in yourself" in slack.responses[envelope][-1].text

    envelope = await slack.slash_command(ADA, channel, "summarize 1d")
    await slack.wait_for(lambda: bool(slack.responses.get(envelope)), what="the note")
    dm = slack.dm_channel(ADA)
    summary = await _summary_in(slack, dm, f"Summary of <#{channel}> since")
    text = await wait_for_text(slack, dm, summary, "Answer to:")
    assert "Ben: Budget approved for the offsite." in text


async def test_the_stop_button_ends_the_answer_keeps_what_was_written_and_frees_the_thread(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    asked = await slack.post_user_message(
        dm, user, "Tell me a long story [chunks:60] [chunk_delay:0.25]"
    )
    await slack.wait_for(
        lambda: any(m.streaming and "Answer" in m.text for m in slack.bot_replies(dm, asked)),
        what="the answer streaming",
    )
    await slack.press_stop(user, dm, asked)
    text = await wait_for_text(slack, dm, asked, "Stopped.")
    # Cut short: the model's last words never arrived.
    assert "[chunk_delay:0.25]" not in text
    await slack.wait_for(
        lambda: slack.sessions[(dm, asked)] == "active", what="the session out of processing"
    )

    # What the stopped answer cost is counted.
    usage = await command(slack, user, dm, "usage")
    assert re.search(r"1 answers, [1-9][\d,]* tokens in, [1-9][\d,]* out", usage), usage

    await slack.post_user_message(dm, user, "Shorter, please", thread_ts=asked)
    await wait_for_text(slack, dm, asked, "Shorter, please")


async def _summary_in(slack: FakeSlack, dm: str, title: str) -> str:
    await slack.wait_for(
        lambda: any(title in m.text for m in slack.messages_in(dm) if m.thread_ts is None),
        what=f"{title!r} in the DM",
    )
    return next(m.ts for m in slack.messages_in(dm) if title in m.text and m.thread_ts is None)


async def test_a_drawing_shows_as_a_task_of_the_streamed_answer(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    asked = await slack.post_user_message(
        dm, user, 'draw a kite [tool:generate_image:{"prompt": "a red kite"}]'
    )
    await wait_for_text(slack, dm, asked, "Tool result:")
    tasks = [task for m in slack.bot_replies(dm, asked) for task in m.tasks.values()]
    assert tasks == [{"title": "Drawing your image", "status": "complete"}]
    assert slack.uploads and slack.uploads[-1].thread_ts == asked


async def test_a_table_in_the_answer_arrives_as_a_table_block(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    answer = "Plans:\n\n| Plan | Price |\n|---|--:|\n| Pro | $10 |\n| Free | $0 |\n\nPick one."
    asked = await slack.post_user_message(dm, user, f"compare the plans [reply:{answer}]")
    await wait_for_text(slack, dm, asked, "Pick one.")
    [reply] = slack.bot_replies(dm, asked)
    blocks = reply.blocks or []
    assert [b["type"] for b in blocks] == ["markdown", "table", "markdown", "context_actions"]
    assert [[cell["text"] for cell in row] for row in blocks[1]["rows"]] == [
        ["Plan", "Price"],
        ["Pro", "$10"],
        ["Free", "$0"],
    ]


async def test_a_web_search_shows_as_a_step_and_ends_the_answer_with_the_pages_it_cites(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    envelope = await slack.slash_command(user, dm, "settings")
    await slack.wait_for(
        lambda: envelope in slack.acks and bool(slack.open_modals(user)), what="the settings"
    )
    await slack.submit_view(user, slack.open_modals(user)[-1].id, {"web_search": "on"})
    asked = await slack.post_user_message(dm, user, "what happened today? [web:2]")
    answer = await wait_for_text(slack, dm, asked, "Sources:")
    # The answer streamed natively: its sources are Markdown links.
    answer_text, sources = answer.split("Sources:")
    assert "what happened today?" in answer_text
    assert "[Source 1](https://example.com/source-1)" in sources
    assert "[Source 2](https://example.com/source-2)" in sources
    tasks = [task for m in slack.bot_replies(dm, asked) for task in m.tasks.values()]
    assert tasks == [
        {
            "title": "Searching the web",
            "status": "complete",
            "sources": [
                {"type": "url", "url": "https://example.com/source-1", "text": "Source 1"},
                {"type": "url", "url": "https://example.com/source-2", "text": "Source 2"},
            ],
        }
    ]


async def test_only_the_asker_can_stop_an_answer_in_a_channel(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    asked = await slack.post_user_message(
        channel, ADA, "<@UBOT> a long story [chunks:12] [chunk_delay:0.25]"
    )
    await slack.wait_for(
        lambda: any(m.streaming for m in slack.bot_replies(channel, asked)),
        what="the answer streaming",
    )
    stopped = await slack.press_stop(BEN, channel, asked)
    await slack.wait_for(lambda: stopped in slack.acks, what="Ben's stop acknowledged")
    text = await wait_for_text(slack, channel, asked, "[chunk_delay:0.25]")
    assert "Stopped." not in text


async def test_reading_an_attached_file_shows_as_a_step(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    notes = UploadedFile("notes.txt", "text/plain", b"The launch is on Friday.")
    asked = await slack.post_user_message(dm, user, "what day is the launch?", files=[notes])
    await wait_for_text(slack, dm, asked, "what day is the launch?")
    tasks = [task for m in slack.bot_replies(dm, asked) for task in m.tasks.values()]
    assert tasks == [{"title": "Reading your files", "status": "complete"}]


async def test_a_conversation_the_bot_is_not_in_is_named_as_such(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    public, private = new_id("C"), new_id("G")
    slack.add_channel(public, [ADA, BEN], bot=False)
    slack.add_channel(private, [ADA, BEN], private=True, bot=False)
    await slack.post_user_message(public, BEN, "Nobody told the bot about this.")
    await slack.post_user_message(private, BEN, "Nor about this.")
    for channel in (public, private):
        assert "add me to it first" in await command(slack, ADA, channel, "summarize")
