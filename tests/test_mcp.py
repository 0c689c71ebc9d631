"""End to end: tools from MCP servers (the fake MCP server, written with the `mcp` SDK)
offered to the model and listed by `/ai tools`, for whom and where the admin allows each
server, with approvals for what changes something, bounded calls, a server down at
start, and each token kept to its own server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.loopback import free_port
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.fakes.mcp_server import FakeMcpServer
from tests.inproc import InProcessBot, bot_in_process
from tests.scraping import scrape, value
from tests.seen import approval_in, command, thread_text, wait_for_text

BOT = "<@UBOT>"
NOTES_TOKEN = "notes-secret-token-7"
CRM_TOKEN = "crm-secret-token-9"
# The one person the crm server is offered to.
SALES = "USALES1"
CALL_SECONDS = 2
METRICS_PORT = free_port()


@pytest.fixture(scope="module")
async def notes() -> AsyncIterator[FakeMcpServer]:
    async with FakeMcpServer(token=NOTES_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
async def crm() -> AsyncIterator[FakeMcpServer]:
    async with FakeMcpServer(token=CRM_TOKEN, legacy=True) as server:
        yield server


@pytest.fixture(scope="module")
async def bot(
    slack: FakeSlack,
    model: FakeOpenAI,
    notes: FakeMcpServer,
    crm: FakeMcpServer,
    bot_dir: Path,
) -> AsyncIterator[InProcessBot]:
    servers = {
        "servers": {
            "notes": {
                "url": notes.url,
                "token_env": "NOTES_MCP_TOKEN",
                "tools": ["lookup", "create_note", "wait_forever"],
                "users": "*",
                "channels": "*",
                "timeout_seconds": CALL_SECONDS,
            },
            "crm": {"url": crm.url, "token": CRM_TOKEN, "tools": ["lookup"], "users": [SALES]},
        }
    }
    path = bot_dir / "mcp.json"
    path.write_text(json.dumps(servers))
    env = {
        "MCP_SERVERS": str(path),
        "NOTES_MCP_TOKEN": NOTES_TOKEN,
        "MCP_CHANNELS": "*",
        "BROWSER_SERVICE_APPROVAL_SECONDS": "60",
        "METRICS_PORT": str(METRICS_PORT),
    }
    async with bot_in_process(slack, model, bot_dir, **env) as process:
        # The catalogues are read in the background from the start; `/ai tools` waits
        # for them, so every test starts with the tools known.
        await command(slack, SALES, "CSETUP1", "tools")
        yield process


async def test_each_person_is_listed_the_tools_offered_to_them_and_where_they_come_from(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    everyone = await command(slack, new_id("U"), new_id("C"), "tools")
    assert "From the MCP server notes:" in everyone and "crm" not in everyone
    assert "`lookup`" in everyone and "`create_note`" in everyone
    # What changes something says it needs approval; a read-only tool does not.
    [create] = [line for line in everyone.splitlines() if "`create_note`" in line]
    [lookup] = [line for line in everyone.splitlines() if "`lookup`" in line]
    assert "needs approval" in create and "needs approval" not in lookup
    # Not allowed by the admin: not listed, though the server offers it.
    assert "odd_schema" not in everyone

    sales = await command(slack, SALES, new_id("C"), "tools")
    assert "From the MCP server notes:" in sales and "From the MCP server crm:" in sales
    crm_part = sales.split("From the MCP server crm:")[1]
    assert "`lookup`" in crm_part and "create_note" not in crm_part

    status = await command(slack, SALES, new_id("C"), "status")
    assert "*MCP server notes:* answers, 3 tools" in status
    assert "*MCP server crm:* answers, 1 tool" in status


async def test_a_read_only_tool_is_used_in_an_answer(
    slack: FakeSlack, notes: FakeMcpServer, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    ask = '[tool:notes_lookup:{"term": "london"}] who is in London?'
    root = await slack.post_user_message(channel, new_id("U"), f"{BOT} {ask}")
    text = await wait_for_text(slack, channel, root, "Tool result")
    assert "Ada Lovelace" in text and "Alan Turing" not in text
    # The call shows as a step naming the tool, as Slack's agent templates show theirs.
    tasks = [task for m in slack.bot_replies(channel, root) for task in m.tasks.values()]
    assert {"title": "Asking the MCP server notes", "status": "complete", "details": "lookup"} in (
        tasks
    )


async def test_a_tool_only_offered_to_others_is_not_run(
    slack: FakeSlack, crm: FakeMcpServer, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel = new_id("C")
    seen = len(crm.authorizations)
    ask = '[tool:crm_lookup:{"term": "london"}] who is in London?'
    root = await slack.post_user_message(channel, new_id("U"), f"{BOT} {ask}")
    await wait_for_text(slack, channel, root, "Tool result")
    assert "Ada Lovelace" not in thread_text(slack, channel, root)
    assert len(crm.authorizations) == seen


async def test_a_change_is_proposed_and_runs_once_when_its_asker_approves(
    slack: FakeSlack, notes: FakeMcpServer, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, other, channel = new_id("U"), new_id("U"), new_id("C")
    call = '[tool:notes_create_note:{"title": "Launch", "body": "Ship on Friday"}]'
    root = await slack.post_user_message(channel, user, f"{BOT} {call} note this")
    text = await wait_for_text(slack, channel, root, "Tool result")
    assert "needs the person's approval" in text
    approval = approval_in(slack, channel, root)
    shown = json.dumps(approval.blocks)
    assert "the MCP server notes" in shown and "tools/call create_note" in shown
    assert "Ship on Friday" in shown and NOTES_TOKEN not in shown
    assert notes.notes == []

    await slack.click(other, message=approval, action_id="browser_approve")
    await slack.wait_for(
        lambda: any("Only" in e.text for e in slack.ephemerals_for(other, channel)),
        what="the refusal of someone else's click",
    )
    assert notes.notes == []

    await slack.click(user, message=approval, action_id="browser_approve")
    await slack.click(user, message=approval, action_id="browser_approve")
    await slack.wait_for(
        lambda: "done" in (slack.get_message(channel, approval.ts) or approval).text,
        what="the approved call",
    )
    await slack.wait_for(
        lambda: "Note 1 saved: Launch" in thread_text(slack, channel, root),
        what="the outcome in the thread",
    )
    assert notes.notes == [{"title": "Launch", "body": "Ship on Friday"}]


async def test_content_the_asker_did_not_write_makes_a_reading_call_wait_for_approval(
    slack: FakeSlack, notes: FakeMcpServer, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, other, channel = new_id("U"), new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, other, "ask the bot to look up Turing")
    ask = '[tool:notes_lookup:{"term": "turing"}] go on'
    await slack.post_user_message(channel, user, f"{BOT} {ask}", thread_ts=root)
    text = await wait_for_text(slack, channel, root, "Tool result")
    assert "needs the person's approval" in text and "Alan Turing" not in text
    approval = approval_in(slack, channel, root)
    assert "messages by others" in json.dumps(approval.blocks)
    await slack.click(user, message=approval, action_id="browser_approve")
    # Once approved, the records are shown in the thread as a table.
    await slack.wait_for(
        lambda: "Alan Turing" in thread_text(slack, channel, root),
        what="the approved lookup's result",
    )
    [shown] = [m.text for m in slack.bot_replies(channel, root) if "Alan Turing" in m.text]
    assert "Manchester" in shown and "research" in shown and "```" in shown


async def test_a_tool_that_hangs_is_cut_off_at_its_bound(
    slack: FakeSlack, notes: FakeMcpServer, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, user, f"{BOT} [tool:notes_wait_forever:{{}}] go")
    await wait_for_text(slack, channel, root, "Tool result")
    approval = approval_in(slack, channel, root)
    await slack.click(user, message=approval, action_id="browser_approve")
    await slack.wait_for(
        lambda: (
            f"did not answer within {CALL_SECONDS} seconds" in thread_text(slack, channel, root)
        ),
        timeout=CALL_SECONDS + 10,
        what="the hanging call reported",
    )
    assert "may have gone through" in thread_text(slack, channel, root)
    # An operator sees it too, by source and result.
    samples = await scrape(f"http://127.0.0.1:{METRICS_PORT}")
    assert value(samples, "slackbot_tool_calls_total", source="notes", result="timeout") >= 1
    # The bot goes on answering.
    again = await slack.post_user_message(channel, user, f"{BOT} still there?")
    await wait_for_text(slack, channel, again, "still there?")


async def test_each_token_goes_to_its_own_server_only(
    slack: FakeSlack,
    model: FakeOpenAI,
    notes: FakeMcpServer,
    crm: FakeMcpServer,
    bot: InProcessBot,
    new_id: Callable[[str], str],
) -> None:
    await command(slack, SALES, new_id("C"), "tools")
    channel = new_id("C")
    root = await slack.post_user_message(
        channel, SALES, f'{BOT} [tool:crm_lookup:{{"term": "hopper"}}] and Grace?'
    )
    assert "Grace Hopper" in await wait_for_text(slack, channel, root, "Tool result")
    assert notes.authorizations and set(notes.authorizations) == {f"Bearer {NOTES_TOKEN}"}
    assert crm.authorizations and set(crm.authorizations) == {f"Bearer {CRM_TOKEN}"}
    for token in (NOTES_TOKEN, CRM_TOKEN):
        assert token not in bot.log
        assert token not in json.dumps(slack.auth_headers_seen)
        assert token not in json.dumps([c.params for c in slack.calls], default=str)
        assert not any(token in json.dumps(r.headers) for r in model.requests)


async def test_a_server_down_at_start_is_reported_and_used_once_it_is_up(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    late = FakeMcpServer(port=free_port())
    env = {"MCP_SERVERS": f"late={late.url}", "MCP_USERS": "*", "MCP_CHANNELS": "*"}
    async with bot_in_process(slack, model, tmp_path, **env):
        user, channel = new_id("U"), new_id("C")
        down = await command(slack, user, channel, "tools")
        assert "The MCP server late is not reachable right now (cannot connect" in down
        status = await command(slack, user, channel, "status")
        assert "*MCP server late:* not usable (cannot connect" in status
        # The model is told, and the answer is not held up.
        root = await slack.post_user_message(channel, user, f"{BOT} look up Ada")
        await wait_for_text(slack, channel, root, "look up Ada")
        [asked] = [r.body for r in model.requests if "look up Ada" in json.dumps(r.body)]
        assert "late cannot be reached right now" in json.dumps(asked)

        async with late:
            listed = await command(slack, user, channel, "tools")
            assert "From the MCP server late:" in listed and "`lookup`" in listed
            ask = f'{BOT} [tool:late_lookup:{{"term": "ada"}}] now?'
            again = await slack.post_user_message(channel, user, ask)
            assert "Ada Lovelace" in await wait_for_text(slack, channel, again, "Tool result")


async def test_an_approval_is_not_run_once_its_asker_may_no_longer_use_the_server(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    async with FakeMcpServer() as server:
        env = {"MCP_SERVERS": f"desk={server.url}", "MCP_USERS": user, "MCP_CHANNELS": "*"}
        async with bot_in_process(slack, model, tmp_path, **env):
            await command(slack, user, channel, "tools")
            ask = f'{BOT} [tool:desk_create_note:{{"title": "t", "body": "b"}}] note it'
            root = await slack.post_user_message(channel, user, ask)
            await wait_for_text(slack, channel, root, "Tool result")
        approval = approval_in(slack, channel, root)
        # The admin takes the server from them; the buttons are still there.
        async with bot_in_process(slack, model, tmp_path, **{**env, "MCP_USERS": "UOTHER1"}):
            await slack.click(user, message=approval, action_id="browser_approve")
            await slack.wait_for(
                lambda: "Not run" in (slack.get_message(channel, approval.ts) or approval).text,
                what="the approval refused",
            )
        settled = slack.get_message(channel, approval.ts) or approval
        assert "not available to you here" in settled.text
        assert server.notes == []
