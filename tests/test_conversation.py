"""End to end: the real bot answering in threads over the fakes (native streaming)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.fakes.slack_faults import attach_faults
from tests.inproc import InProcessBot
from tests.manifests import installed, with_events
from tests.seen import bot_texts, settled, thread_text, wait_for_text

BOT = "<@UBOT>"
WAITING = "Ready: waiting for Slack to take more messages in this channel…"


def last_input_text(model: FakeOpenAI) -> str:
    return str(model.requests[-1].body.get("input"))


async def test_mention_is_answered_in_its_thread_with_context(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, alice, bob = new_id("C"), new_id("U"), new_id("U")
    slack.add_user(alice, "alice")
    slack.add_user(bob, "bob")
    root = await slack.post_user_message(channel, alice, "Our travel budget is 4200 euros.")
    await slack.post_user_message(channel, bob, "And we leave on Friday.", thread_ts=root)
    question = f"{BOT} [chunks:8][chunk_delay:0.4] what is our budget?"
    await slack.post_user_message(channel, alice, question, thread_ts=root)

    text = await wait_for_text(slack, channel, root, "what is our budget?")

    assert "Answer to: alice:" in text
    request = next(r for r in model.requests if "what is our budget" in str(r.body))
    sent = str(request.body["input"])
    assert "alice: Our travel budget is 4200 euros." in sent
    assert "bob: And we leave on Friday." in sent
    assert "<@UBOT>" not in sent
    # Streamed: the answer grew over several calls rather than arriving whole.
    appends = [c for c in slack.calls_to("chat.appendStream") if c.params.get("channel") == channel]
    assert len(appends) >= 1
    [start] = [c for c in slack.calls_to("chat.startStream") if c.params.get("channel") == channel]
    assert "what is our budget?" not in str(start.params.get("chunks"))
    # Nothing was said about the two earlier messages, which did not mention the bot.
    assert len(slack.bot_replies(channel, root)) == 1


async def test_direct_message_is_answered_in_a_thread_under_it(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "hello there")
    text = await wait_for_text(slack, dm, ts, "hello there")
    assert text.startswith("Answer to:")
    assert all(m.thread_ts == ts for m in slack.bot_replies(dm, ts))


async def test_follow_up_in_a_joined_thread_needs_no_mention(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    root = await slack.post_user_message(channel, user, f"{BOT} first question")
    await wait_for_text(slack, channel, root, "first question")
    other_root = await slack.post_user_message(channel, user, "a thread without the bot")
    await slack.post_user_message(channel, user, "not for the bot", thread_ts=other_root)
    await slack.post_user_message(channel, user, "second question", thread_ts=root)

    text = await wait_for_text(slack, channel, root, "second question")

    assert "first question" in text
    assert slack.bot_replies(channel, other_root) == []


async def test_edits_deletions_joins_and_bots_are_ignored_but_acked(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    base = {"channel": dm, "channel_type": "im"}
    envelopes = [
        await slack.deliver_event(
            {
                **base,
                "type": "message",
                "subtype": "message_changed",
                "ts": "1.000001",
                "message": {"text": "edited", "user": user},
            }
        ),
        await slack.deliver_event(
            {**base, "type": "message", "subtype": "message_deleted", "ts": "1.000002"}
        ),
        await slack.deliver_event(
            {
                **base,
                "type": "message",
                "subtype": "channel_join",
                "user": user,
                "ts": "1.000003",
                "text": "joined",
            }
        ),
        await slack.deliver_event(
            {**base, "type": "message", "bot_id": "BOTHER", "ts": "1.000004", "text": "beep"}
        ),
        await slack.deliver_event(
            {**base, "type": "message", "user": "UBOT", "ts": "1.000005", "text": "myself"}
        ),
    ]
    # An event the app subscribes to without a listener of its own is acknowledged too.
    with installed(slack, with_events("reaction_added")):
        envelopes.append(
            await slack.deliver_event({"type": "reaction_added", "user": user, "reaction": "+1"})
        )
    envelopes += [
        await slack.deliver_event({**base, "type": "message"}),
    ]
    ts = await slack.post_user_message(dm, user, "a real question")
    await wait_for_text(slack, dm, ts, "a real question")

    await slack.wait_for(lambda: all(e in slack.acks for e in envelopes), what="acks")
    assert [m.ts for m in slack.messages_in(dm) if m.bot_id] == [
        m.ts for m in slack.bot_replies(dm, ts)
    ]


async def test_second_message_in_a_busy_thread_gets_a_busy_reply(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    first = await slack.post_user_message(dm, user, "[delay:5] slow question")
    await slack.wait_for(lambda: bool(slack.assistant_status.get((dm, first))), what="status")
    await slack.post_user_message(dm, user, "impatient follow-up", thread_ts=first)

    text = await wait_for_text(slack, dm, first, "slow question")

    assert "still answering your previous message" in text
    assert "Answer to" in text and "impatient follow-up" not in text


async def test_duplicate_envelopes_get_one_answer(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    root = await slack.post_user_message(channel, user, f"{BOT} [delay:1] answer me once")
    for envelope in list(slack.envelopes_for_ts[root]):
        await slack.redeliver(envelope)
    await wait_for_text(slack, channel, root, "answer me once")
    for envelope in list(slack.envelopes_for_ts[root]):
        await slack.redeliver(envelope)
    control = await slack.post_user_message(channel, user, f"{BOT} control")
    await wait_for_text(slack, channel, control, "control")

    assert len(slack.bot_replies(channel, root)) == 1
    assert sum("answer me once" in str(r.body) for r in model.requests) == 1


async def test_fifty_rapid_fire_messages_from_one_person_are_all_answered(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    # The plan's acceptance test, with the default settings: no per-person limit.
    user = new_id("U")
    threads = [(new_id("C"), i) for i in range(50)]
    roots = await asyncio.gather(
        *(slack.post_user_message(ch, user, f"{BOT} rapid {i}") for ch, i in threads)
    )
    for (channel, i), root in zip(threads, roots, strict=True):
        await wait_for_text(slack, channel, root, f"rapid {i}", timeout=60)
        assert len(answers_in(slack, channel, root, f"rapid {i}")) == 1
    assert not any("last minute" in e.text for e in slack.ephemerals_for(user))
    assert not any(
        slack.messages[(channel, root)].reactions
        for (channel, _), root in zip(threads, roots, strict=True)
    )


async def test_hung_model_calls_time_out_while_others_are_answered(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    # All in one channel: the hung answers' writes hold up nobody else's there.
    channel = new_id("C")
    hung_roots = await asyncio.gather(
        *(
            slack.post_user_message(channel, new_id("U"), f"{BOT} [hang] stuck {i}")
            for i in range(15)
        )
    )
    await model.wait_for(lambda: model.hung_requests == 15, what="15 hung calls")
    normal_roots = await asyncio.gather(
        *(slack.post_user_message(channel, new_id("U"), f"{BOT} fine {i}.") for i in range(10))
    )
    for i, root in enumerate(normal_roots):
        await wait_for_text(slack, channel, root, f"fine {i}.")
    # Normal answers came while all 15 calls were still hanging.
    assert model.hung_requests == 15

    for root in hung_roots:
        text = await wait_for_text(slack, channel, root, "didn't finish within 6 seconds")
        assert "Thinking" not in text
    after = new_id("C")
    root = await slack.post_user_message(after, new_id("U"), f"{BOT} still there?")
    await wait_for_text(slack, after, root, "still there?")


async def test_model_errors_become_one_honest_line(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    cases = {
        "[status:429]": "rate-limiting",
        "[status:503]": "had a server error",
        "[status:401]": "refused this bot's API key",
        "[status:400]": "rejected this request",
    }
    posted = []
    for marker, expected in cases.items():
        dm = new_id("D")
        posted.append((dm, await slack.post_user_message(dm, user, f"{marker} q"), expected))
    for dm, ts, expected in posted:
        text = await wait_for_text(slack, dm, ts, expected)
        assert len(slack.bot_replies(dm, ts)) == 1
        assert "sk-test-key" not in text and "xoxb" not in text
    assert "sk-test-key" not in bot.log and "xoxb-test-token" not in bot.log


async def test_socket_disconnect_mid_answer_loses_nothing(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    connections = slack.connection_count
    ts = await slack.post_user_message(dm, user, "[chunks:8][chunk_delay:0.4] long story")
    await slack.wait_for(
        lambda: any(c.params.get("channel") == dm for c in slack.calls_to("chat.appendStream")),
        what="answer streaming",
    )
    await slack.disconnect_clients()
    await slack.wait_connected(connections + 1)
    await wait_for_text(slack, dm, ts, "long story")
    after = await slack.post_user_message(dm, user, "after the reconnect")
    await wait_for_text(slack, dm, after, "after the reconnect")


async def test_long_answer_in_a_native_stream_is_split_without_breaking_code(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "[long:40000] write a lot")
    await slack.wait_for(
        lambda: settled(slack, dm, ts) and len(thread_text(slack, dm, ts)) > 38_000
    )
    texts = bot_texts(slack, dm, ts)
    # Messages of Markdown within Slack's 12,000 characters of markdown blocks.
    assert len(texts) >= 4
    assert all(len(t) <= 12_000 for t in texts)
    assert all(t.count("```") % 2 == 0 for t in texts)
    assert "Thinking" not in thread_text(slack, dm, ts)


async def test_a_stream_closed_by_slack_continues_by_editing(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    slack.close_streams_after_appends = 1
    try:
        ts = await slack.post_user_message(dm, user, "[chunks:8][chunk_delay:0.3] keep going")
        text = await wait_for_text(slack, dm, ts, "keep going")
    finally:
        slack.close_streams_after_appends = None
    assert text.startswith("Answer to:")
    [reply] = slack.bot_replies(dm, ts)
    assert any(c.params.get("ts") == reply.ts for c in slack.calls_to("chat.update"))


async def test_a_long_thread_is_read_across_every_page(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    slack.add_user(user, "carol")
    root = await slack.post_user_message(channel, user, "fact 0: the root")
    for i in range(1, 7):
        await slack.post_user_message(channel, user, f"fact {i}: detail", thread_ts=root)
    slack.replies_page_size = 2
    try:
        await slack.post_user_message(channel, user, f"{BOT} summarise the facts", thread_ts=root)
        await wait_for_text(slack, channel, root, "summarise the facts")
    finally:
        slack.replies_page_size = 1000
    sent = next(
        str(r.body["input"]) for r in model.requests if "summarise the facts" in str(r.body)
    )
    assert all(f"carol: fact {i}:" in sent for i in range(7))
    assert (
        len(
            [
                c
                for c in slack.calls_to("conversations.replies")
                if c.params.get("channel") == channel
            ]
        )
        >= 4
    )


async def test_slack_failing_to_return_the_thread_still_gets_an_answer(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    root = await slack.post_user_message(channel, user, f"{BOT} first")
    await wait_for_text(slack, channel, root, "first")
    attach_faults(slack).fail_next(
        "conversations.replies", status=200, error="internal_error", count=1
    )
    await slack.post_user_message(channel, user, "second, while Slack hiccups", thread_ts=root)
    text = await wait_for_text(slack, channel, root, "second, while Slack hiccups")
    assert "first" in text


async def test_malformed_events_do_not_stop_the_bot(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    strange: list[dict[str, Any]] = [
        {"type": "message", "channel": dm, "user": user, "text": 42, "ts": "2.000001"},
        {"type": "message", "channel": {"id": dm}, "user": user, "text": "x", "ts": "2.000002"},
        {"type": "message", "channel": dm, "user": user, "text": "no ts"},
        {"type": "message", "channel": dm, "user": user, "text": "bad ts", "ts": "soon"},
        {"type": "app_mention", "channel": None, "user": None, "text": None, "ts": None},
        {"type": "message", "channel": dm, "user": user, "text": "\x00" * 10, "ts": "2.000003"},
    ]
    envelopes = [await slack.deliver_event(event) for event in strange]
    ts = await slack.post_user_message(dm, user, "still fine?")
    await wait_for_text(slack, dm, ts, "still fine?")
    await slack.wait_for(lambda: all(e in slack.acks for e in envelopes), what="acks")


async def test_a_timeout_keeps_what_was_written_and_says_it_stopped(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "[chunks:6][stall_after:2] half an answer")
    text = await wait_for_text(slack, dm, ts, "didn't finish within 6 seconds")
    written, _, notice = text.partition(":hourglass:")
    # Two of the six pieces arrived: they stay, the end of the answer never came.
    assert written.startswith("Answer to:") and len(written.strip()) > len("Answer to:")
    assert "half an answer" not in written
    assert "stopped here" in notice


async def test_a_failed_stream_start_falls_back_to_editing_the_status_message(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    attach_faults(slack).fail_next("chat.startStream", status=500)
    ts = await slack.post_user_message(dm, user, "[chunks:4][chunk_delay:0.3] despite it")
    text = await wait_for_text(slack, dm, ts, "despite it")
    assert text.startswith("Answer to:")
    assert len(slack.bot_replies(dm, ts)) == 1
    # Native streaming is still used for the next answer.
    again = await slack.post_user_message(dm, user, "[chunks:4][chunk_delay:0.3] streamed again")
    await wait_for_text(slack, dm, again, "streamed again")
    [reply] = slack.bot_replies(dm, again)
    assert any(c.params.get("ts") == reply.ts for c in slack.calls_to("chat.stopStream"))


async def test_a_refused_status_message_gets_one_honest_line_and_no_model_call(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    # No loading state here, and the status message standing in for it is refused.
    faults = attach_faults(slack)
    faults.fail_next("assistant.threads.setStatus", error="channel_not_found")
    faults.fail_next("chat.postMessage", error="restricted_action")
    ts = await slack.post_user_message(dm, user, "a question Slack will not let me answer")
    text = await wait_for_text(slack, dm, ts, "restricted_action")
    assert "Slack refused one of my messages" in text
    assert len(slack.bot_replies(dm, ts)) == 1
    assert not any("will not let me answer" in str(r.body) for r in model.requests)


async def ask_at_once(
    slack: FakeSlack, channel: str, questions: list[str], new_id: Callable[[str], str]
) -> list[str]:
    return list(
        await asyncio.gather(
            *(slack.post_user_message(channel, new_id("U"), f"<@UBOT> {q}") for q in questions)
        )
    )


def answers_in(slack: FakeSlack, channel: str, root: str, needle: str) -> list[str]:
    return [text for text in bot_texts(slack, channel, root) if needle in text]


async def test_fifty_questions_in_one_channel_do_not_queue_behind_each_other(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    questions = [f"[delay:0.5] crowded {i}." for i in range(50)]
    roots = await ask_at_once(slack, channel, questions, new_id)
    # Slack takes them all (no limits here): nothing holds one answer behind another's.
    for i, root in enumerate(roots):
        await wait_for_text(slack, channel, root, f"crowded {i}.")
        assert len(answers_in(slack, channel, root, f"crowded {i}.")) == 1
    assert not [call for call in slack.calls if call.status == 429]


# Last in the module: the bot paces every channel's posting for a minute after it.
async def test_under_slacks_limits_every_question_is_answered_once(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channels = [new_id("C") for _ in range(2)]
    faults = attach_faults(slack)
    faults.realistic_limits()
    try:
        asked = {
            channel: await ask_at_once(
                slack,
                channel,
                [f"[chunks:4][chunk_delay:0.3] limited {i}." for i in range(5)],
                new_id,
            )
            for channel in channels
        }
        for channel, roots in asked.items():
            for i, root in enumerate(roots):
                await wait_for_text(slack, channel, root, f"limited {i}.", timeout=60)
    finally:
        slack.detach()
    for channel, roots in asked.items():
        for i, root in enumerate(roots):
            assert settled(slack, channel, root)
            [answer] = answers_in(slack, channel, root, f"limited {i}.")
            assert answer.startswith("Answer to:")
        # Loading states overtaken by their answer while waiting for Slack were not
        # sent; an answer Slack held back said so, once.
        statuses = [
            (call.params["thread_ts"], " ".join(call.params.get("loading_messages") or []))
            for call in slack.calls_to("assistant.threads.setStatus")
            if call.params.get("channel_id") == channel and call.error is None
        ]
        assert sum("Thinking" in status for _, status in statuses) < len(roots), statuses
        for root in roots:
            assert [s for t, s in statuses if t == root and "waiting for Slack" in s] in (
                [],
                [WAITING],
            ), statuses
    # Slack refused a few calls while the bot learned its limits; no more.
    assert faults.rate_limited_total() <= 12, faults.rate_limited_count
