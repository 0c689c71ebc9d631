"""FakeSlack proven against the real slack-sdk and slack-bolt clients (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
from PIL import Image
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack, FileRequest, UploadedFile

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def slack_error(call: Awaitable[Any]) -> str:
    """The "error" Slack answered with; fails if the call succeeded."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


# ---------------------------------------------------------------------- Web API


async def test_post_update_delete_and_thread_queries(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    root = await fake.post_user_message("C1", "U1", "question")  # queued: nobody is connected
    posted = await client.chat_postMessage(channel="C1", thread_ts=root, text="first")
    extra = await client.chat_postMessage(channel="C1", thread_ts=root, text="extra")

    await client.chat_update(channel="C1", ts=posted["ts"], text="second")
    await client.chat_delete(channel="C1", ts=extra["ts"])

    assert root < posted["ts"] < extra["ts"]
    assert posted["message"]["bot_id"] == fake.bot_id
    assert posted["message"]["bot_profile"]["app_id"] == "A0TEST"
    replies = fake.bot_replies("C1", root)
    assert [(m.text, m.versions) for m in replies] == [("second", ["first", "second"])]
    assert fake.thread_messages("C1", root) == replies
    assert fake.calls_to("chat.update")[0].params["text"] == "second"
    assert [m.ts for m in fake.messages_in("C1")] == [root, posted["ts"]]


async def test_replies_paginate_like_slack(fake: FakeSlack, client: AsyncWebClient) -> None:
    root = await fake.post_user_message("C1", "U1", "root")
    for i in range(5):
        await fake.post_user_message("C1", f"U{i % 2 + 2}", f"r{i}", thread_ts=root)
    fake.replies_page_size = 3

    first = await client.conversations_replies(channel="C1", ts=root, limit=100)
    pages = [[m["text"] for m in page["messages"]] async for page in first]

    # Slack repeats the parent at the top of every page.
    assert pages == [["root", "r0", "r1"], ["root", "r2", "r3"], ["root", "r4"]]
    parent, reply = first["messages"][:2]
    assert parent["reply_count"] == 5 and parent["thread_ts"] == root
    assert parent["reply_users"] == ["U2", "U3"] and "client_msg_id" in parent
    assert reply["parent_user_id"] == "U1" and reply["thread_ts"] == root

    history = await client.conversations_history(channel="C1", limit=1)
    assert [m["text"] for m in history["messages"]] == ["root"]
    assert history["has_more"] is False


async def test_slack_errors_leave_state_alone(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert await slack_error(client.api_call("chat.postMessage", json={"channel": "C1"})) == (
        "no_text"
    )
    assert await slack_error(client.api_call("chat.postMessage", json={"text": "x"})) == (
        "channel_not_found"
    )
    too_long = client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert await slack_error(too_long) == "msg_too_long"
    unknown_ts = client.chat_update(channel="C1", ts="1.000001", text="y")
    assert await slack_error(unknown_ts) == "message_not_found"
    assert await slack_error(client.api_call("no.such.method")) == "unknown_method"
    assert await slack_error(client.users_info(user="U404")) == "user_not_found"
    assert fake.messages == {}

    fake.add_user("U1", "alice")
    user = (await client.users_info(user="U1"))["user"]
    assert (user["name"], user["profile"]["display_name"], user["is_bot"]) == (
        "alice",
        "alice",
        False,
    )


async def test_tokens_are_checked_and_observed(fake: FakeSlack, client: AsyncWebClient) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url)
    assert await slack_error(wrong.auth_test()) == "invalid_auth"
    bot_token_for_socket = client.apps_connections_open(app_token=fake.bot_token)
    assert await slack_error(bot_token_for_socket) == "not_allowed_token_type"

    opened = await client.apps_connections_open(app_token=fake.app_token)
    identity = await client.auth_test()
    tokenless = AsyncWebClient(base_url=fake.api_url)
    in_form = await tokenless.api_call("auth.test", data={"token": fake.bot_token})

    assert opened["url"].startswith(f"ws://127.0.0.1:{fake.port}/socket-mode?ticket=")
    assert (identity["user_id"], identity["bot_id"], identity["team_id"]) == (
        "UBOT",
        "BBOT",
        "T0TEST",
    )
    assert in_form["user_id"] == "UBOT"
    assert "token" not in fake.calls[-1].params
    app_token_paths = {p for p, h in fake.auth_headers_seen if h == f"Bearer {fake.app_token}"}
    assert app_token_paths == {"/api/apps.connections.open"}


async def test_form_query_json_and_multipart_params(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    encoded = json.dumps(BLOCKS)
    form = {"channel": "C1", "text": "form", "blocks": encoded}
    query = {"channel": "C1", "text": "[1, 2]", "blocks": encoded}
    body = {"channel": "C1", "text": "json", "blocks": BLOCKS}
    results = [
        await client.api_call("chat.postMessage", data=form),
        await client.api_call("chat.postMessage", params=query),
        await client.api_call("chat.postMessage", json=body),
        await client.api_call(
            "chat.postMessage",
            data={"channel": "C1", "text": "multipart"},
            files={"file": io.BytesIO(b"\x00bytes")},
        ),
    ]

    stored = [fake.get_message("C1", r["ts"]) for r in results]
    assert [m.text for m in stored if m] == ["form", "[1, 2]", "json", "multipart"]
    assert [m.blocks for m in stored if m][:3] == [BLOCKS, BLOCKS, BLOCKS]
    upload = fake.calls_to("chat.postMessage")[-1].params["file"]
    assert upload["content"] == b"\x00bytes"


# ---------------------------------------------------------------------- files


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


async def fetch(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    """GET a file the way a bot would: status, Content-Type and body."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.headers["Content-Type"], await response.read()


async def test_shared_files_ride_on_events_and_replies(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    root = await fake.post_user_message("C1", "U1", "question")
    photo = UploadedFile("photo 1.png", "image/png", png(3, 2))
    report = UploadedFile("Report.PDF", "application/pdf", b"%PDF-1.7")
    ts = await fake.post_user_message(
        "C1", "U1", "<@UBOT> look", thread_ts=root, files=[photo, report]
    )

    message, mention = [fake.envelopes[e]["payload"]["event"] for e in fake.envelopes_for_ts[ts]]
    assert (message["subtype"], message["upload"], mention["type"]) == (
        "file_share",
        True,
        "app_mention",
    )
    assert "subtype" not in mention and mention["files"] == message["files"]
    image, pdf = message["files"]
    assert (fake.file(image["id"]), fake.file(pdf["id"])) == (photo, report)
    assert list(fake.hosted_files) == [image["id"], pdf["id"]]
    assert image["id"].startswith("F") and len(image["id"]) == 11 and image["id"].isupper()
    assert (image["name"], image["title"], image["filetype"], image["pretty_type"]) == (
        "photo 1.png",
        "photo 1.png",
        "png",
        "PNG",
    )
    assert (pdf["filetype"], pdf["mimetype"], pdf["size"]) == ("pdf", "application/pdf", 8)
    assert (image["user"], image["user_team"], image["mode"], image["is_public"]) == (
        "U1",
        "T0TEST",
        "hosted",
        False,
    )
    assert (image["original_w"], image["original_h"]) == (3, 2) and "original_w" not in pdf
    base = f"{fake.base_url}/files-pri/T0TEST-{image['id']}/"
    assert image["url_private"] == base + "photo%201.png"
    assert image["url_private_download"] == base + "download/photo%201.png"
    assert isinstance(image["created"], int) and image["timestamp"] == image["created"]

    thread = await client.conversations_replies(channel="C1", ts=root)
    shared = thread["messages"][1]
    assert shared["files"] == message["files"] and "subtype" not in shared  # only the event

    only_files = await fake.post_user_message(
        "D1", "U2", "", files=[UploadedFile("notes", "text/plain", b"hi")]
    )
    [envelope] = fake.envelopes_for_ts[only_files]
    event = fake.envelopes[envelope]["payload"]["event"]
    assert (event["text"], event["subtype"], "blocks" in event) == ("", "file_share", False)
    history = await client.conversations_history(channel="D1")
    assert history["messages"][0]["files"][0]["filetype"] == ""
    assert fake.get_message("D1", only_files) is not None
    with pytest.raises(KeyError):
        fake.file("FNOSUCHFILE")


async def test_hosted_files_need_the_bot_token(fake: FakeSlack) -> None:
    data = png(2, 2)
    ts = await fake.post_user_message(
        "C1", "U1", "", files=[UploadedFile("a.png", "image/png", data)]
    )
    [envelope] = fake.envelopes_for_ts[ts]
    file = fake.envelopes[envelope]["payload"]["event"]["files"][0]
    url = file["url_private"]

    assert await fetch(url, fake.bot_token) == (200, "image/png", data)
    assert await fetch(file["url_private_download"], fake.bot_token) == (200, "image/png", data)
    # Slack's well-known trap: no token, or a wrong one, still gets a 200, with a login page.
    for token in (None, "xoxb-wrong", fake.app_token):
        status, content_type, body = await fetch(url, token)
        assert (status, content_type) == (200, "text/html; charset=utf-8")
        assert body.startswith(b"<!DOCTYPE html>")
    assert (await fetch(url.replace(file["id"], "FNOSUCHFILE"), fake.bot_token))[0] == 404
    bearer = {"Authorization": f"Bearer {fake.bot_token}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=bearer) as response:
        assert response.content_length == len(data) == len(await response.read())

    requests = fake.file_requests
    seen = [(r.file_id, r.authorized, r.token_sent, r.download, r.status) for r in requests]
    assert seen == [
        (file["id"], True, fake.bot_token, False, 200),
        (file["id"], True, fake.bot_token, True, 200),
        (file["id"], False, None, False, 200),
        (file["id"], False, "xoxb-wrong", False, 200),
        (file["id"], False, fake.app_token, False, 200),
        ("FNOSUCHFILE", True, fake.bot_token, False, 404),
        (file["id"], True, fake.bot_token, False, 200),
    ]
    assert len(fake.file_requests_for(file["id"])) == 6
    fake.reset()
    assert (fake.hosted_files, fake.file_requests) == ({}, [])


async def test_file_faults_and_latency(fake: FakeSlack) -> None:
    data = b"plain text"
    ts = await fake.post_user_message(
        "C1", "U1", "", files=[UploadedFile("a.txt", "text/plain", data)]
    )
    [envelope] = fake.envelopes_for_ts[ts]
    url = fake.envelopes[envelope]["payload"]["event"]["files"][0]["url_private_download"]

    fake.fail_next_file(503, count=2)
    fake.fail_next_file(429)
    statuses = [(await fetch(url, fake.bot_token))[0] for _ in range(4)]
    assert statuses == [503, 503, 429, 200]
    assert [r.status for r in fake.file_requests] == statuses

    fake.file_latency = 0.3
    started = time.monotonic()
    download = asyncio.create_task(fetch(url, fake.bot_token))
    await fake.wait_for(lambda: len(fake.file_requests) == 5, timeout=1, what="the request")
    assert not download.done()
    assert await download == (200, "text/plain", data)
    assert time.monotonic() - started >= 0.3
    assert isinstance(fake.file_requests[-1], FileRequest) and fake.file_requests[-1].at >= started


async def test_files_upload_v2_round_trip(fake: FakeSlack, client: AsyncWebClient) -> None:
    root = await fake.post_user_message("C1", "U1", "a chart please")
    data = png(4, 3)

    result = await client.files_upload_v2(
        channel="C1",
        thread_ts=root,
        content=data,
        filename="chart.png",
        title="Sales chart",
        alt_txt="A red rectangle",
        initial_comment="Here it is",
    )

    uploaded = result["file"]
    [upload] = fake.uploads
    assert (upload.file_id, upload.filename, upload.title, upload.alt_text) == (
        uploaded["id"],
        "chart.png",
        "Sales chart",
        "A red rectangle",
    )
    assert (upload.channel, upload.thread_ts, upload.content, upload.mimetype) == (
        "C1",
        root,
        data,
        "image/png",
    )
    [reply] = fake.bot_replies("C1", root)
    assert (reply.text, reply.file_ids) == ("Here it is", [uploaded["id"]])
    assert reply.ts == upload.message_ts
    assert fake.file(uploaded["id"]).content == data
    assert (uploaded["title"], uploaded["alt_txt"], uploaded["user"]) == (
        "Sales chart",
        "A red rectangle",
        "UBOT",
    )
    assert (uploaded["original_w"], uploaded["original_h"], uploaded["size"]) == (4, 3, len(data))
    shared = (await client.conversations_replies(channel="C1", ts=root))["messages"][1]
    assert (shared["bot_id"], shared["files"], shared["upload"]) == ("BBOT", [uploaded], True)
    assert await fetch(uploaded["url_private"], fake.bot_token) == (200, "image/png", data)

    # The protocol as slack-sdk speaks it: alt_txt goes with the URL request, not the completion,
    # and the bytes are POSTed to the upload URL without any token.
    [get_url] = fake.calls_to("files.getUploadURLExternal")
    [complete] = fake.calls_to("files.completeUploadExternal")
    assert get_url.params == {
        "filename": "chart.png",
        "length": str(len(data)),
        "alt_txt": "A red rectangle",
    }
    assert json.loads(complete.params["files"]) == [{"id": uploaded["id"], "title": "Sales chart"}]
    assert (complete.params["channel_id"], complete.params["thread_ts"]) == ("C1", root)
    assert [h for p, h in fake.auth_headers_seen if p.startswith("/upload/")] == [None]


async def test_upload_rules(fake: FakeSlack, client: AsyncWebClient) -> None:
    no_length = client.api_call("files.getUploadURLExternal", params={"filename": "a.txt"})
    assert await slack_error(no_length) == "invalid_arguments"
    started = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    early = client.files_completeUploadExternal(files=[{"id": started["file_id"]}], channel_id="C1")
    assert await slack_error(early) == "file_not_found"  # the bytes never arrived
    unknown = client.files_completeUploadExternal(files=[{"id": "FNOSUCHFILE"}])
    assert await slack_error(unknown) == "file_not_found"
    garbage = client.api_call("files.completeUploadExternal", params={"files": "not json"})
    assert await slack_error(garbage) == "invalid_arguments"
    assert (fake.messages, fake.uploads) == ({}, [])

    # Multipart works as well as raw bytes; completing without a channel shares nothing.
    form = aiohttp.FormData()
    form.add_field("file", b"abc", filename="a.txt")
    async with aiohttp.ClientSession() as session:
        async with session.post(started["upload_url"], data=form) as response:
            assert (response.status, await response.text()) == (200, "OK - 3")
        async with session.post(started["upload_url"] + "x", data=b"abc") as response:
            assert response.status == 404
    done = await client.files_completeUploadExternal(files=[{"id": started["file_id"]}])
    assert (done["files"][0]["title"], done["files"][0]["mimetype"]) == ("a.txt", "text/plain")
    assert [(u.channel, u.message_ts, u.content) for u in fake.uploads] == [(None, None, b"abc")]
    assert fake.messages == {}
    again = client.files_completeUploadExternal(files=[{"id": started["file_id"]}])
    assert await slack_error(again) == "file_not_found"
    info = await client.files_info(file=started["file_id"])
    assert info["file"]["size"] == 3


# ---------------------------------------------------------------------- streaming


async def test_chat_stream_helper_round_trip(fake: FakeSlack, client: AsyncWebClient) -> None:
    root = await fake.post_user_message("C1", "U1", "stream please")
    stream = await client.chat_stream(
        channel="C1",
        thread_ts=root,
        recipient_user_id="U1",
        recipient_team_id=fake.team_id,
        buffer_size=5,
    )

    await stream.append(markdown_text="Hel")  # buffered by the SDK, no call yet
    assert fake.calls_to("chat.startStream") == []
    await stream.append(markdown_text="lo, ")
    assert stream.ts is not None
    message = fake.get_message("C1", stream.ts)
    assert message is not None and message.streaming and message.text == "Hello, "
    await stream.append(markdown_text="world")
    await stream.stop(markdown_text="!", blocks=BLOCKS)

    assert (message.text, message.streaming, message.blocks) == ("Hello, world!", False, BLOCKS)
    assert fake.bot_replies("C1", root) == [message]
    methods = [c.method for c in fake.calls if c.method.endswith("Stream")]
    assert methods == ["chat.startStream", "chat.appendStream", "chat.stopStream"]


async def test_stream_rules(fake: FakeSlack, client: AsyncWebClient) -> None:
    root = await fake.post_user_message("C1", "U1", "q")
    no_recipient = client.chat_startStream(channel="C1", thread_ts=root, markdown_text="a")
    assert await slack_error(no_recipient) == "invalid_arguments"

    in_dm = await client.chat_startStream(channel="D1", thread_ts=root, markdown_text="a")
    too_long = client.chat_appendStream(channel="D1", ts=in_dm["ts"], markdown_text="x" * 12_001)
    assert await slack_error(too_long) == "msg_too_long"

    fake.close_streams_after_appends = 1
    await client.chat_appendStream(channel="D1", ts=in_dm["ts"], markdown_text="b")
    expired = client.chat_appendStream(channel="D1", ts=in_dm["ts"], markdown_text="c")
    assert await slack_error(expired) == "message_not_in_streaming_state"
    stop = client.chat_stopStream(channel="D1", ts=in_dm["ts"])
    assert await slack_error(stop) == "message_not_in_streaming_state"
    await client.chat_update(channel="D1", ts=in_dm["ts"], text="ab, finished by update")
    assert fake.bot_replies("D1", root)[0].versions == ["a", "ab", "ab, finished by update"]

    fake.streaming_supported = False
    unsupported = client.chat_startStream(channel="D1", thread_ts=root, markdown_text="a")
    assert await slack_error(unsupported) == "unknown_method"


# ---------------------------------------------------------------------- faults


async def test_429_surfaces_without_retry_handler_and_is_retried_with_one(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail_next("chat.postMessage", retry_after=0)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="hi")
    response = caught.value.response
    assert (response.status_code, response["error"]) == (429, "ratelimited")
    assert response.headers["Retry-After"] == "0"
    assert fake.messages == {}

    retrying = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.fail_next("chat.postMessage", retry_after=0)
    await retrying.chat_postMessage(channel="C1", text="hi")  # sleeps 0 + random() < 1 s

    assert [m.text for m in fake.messages_in("C1")] == ["hi"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 200]
    assert fake.rate_limited_count["chat.postMessage"] == 2


async def test_error_answers_and_server_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("auth.test", error="fatal_error")
    fake.fail_next("auth.test", status=503)

    assert await slack_error(client.auth_test()) == "fatal_error"
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response.status_code == 503
    assert (await client.auth_test())["ok"] is True


async def test_rate_limit_is_a_token_bucket_per_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.rate_limit("chat.postMessage", per_channel_per_second=0.01, burst=2)
    await client.chat_postMessage(channel="C1", text="1")
    await client.chat_postMessage(channel="C1", text="2")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="3")
    await client.chat_postMessage(channel="C2", text="other channel")

    fake.rate_limit("chat.postMessage", per_channel_per_second=0)  # lifts the limit
    await client.chat_postMessage(channel="C1", text="4")

    assert caught.value.response.headers["Retry-After"] == "1"
    assert fake.rate_limited_count == {"chat.postMessage": 1}
    assert [m.text for m in fake.messages_in("C1")] == ["1", "2", "4"]


async def test_latency_lets_tests_see_calls_in_flight(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.latency["auth.test"] = 0.3
    started = time.monotonic()
    call = asyncio.create_task(client.auth_test())
    await fake.wait_for(lambda: bool(fake.calls_to("auth.test")), timeout=1, what="a call")
    assert not call.done()
    await call
    assert time.monotonic() - started >= 0.3


async def test_wait_for_times_out_with_recent_calls(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    await client.auth_test()
    with pytest.raises(AssertionError, match="timed out waiting for the impossible") as caught:
        await fake.wait_for(lambda: False, timeout=0.05, what="the impossible")
    assert "auth.test" in str(caught.value)


async def test_reset_forgets_state_and_faults(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C1", text="old")
    fake.fail_next("auth.test", count=3)
    fake.reset()

    assert (fake.messages, fake.calls) == ({}, [])
    assert (await client.auth_test())["ok"] is True
    newer = await client.chat_postMessage(channel="C1", text="new")
    assert [m.ts for m in fake.messages_in("C1")] == [newer["ts"]]


# ---------------------------------------------------------------------- Socket Mode + Bolt


async def test_socket_protocol_on_the_wire(fake: FakeSlack, client: AsyncWebClient) -> None:
    url = (await client.apps_connections_open(app_token=fake.app_token))["url"]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url.replace("ticket=", "ticket=forged"))
        async with session.ws_connect(url, autoping=False) as ws:
            hello = await ws.receive_json()
            # The SDK counts the link as alive only if pongs echo its "sdk-ping-pong:<t>".
            await ws.ping(b"sdk-ping-pong:1700000000.5")
            pong = await ws.receive()
            envelope_id = await fake.deliver_event({"type": "message", "text": "raw"})
            envelope = await ws.receive_json()
            await ws.send_json({"envelope_id": envelope_id})
            await fake.wait_for(lambda: envelope_id in fake.acks, timeout=5, what="the ack")
            disconnecting = asyncio.create_task(fake.disconnect_clients())
            goodbye = await ws.receive_json()
            await ws.close()
            await disconnecting

    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": "A0TEST"} and "debug_info" in hello
    assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"sdk-ping-pong:1700000000.5")
    assert envelope["envelope_id"] == envelope_id and envelope["type"] == "events_api"
    assert (envelope["retry_attempt"], envelope["retry_reason"]) == (0, "")
    assert envelope["accepts_response_payload"] is False
    payload = envelope["payload"]
    assert payload["type"] == "event_callback" and payload["event"]["text"] == "raw"
    assert payload["event_id"].startswith("Ev") and payload["api_app_id"] == "A0TEST"
    assert payload["authorizations"][0]["user_id"] == "UBOT"
    assert (goodbye["type"], goodbye["reason"]) == ("disconnect", "refresh_requested")


def bolt_app(fake: FakeSlack, seen: list[tuple[str, str]]) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))

    # Bolt acks only events some listener matched, so both kinds need one.
    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append(("message", event.get("text", "")))

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        seen.append(("app_mention", event["text"]))

    return app


@contextlib.asynccontextmanager
async def socket_mode(app: AsyncApp, fake: FakeSlack, **options: Any) -> AsyncIterator[None]:
    handler = AsyncSocketModeHandler(app, fake.app_token, **options)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated in slack-bolt
    try:
        yield
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def expect_delivery(fake: FakeSlack, seen: list[tuple[str, str]], dm: str, text: str) -> None:
    ts = await fake.post_user_message(dm, "U1", text)
    [envelope] = fake.envelopes_for_ts[ts]  # DMs get no app_mention
    await fake.wait_for(lambda: envelope in fake.acks, timeout=5, what=f"ack of {text!r}")
    assert ("message", text) in seen


async def test_bolt_receives_acks_and_survives_reconnects(fake: FakeSlack) -> None:
    seen: list[tuple[str, str]] = []
    early = await fake.post_user_message("C1", "U1", "sent before anyone listened")
    # A short ping interval so the SDK's monitor notices the dropped connection quickly.
    async with socket_mode(bolt_app(fake, seen), fake, ping_interval=0.5):
        await fake.wait_connected(1)
        ts = await fake.post_user_message("C1", "U1", "<@UBOT> hello")
        envelopes = fake.envelopes_for_ts[early] + fake.envelopes_for_ts[ts]
        await fake.wait_for(lambda: all(e in fake.acks for e in envelopes), timeout=5, what="acks")

        assert ("app_mention", "<@UBOT> hello") in seen
        assert ("message", "<@UBOT> hello") in seen
        assert ("message", "sent before anyone listened") in seen
        assert len(fake.envelopes_for_ts[ts]) == len(set(fake.event_ids_for_ts[ts])) == 2
        assert all(fake.acks[e] >= fake.sent_at[e] for e in envelopes)

        await fake.disconnect_clients()
        await fake.wait_connected(2)
        await expect_delivery(fake, seen, "D1", "after a refresh")
        retry = await fake.redeliver(fake.envelopes_for_ts[ts][0])
        assert fake.envelopes[retry]["retry_attempt"] == 1
        await fake.wait_for(lambda: retry in fake.acks, timeout=5, what="ack of a retry")

        await fake.drop_connections()  # no goodbye: the SDK's monitor notices
        await fake.wait_connected(3)
        await expect_delivery(fake, seen, "D1", "after a network drop")

    socket_headers = {h for p, h in fake.auth_headers_seen if p == "/socket-mode"}
    assert socket_headers == {None}  # the ticket in the URL is the only credential


async def test_newest_connection_gets_the_envelopes(fake: FakeSlack) -> None:
    old_seen: list[tuple[str, str]] = []
    new_seen: list[tuple[str, str]] = []
    async with (
        socket_mode(bolt_app(fake, old_seen), fake),
        socket_mode(bolt_app(fake, new_seen), fake),
    ):
        await fake.wait_connected(2)
        await expect_delivery(fake, new_seen, "D1", "to the newest")
    assert old_seen == []
