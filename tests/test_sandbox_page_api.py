"""The sandbox page's HTTP API (sandbox/page.py) on a real FakeSlack: no browser, no bot.

Where a test needs the app's side (acks, views, response URLs), it plays it over the same
wire protocols the bot uses: the Web API with the bot token and a Socket Mode WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from PIL import Image

from sandbox.manifest import load_manifest
from sandbox.page import CHANNELS, DM, SANDBOX_USER, add_page
from sandbox.workspace import FakeSlack

GENERAL = "C0GENERAL"
INFO = {"model": "test-model", "listening": "127.0.0.1 only"}
KEY = "page-test-key"
LONG_POLL = 5.0

Answer = Callable[[dict[str, Any]], Any]


@pytest.fixture
async def workspace() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(bot_token="xoxb-page-test-secret", app_token="xapp-page-test-secret")
    await slack.start(
        setup=lambda app: add_page(app, slack, key=KEY, info=INFO, long_poll=LONG_POLL)
    )
    yield slack
    await slack.stop()


@pytest.fixture
async def http(workspace: FakeSlack) -> AsyncIterator[aiohttp.ClientSession]:
    """The page's own requests: they carry the key's cookie, as after opening the address."""
    async with aiohttp.ClientSession(base_url=workspace.base_url) as session:
        async with session.get(f"/?key={KEY}", allow_redirects=False) as opened:
            assert opened.status == 303 and opened.headers["Location"] == "/"
        session.cookie_jar.update_cookies(opened.cookies)
        yield session


async def post(http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(path, json=body) as response:
        answer: dict[str, Any] = await response.json()
        assert response.status == 200 and answer["ok"], answer
        return answer


async def state(http: aiohttp.ClientSession) -> dict[str, Any]:
    async with http.get("/sandbox/state") as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


def conversation(body: dict[str, Any], channel: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in body["conversations"] if c["id"] == channel)
    return found


async def bot_call(workspace: FakeSlack, method: str, **params: Any) -> dict[str, Any]:
    """The app calling the Web API with its token."""
    headers = {"Authorization": f"Bearer {workspace.bot_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(workspace.api_url + method, json=params, headers=headers) as response,
    ):
        answer: dict[str, Any] = await response.json()
    assert answer["ok"], answer
    return answer


@contextlib.asynccontextmanager
async def app_socket(workspace: FakeSlack, answer: Answer) -> AsyncIterator[list[dict[str, Any]]]:
    """A Socket Mode client acking every envelope with ``answer(envelope)`` as payload."""
    received: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {workspace.app_token}"}
    connections = workspace.connection_count
    async with aiohttp.ClientSession() as session:
        async with session.post(
            workspace.api_url + "apps.connections.open", headers=headers
        ) as response:
            url = (await response.json())["url"]
        async with session.ws_connect(url) as sock:

            async def serve() -> None:
                async for frame in sock:
                    if frame.type is not aiohttp.WSMsgType.TEXT:
                        continue
                    envelope = json.loads(frame.data)
                    if "envelope_id" not in envelope:
                        continue
                    received.append(envelope)
                    ack: dict[str, Any] = {"envelope_id": envelope["envelope_id"]}
                    payload = answer(envelope)
                    if payload is not None:
                        ack["payload"] = payload
                    await sock.send_str(json.dumps(ack))

            task = asyncio.create_task(serve())
            try:
                await workspace.wait_connected(connections + 1, timeout=5)
                yield received
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------- page and info


async def test_index_serves_the_page_and_its_static_files(http: aiohttp.ClientSession) -> None:
    async with http.get("/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        html = await response.text()
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert 'src="/static/app.js"' in html and 'href="/static/style.css"' in html
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        async with http.get(f"/static/{name}") as response:
            assert response.status == 200 and kind in response.content_type
    async with http.get("/static/..%2Fpage.py") as response:
        assert response.status == 404


async def test_info_is_what_add_page_was_told(http: aiohttp.ClientSession) -> None:
    async with http.get("/sandbox/info") as response:
        assert await response.json() == INFO


async def test_state_lists_the_channels_and_the_dm(http: aiohttp.ClientSession) -> None:
    body = await state(http)
    ids = [c["id"] for c in body["conversations"]]
    assert ids == [*CHANNELS, DM]
    assert conversation(body, GENERAL)["name"] == "general"
    assert conversation(body, DM)["kind"] == "dm"
    assert body["me"] == {"id": SANDBOX_USER, "name": "you"}
    assert body["bot"]["name"] == "assistant"
    assert body["modals"] == [] and body["home"] is None and body["ephemerals"] == []


# ---------------------------------------------------------------------- messages


async def test_a_message_is_shown_and_delivered_as_events(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    text = f"<@{workspace.bot_user_id}> what is 2 &amp; 2?"
    sent = await post(http, "/sandbox/message", {"channel": GENERAL, "text": text})

    messages = conversation(await state(http), GENERAL)["messages"]
    assert [(m["ts"], m["text"], m["name"], m["is_bot"]) for m in messages] == [
        (sent["ts"], text, "you", False)
    ]
    events = [
        e["payload"]["event"] for e in workspace.envelopes.values() if e["type"] == "events_api"
    ]
    assert sorted(e["type"] for e in events) == ["app_mention", "message"]
    assert all(e["user"] == SANDBOX_USER and e["ts"] == sent["ts"] for e in events)
    assert workspace.envelopes_for_ts[sent["ts"]]


async def test_a_reply_goes_into_the_thread(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    parent = await post(http, "/sandbox/message", {"channel": DM, "text": "first"})
    reply = await post(
        http, "/sandbox/message", {"channel": DM, "text": "second", "thread_ts": parent["ts"]}
    )
    dm = conversation(await state(http), DM)
    assert [m["ts"] for m in dm["messages"]] == [parent["ts"]]
    assert dm["messages"][0]["reply_count"] == 1
    assert [r["ts"] for r in dm["threads"][parent["ts"]]] == [reply["ts"]]
    assert dm["threads"][parent["ts"]][0]["thread_ts"] == parent["ts"]
    message = workspace.get_message(DM, reply["ts"])
    assert message is not None and message.thread_ts == parent["ts"]


async def test_a_bot_stream_is_marked_as_streaming_markdown(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    parent = await post(http, "/sandbox/message", {"channel": DM, "text": "hi"})
    started = await bot_call(
        workspace, "chat.startStream", channel=DM, thread_ts=parent["ts"], markdown_text="**Hel"
    )
    reply = conversation(await state(http), DM)["threads"][parent["ts"]][0]
    assert reply["streaming"] and reply["format"] == "markdown" and reply["name"] == "assistant"
    await bot_call(workspace, "chat.stopStream", channel=DM, ts=started["ts"], markdown_text="lo**")
    reply = conversation(await state(http), DM)["threads"][parent["ts"]][0]
    assert not reply["streaming"] and reply["text"] == "**Hello**"
    assert reply["format"] == "markdown"


async def test_a_reaction_wakes_the_long_poll_and_is_listed_on_its_message(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    sent = await post(http, "/sandbox/message", {"channel": GENERAL, "text": "one too many"})
    before = await state(http)
    assert conversation(before, GENERAL)["messages"][0]["reactions"] == []

    async def poll() -> tuple[int, dict[str, Any] | None]:
        async with http.get(f"/sandbox/state?since={before['version']}") as response:
            return response.status, (await response.json() if response.status == 200 else None)

    waiting = asyncio.create_task(poll())
    await bot_call(
        workspace, "reactions.add", channel=GENERAL, timestamp=sent["ts"], name="no_entry_sign"
    )
    status, body = await waiting
    assert status == 200 and body is not None
    [message] = conversation(body, GENERAL)["messages"]
    assert message["reactions"] == [
        {"name": "no_entry_sign", "count": 1, "users": [workspace.bot_user_id]}
    ]
    assert body["users"][workspace.bot_user_id] == "assistant"


async def test_refuses_what_the_person_could_not_do(http: aiohttp.ClientSession) -> None:
    for path, body in (
        ("/sandbox/message", {"channel": "C0ELSEWHERE", "text": "hi"}),
        ("/sandbox/message", {"channel": GENERAL, "text": "  "}),
        ("/sandbox/message", {"channel": GENERAL, "text": "hi", "thread_ts": "1.000001"}),
        ("/sandbox/click", {"action_id": "nothing", "ts": "1.000001"}),
        ("/sandbox/submit", {"view_id": "VNOPE", "values": {}}),
    ):
        async with http.post(path, json=body) as response:
            assert response.status == 400, (path, body)
            answer = await response.json()
            assert answer["ok"] is False and answer["error"]


async def test_the_key_opens_the_page_once_as_an_http_only_strict_cookie(
    workspace: FakeSlack,
) -> None:
    async with aiohttp.ClientSession(base_url=workspace.base_url) as session:
        async with session.get(f"/?key={KEY}", allow_redirects=False) as opened:
            assert opened.status == 303 and opened.headers["Location"] == "/"
            cookie = opened.cookies[f"sandbox_key_{workspace.port}"]
        assert cookie.value == KEY and cookie["httponly"] and cookie["samesite"] == "Strict"
        headers = {"Cookie": f"sandbox_key_{workspace.port}={KEY}"}
        async with session.get("/", headers=headers) as page:
            assert page.status == 200 and page.content_type == "text/html"


async def test_without_the_key_the_page_and_its_api_say_where_the_address_is(
    workspace: FakeSlack,
) -> None:
    wrong = {"Cookie": f"sandbox_key_{workspace.port}=not-the-key"}
    async with aiohttp.ClientSession(base_url=workspace.base_url) as session:
        for path, headers in (("/", {}), ("/?key=not-the-key", {}), ("/", wrong)):
            async with session.get(path, headers=headers, allow_redirects=False) as page:
                assert page.status == 403
                assert "python main.py sandbox" in await page.text()
        for path in ("/static/app.js", "/sandbox/info", "/sandbox/state"):
            async with session.get(path) as response:
                assert response.status == 403
        body = {"channel": GENERAL, "text": "hi"}
        async with session.post("/sandbox/message", json=body) as response:
            assert response.status == 403
            answer = await response.json()
    # The page shows a refused action's error: here, where the right address is.
    assert answer["ok"] is False and "printed in the terminal" in answer["error"]
    assert workspace.messages_in(GENERAL) == []


# ---------------------------------------------------------------------- commands


async def test_a_command_is_sent_and_its_private_answers_are_shown(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    sent = await post(http, "/sandbox/command", {"channel": GENERAL, "text": "help"})
    envelope = workspace.envelopes[sent["envelope_id"]]
    assert envelope["type"] == "slash_commands"
    payload = envelope["payload"]
    assert (payload["command"], payload["text"], payload["user_id"]) == (
        "/ai",
        "help",
        SANDBOX_USER,
    )
    assert payload["channel_name"] == "general"

    # The app answers privately through the response_url, as Bolt's respond() does.
    async with (
        aiohttp.ClientSession() as session,
        session.post(payload["response_url"], json={"text": "*Only* for you"}) as response,
    ):
        assert response.status == 200
    ephemerals = (await state(http))["ephemerals"]
    assert [(e["channel"], e["text"], e["via"]) for e in ephemerals] == [
        (GENERAL, "*Only* for you", "response_url")
    ]


# ---------------------------------------------------------------------- long poll


async def test_state_since_the_current_version_waits_for_a_change(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    version = (await state(http))["version"]
    async with http.get(f"/sandbox/state?since={version}&wait=0.2") as response:
        assert response.status == 204
    async with http.get(f"/sandbox/state?since={version - 1}") as response:
        assert response.status == 200  # an older version is answered at once

    async def poll() -> tuple[int, dict[str, Any] | None]:
        async with http.get(f"/sandbox/state?since={version}") as response:
            return response.status, (await response.json() if response.status == 200 else None)

    waiting = asyncio.create_task(poll())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await post(http, "/sandbox/message", {"channel": GENERAL, "text": "wake up"})
    status, body = await asyncio.wait_for(waiting, LONG_POLL / 2)
    assert status == 200 and body is not None and body["version"] > version
    assert conversation(body, GENERAL)["messages"][0]["text"] == "wake up"


# ---------------------------------------------------------------------- files


async def test_an_upload_becomes_a_hosted_file_the_page_can_show(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    picture = png_bytes()
    form = aiohttp.FormData()
    form.add_field("channel", GENERAL)
    form.add_field("text", "look")
    form.add_field("file", picture, filename="red.png", content_type="image/png")
    form.add_field("file", b"a,b\n1,2\n", filename="data.csv")
    async with http.post("/sandbox/message", data=form) as response:
        sent = await response.json()
        assert response.status == 200, sent
    assert len(sent["files"]) == 2

    message = conversation(await state(http), GENERAL)["messages"][0]
    image, table = message["files"]
    assert (image["name"], image["is_image"], image["mimetype"]) == ("red.png", True, "image/png")
    assert (table["name"], table["is_image"], table["mimetype"]) == ("data.csv", False, "text/csv")
    assert workspace.file(image["id"]).content == picture
    async with http.get(image["url"]) as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == picture
        assert response.headers["Content-Security-Policy"].startswith("sandbox")
    async with http.get(table["download_url"]) as response:
        assert response.headers["Content-Disposition"].startswith("attachment")

    # The bot is told about the file, and its own download still needs its token.
    event = next(
        e["payload"]["event"]
        for e in workspace.envelopes.values()
        if e["type"] == "events_api" and e["payload"]["event"]["ts"] == sent["ts"]
    )
    assert event["subtype"] == "file_share" and event["text"] == "look"
    url_private = event["files"][0]["url_private"]
    async with aiohttp.ClientSession() as session:
        async with session.get(url_private) as response:
            assert response.content_type == "text/html"  # Slack's login page
        headers = {"Authorization": f"Bearer {workspace.bot_token}"}
        async with session.get(url_private, headers=headers) as response:
            assert await response.read() == picture


async def test_the_state_never_contains_the_tokens(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData()
    form.add_field("channel", DM)
    form.add_field("text", "")
    form.add_field("file", png_bytes(), filename="p.png", content_type="image/png")
    async with http.post("/sandbox/message", data=form) as response:
        assert response.status == 200
    await post(http, "/sandbox/command", {"channel": GENERAL, "text": "status"})
    await post(http, "/sandbox/assistant", {})
    await bot_call(workspace, "chat.postMessage", channel=GENERAL, text="hello from the bot")
    async with http.get("/sandbox/state") as response:
        raw = await response.text()
    assert "p.png" in raw and "hello from the bot" in raw
    assert workspace.bot_token not in raw and workspace.app_token not in raw
    assert "xoxb-" not in raw and "xapp-" not in raw


# ---------------------------------------------------------------------- interactivity


BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Pick one"}},
    {
        "type": "actions",
        "block_id": "choice",
        "elements": [
            {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}},
        ],
    },
]


async def test_clicks_on_messages_and_ephemerals_are_block_actions(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    posted = await bot_call(
        workspace, "chat.postMessage", channel=GENERAL, text="pick", blocks=BUTTONS
    )
    sent = await post(http, "/sandbox/click", {"action_id": "go", "ts": posted["ts"]})
    payload = workspace.envelopes[sent["envelope_id"]]["payload"]
    assert payload["type"] == "block_actions" and payload["actions"][0]["action_id"] == "go"
    assert payload["container"]["message_ts"] == posted["ts"]

    private = await bot_call(
        workspace,
        "chat.postEphemeral",
        channel=GENERAL,
        user=SANDBOX_USER,
        text="pick",
        blocks=BUTTONS,
    )
    shown = (await state(http))["ephemerals"]
    assert [e["ts"] for e in shown] == [private["message_ts"]] and shown[0]["blocks"]
    sent = await post(
        http, "/sandbox/click", {"action_id": "go", "ephemeral_ts": private["message_ts"]}
    )
    container = workspace.envelopes[sent["envelope_id"]]["payload"]["container"]
    assert container["is_ephemeral"] is True


MODAL = {
    "type": "modal",
    "callback_id": "form",
    "title": {"type": "plain_text", "text": "A form"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "model",
            "dispatch_action": True,
            "label": {"type": "plain_text", "text": "Model"},
            "element": {
                "type": "static_select",
                "action_id": "model",
                "options": [
                    {"text": {"type": "plain_text", "text": "A"}, "value": "a"},
                    {"text": {"type": "plain_text", "text": "B"}, "value": "b"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "name"},
        },
    ],
}


def form_app(envelope: dict[str, Any]) -> Any:
    """Refuses a one-letter name, accepts anything else (a plain ack closes the modal)."""
    payload = envelope["payload"]
    if payload.get("type") != "view_submission":
        return None
    name = payload["view"]["state"]["values"]["name"]["name"]["value"]
    if len(name) < 2:
        return {"response_action": "errors", "errors": {"name": "Too short"}}
    return None


async def test_a_modal_is_shown_filled_in_and_submitted(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    async with app_socket(workspace, form_app) as received:
        command = await post(http, "/sandbox/command", {"channel": GENERAL, "text": "settings"})
        trigger = workspace.envelopes[command["envelope_id"]]["payload"]["trigger_id"]
        await bot_call(workspace, "views.open", trigger_id=trigger, view=MODAL)
        (modal,) = (await state(http))["modals"]
        assert (modal["title"], modal["submit"]) == ("A form", "Save")
        view_id = modal["view_id"]

        # Choosing a model dispatches at once, carrying what was typed so far.
        body = {"view_id": view_id, "action_id": "model", "value": "b", "values": {"name": "Al"}}
        click = await post(http, "/sandbox/click", body)
        values = workspace.envelopes[click["envelope_id"]]["payload"]["view"]["state"]["values"]
        assert values["name"]["name"]["value"] == "Al"
        assert values["model"]["model"]["selected_option"]["value"] == "b"
        assert (await state(http))["modals"][0]["values"] == {"model": "b", "name": "Al"}

        refused = await post(http, "/sandbox/submit", {"view_id": view_id, "values": {"name": "X"}})
        assert refused["closed"] is False and refused["errors"] == {"name": "Too short"}
        assert (await state(http))["modals"][0]["errors"] == {"name": "Too short"}

        accepted = await post(
            http, "/sandbox/submit", {"view_id": view_id, "values": {"name": "Ada"}}
        )
        assert accepted["closed"] is True and (await state(http))["modals"] == []
        submissions = [e for e in received if e["payload"].get("type") == "view_submission"]
        assert len(submissions) == 2


async def test_closing_a_modal(workspace: FakeSlack, http: aiohttp.ClientSession) -> None:
    command = await post(http, "/sandbox/command", {"channel": GENERAL, "text": "settings"})
    trigger = workspace.envelopes[command["envelope_id"]]["payload"]["trigger_id"]
    opened = await bot_call(workspace, "views.open", trigger_id=trigger, view=MODAL)
    await post(http, "/sandbox/close", {"view_id": opened["view"]["id"]})
    assert (await state(http))["modals"] == []


async def test_shortcut_home_and_assistant_panel(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    message = await post(http, "/sandbox/message", {"channel": GENERAL, "text": "hi"})
    sent = await post(
        http,
        "/sandbox/shortcut",
        {"channel": GENERAL, "ts": message["ts"], "callback_id": "thread_settings"},
    )
    payload = workspace.envelopes[sent["envelope_id"]]["payload"]
    assert (payload["type"], payload["callback_id"]) == ("message_action", "thread_settings")

    home = await post(http, "/sandbox/home", {})
    event = workspace.envelopes[home["envelope_id"]]["payload"]["event"]
    assert (event["type"], event["user"], event["channel"]) == ("app_home_opened", SANDBOX_USER, DM)
    await bot_call(
        workspace,
        "views.publish",
        user_id=SANDBOX_USER,
        view={"type": "home", "blocks": BUTTONS},
    )
    shown_home = (await state(http))["home"]
    assert shown_home is not None and shown_home["blocks"][0]["type"] == "section"
    click = await post(
        http, "/sandbox/click", {"view_id": shown_home["view_id"], "action_id": "go"}
    )
    assert workspace.envelopes[click["envelope_id"]]["payload"]["container"]["type"] == "view"

    panel = await post(http, "/sandbox/assistant", {"context_channel": GENERAL})
    assert panel["channel"] == DM
    (started,) = [
        workspace.envelopes[e]["payload"]["event"]
        for e in workspace.envelopes_for_ts[panel["thread_ts"]]
    ]
    assert started["type"] == "assistant_thread_started"
    assert started["assistant_thread"]["context"]["channel_id"] == GENERAL
    await bot_call(
        workspace,
        "assistant.threads.setSuggestedPrompts",
        channel_id=DM,
        thread_ts=panel["thread_ts"],
        prompts=[{"title": "Draw", "message": "Draw a cat"}],
    )
    await bot_call(
        workspace,
        "assistant.threads.setStatus",
        channel_id=DM,
        thread_ts=panel["thread_ts"],
        status="is thinking…",
    )
    (thread,) = (await state(http))["assistant_threads"]
    assert thread["panel"] and thread["thread_ts"] == panel["thread_ts"]
    assert thread["status"] == "is thinking…"
    assert thread["prompts"] == [{"title": "Draw", "message": "Draw a cat"}]


async def test_an_agent_app_opens_its_messages_tab_follows_context_and_can_be_stopped(
    workspace: FakeSlack, http: aiohttp.ClientSession
) -> None:
    workspace.install(load_manifest())
    opened = await post(http, "/sandbox/assistant", {"context_channel": GENERAL})
    assert (opened["channel"], opened["thread_ts"]) == (DM, None)
    await post(http, "/sandbox/context", {"channel": GENERAL})  # unchanged: not sent again
    await post(http, "/sandbox/context", {"channel": "C0RANDOM"})
    events = [
        envelope["payload"]["event"]
        for envelope in workspace.envelopes.values()
        if envelope["type"] == "events_api"
    ]
    assert [(e["type"], e.get("tab"), e.get("context")) for e in events] == [
        ("app_home_opened", "messages", None),
        (
            "app_context_changed",
            None,
            {
                "entities": [
                    {
                        "team_id": workspace.team_id,
                        "type": "slack#/types/channel_id",
                        "value": GENERAL,
                    }
                ]
            },
        ),
        (
            "app_context_changed",
            None,
            {
                "entities": [
                    {
                        "team_id": workspace.team_id,
                        "type": "slack#/types/channel_id",
                        "value": "C0RANDOM",
                    }
                ]
            },
        ),
    ]

    asked = await post(http, "/sandbox/message", {"channel": DM, "text": "tell me"})
    stream = await bot_call(workspace, "chat.startStream", channel=DM, thread_ts=asked["ts"])
    body = await state(http)
    assert {"channel": DM, "thread_ts": asked["ts"], "status": "processing"} in body["sessions"]
    stopped = await post(http, "/sandbox/stop", {"channel": DM, "thread_ts": asked["ts"]})
    event = workspace.envelopes[stopped["envelope_id"]]["payload"]["event"]
    assert (event["type"], event["streaming_message_ts"]) == (
        "agent_session_stopped",
        [stream["ts"]],
    )
    async with http.post("/sandbox/assistant", json={"context_channel": "C0NOWHERE"}) as response:
        assert response.status == 400
