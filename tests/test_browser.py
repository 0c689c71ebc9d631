"""End to end: the browser-automation service from `/ai browser` and as model tools,
with approvals for what changes something, over the fakes (Slack, model, service)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, Message
from tests.botproc import BotProcess
from tests.conftest import running_bot
from tests.fakes.browser_service import FakeBrowserService
from tests.seen import thread_text, wait_for_text

BOT = "<@UBOT>"
SERVICE_TOKEN = "svc-secret-token-42"
TIMEOUT = 3


@pytest.fixture(scope="module")
async def service() -> AsyncIterator[FakeBrowserService]:
    fake = FakeBrowserService(token=SERVICE_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


def service_env(service: FakeBrowserService) -> dict[str, str]:
    return {
        "BROWSER_SERVICE_URL": service.base_url,
        "BROWSER_SERVICE_TOKEN": SERVICE_TOKEN,
        "BROWSER_SERVICE_TIMEOUT_SECONDS": str(TIMEOUT),
        "BROWSER_SERVICE_ACTIONS": "GET *, send_chat_message, greet_candidate",
        "BROWSER_SERVICE_APPROVAL_SECONDS": "4",
    }


@pytest.fixture(scope="module")
async def bot(
    slack: FakeSlack, model: FakeOpenAI, service: FakeBrowserService, bot_dir: Path
) -> AsyncIterator[BotProcess]:
    async with running_bot(slack, model, bot_dir, **service_env(service)) as process:
        yield process


@pytest.fixture(autouse=True)
def healthy_service(service: FakeBrowserService) -> None:
    service.reset()
    service.token = SERVICE_TOKEN


async def command(slack: FakeSlack, user: str, channel: str, text: str) -> list[str]:
    """Run `/ai …`; every private answer, once the last one (not a queue notice) came."""
    envelope = await slack.slash_command(user, channel, text)

    def answered() -> bool:
        texts = [r.text for r in slack.responses.get(envelope, [])]
        return envelope in slack.acks and bool(texts) and "Waiting for" not in texts[-1]

    await slack.wait_for(answered, what=f"/ai {text}")
    return [r.text for r in slack.responses[envelope]]


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


async def test_actions_are_listed_from_the_services_openapi_document(
    slack: FakeSlack, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    [listing] = await command(slack, new_id("U"), new_id("C"), "browser")
    assert "list_dialogs" in listing and "get_chat_messages chat_id=…" in listing
    assert "send_chat_message chat_id=… message=…" in listing and "needs approval" in listing
    # Not allowed by BROWSER_SERVICE_ACTIONS: not offered.
    assert "stop_scheduler" not in listing


async def test_a_reading_action_runs_from_the_command_and_is_formatted(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    [result] = await command(slack, new_id("U"), new_id("C"), "browser list_dialogs limit=2")
    assert "Alice Zhang" in result and '"dialogs"' not in result
    [call] = service.requests_to("/chat/dialogs")
    assert call.query == {"limit": "2"} and call.authorization == f"Bearer {SERVICE_TOKEN}"


async def test_arguments_are_checked_before_anything_is_sent(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    [missing] = await command(slack, user, channel, "browser get_chat_messages")
    assert "`chat_id` is required" in missing
    [wrong] = await command(slack, user, channel, "browser list_dialogs limit=many")
    assert "`limit` must be a whole number" in wrong
    [unknown] = await command(slack, user, channel, "browser list_dialogs colour=red")
    assert "`colour` is not a parameter" in unknown
    assert not service.requests_to("/chat/dialogs")
    assert not service.requests_to("/chat/{chat_id}/messages")


async def test_service_failures_are_reported_as_such(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    [failed] = await command(slack, user, channel, "browser get_chat_messages chat_id=c9")
    assert "could not do it" in failed and "chat c9 not found" in failed

    service.fail_next("/chat/dialogs", 422, detail="limit is too high today")
    [rejected] = await command(slack, user, channel, "browser list_dialogs limit=5")
    assert "not accepted" in rejected and "limit is too high today" in rejected

    # A GET is retried after a crash; the person sees the answer.
    service.fail_next("/chat/dialogs", 500)
    [retried] = await command(slack, user, channel, "browser list_dialogs")
    assert "Alice Zhang" in retried

    service.delays["/chat/dialogs"] = TIMEOUT + 3
    [slow] = await command(slack, user, channel, "browser list_dialogs")
    assert f"did not answer within {TIMEOUT} seconds" in slow

    service.logged_in = False
    service.login_wait_seconds = 30
    [logged_out] = await command(slack, user, channel, "browser list_recommended_candidates")
    assert "not logged in" in logged_out
    assert not service.requests_to("/recommend/candidates")


async def test_calls_are_serialised_and_a_waiting_person_sees_the_queue(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    service.delays["/chat/dialogs"] = 0.5
    channel = new_id("C")
    answers = await asyncio.gather(
        *(command(slack, new_id("U"), channel, "browser list_dialogs limit=1") for _ in range(3))
    )
    assert all("Alice Zhang" in texts[-1] for texts in answers)
    assert service.max_in_flight == 1
    assert any("ahead of you" in text for texts in answers for text in texts[:-1])


async def test_the_model_reads_from_the_service_with_a_tool(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    ask = '[tool:browser_list_dialogs:{"limit": 2}] who wrote to us today?'
    root = await slack.post_user_message(channel, user, f"{BOT} {ask}")
    text = await wait_for_text(slack, channel, root, "Tool result")
    assert "Alice Zhang" in text
    assert len(service.requests_to("/chat/dialogs")) == 1
    # The call showed as a step of the streamed answer.
    tasks = [task for m in slack.bot_replies(channel, root) for task in m.tasks.values()]
    assert tasks == [{"title": "Asking the browser service", "status": "complete"}]


async def test_a_change_proposed_by_the_model_runs_once_when_its_asker_approves(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    user, other, channel = new_id("U"), new_id("U"), new_id("C")
    call = '[tool:browser_send_chat_message:{"chat_id": "c1", "message": "See you at 3pm"}]'
    root = await slack.post_user_message(channel, user, f"{BOT} {call} tell Alice")
    text = await wait_for_text(slack, channel, root, "Tool result")
    assert "needs the person's approval" in text
    approval = approval_in(slack, channel, root)
    assert "POST /chat/c1/send" in json.dumps(approval.blocks)
    assert "See you at 3pm" in json.dumps(approval.blocks)
    assert service.sent == []

    await slack.click(other, message=approval, action_id="browser_approve")
    await slack.wait_for(
        lambda: any("Only" in e.text for e in slack.ephemerals_for(other, channel)),
        what="the refusal of someone else's click",
    )
    assert service.sent == []

    # A double click: both arrive before the buttons are gone.
    await asyncio.gather(
        slack.click(user, message=approval, action_id="browser_approve"),
        slack.click(user, message=approval, action_id="browser_approve"),
    )
    await slack.wait_for(
        lambda: "done" in (slack.get_message(channel, approval.ts) or approval).text,
        what="the approved action",
    )
    await slack.wait_for(
        lambda: any("already handled" in e.text for e in slack.ephemerals_for(user, channel)),
        what="the second click answered",
    )
    assert service.sent == [("c1", "See you at 3pm")]
    assert "sent" in thread_text(slack, channel, root).lower()


async def test_a_cancelled_or_expired_change_is_never_sent(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    # As Slack sends command text: &, < and > escaped, quotes curled by the app.
    typed = "browser greet_candidate index=0 message=\u201cTom &amp; Jerry\u201d"
    [posted] = await command(slack, user, channel, typed)
    assert "for your approval" in posted
    approval = approval_in(slack, channel)
    assert '"message": "Tom &amp; Jerry"' in json.dumps(approval.blocks).replace("\\", "")
    await slack.click(user, message=approval, action_id="browser_cancel")
    await slack.wait_for(
        lambda: "Cancelled" in (slack.get_message(channel, approval.ts) or approval).text,
        what="the cancelled request",
    )

    await command(slack, user, channel, "browser greet_candidate index=1")
    expiring = approval_in(slack, channel)
    assert expiring.ts != approval.ts
    await slack.wait_for(
        lambda: "Expired" in (slack.get_message(channel, expiring.ts) or expiring).text,
        timeout=15,
        what="the request to expire",
    )
    assert service.greeted == []


async def test_a_change_that_fails_is_reported_and_never_retried(
    slack: FakeSlack, service: FakeBrowserService, bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    service.fail_next("/recommend/candidate/{index}/greet", 500)
    await command(slack, user, channel, "browser greet_candidate index=0")
    approval = approval_in(slack, channel)
    await slack.click(user, message=approval, action_id="browser_approve")
    await slack.wait_for(
        lambda: any("failed (HTTP 500)" in m.text for m in slack.messages_in(channel)),
        what="the failure in the thread",
    )
    assert len(service.requests_to("/recommend/candidate/{index}/greet")) == 1
    assert service.greeted == []


async def test_the_service_token_goes_to_the_service_only(
    slack: FakeSlack, model: FakeOpenAI, service: FakeBrowserService, bot: BotProcess
) -> None:
    await command(slack, "UTOKEN1", "CTOKEN1", "browser get_status")
    assert service.requests and all(
        r.authorization == f"Bearer {SERVICE_TOKEN}" for r in service.requests
    )
    assert SERVICE_TOKEN not in json.dumps(slack.auth_headers_seen)
    assert SERVICE_TOKEN not in json.dumps([c.params for c in slack.calls], default=str)
    assert not any(SERVICE_TOKEN in json.dumps(r.headers) for r in model.requests)
    assert SERVICE_TOKEN not in bot.log
    [status] = await command(slack, "UTOKEN1", "CTOKEN1", "status")
    assert "Browser service:* answers, logged in" in status


async def test_a_service_down_at_start_is_used_once_it_is_up(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    late = FakeBrowserService(token=SERVICE_TOKEN)
    port = late.reserve_port()
    env = {**service_env(late), "BROWSER_SERVICE_URL": f"http://127.0.0.1:{port}"}
    async with running_bot(slack, model, tmp_path, **env):
        user, channel = new_id("U"), new_id("C")
        [down] = await command(slack, user, channel, "browser")
        assert "not reachable" in down
        await late.start(port)
        try:
            # A failed read of the catalogue is tried again when someone asks.
            [listing] = await command(slack, user, channel, "browser")
            assert "list_dialogs" in listing
        finally:
            await late.stop()
