"""FakeSlack proven against the real slack-sdk and slack-bolt clients (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.async_app import (
    AsyncAck,
    AsyncRespond,
    AsyncSay,
    AsyncSetStatus,
    AsyncSetSuggestedPrompts,
    AsyncSetTitle,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.manifest import HTTP_MANIFEST, ManifestRejected, load_manifest
from sandbox.workspace import (
    FakeSlack,
    FileRequest,
    Response,
    SuggestedPrompts,
    UploadedFile,
    blocks_text,
)
from slack_client.transport.limits import METHOD_LIMITS, MethodLimit, Rate
from tests.fakes.slack_faults import SlackFaults, attach_faults

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
def faults(fake: FakeSlack) -> SlackFaults:
    return attach_faults(fake)


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


async def test_file_faults_and_latency(fake: FakeSlack, faults: SlackFaults) -> None:
    data = b"plain text"
    ts = await fake.post_user_message(
        "C1", "U1", "", files=[UploadedFile("a.txt", "text/plain", data)]
    )
    [envelope] = fake.envelopes_for_ts[ts]
    url = fake.envelopes[envelope]["payload"]["event"]["files"][0]["url_private_download"]

    faults.fail_next_file(503, count=2)
    faults.fail_next_file(429)
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
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    faults.fail_next("chat.postMessage", retry_after=0)
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
    faults.fail_next("chat.postMessage", retry_after=0)
    await retrying.chat_postMessage(channel="C1", text="hi")  # sleeps 0 + random() < 1 s

    assert [m.text for m in fake.messages_in("C1")] == ["hi"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 200]
    assert faults.rate_limited_count["chat.postMessage"] == 2


async def test_error_answers_and_server_errors(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    faults.fail_next("auth.test", error="fatal_error")
    faults.fail_next("auth.test", status=503)

    assert await slack_error(client.auth_test()) == "fatal_error"
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response.status_code == 503
    assert (await client.auth_test())["ok"] is True


async def test_rate_limit_is_a_token_bucket_per_channel(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    faults.rate_limit("chat.postMessage", per_channel_per_second=0.01, burst=2)
    await client.chat_postMessage(channel="C1", text="1")
    await client.chat_postMessage(channel="C1", text="2")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="3")
    await client.chat_postMessage(channel="C2", text="other channel")

    faults.rate_limit("chat.postMessage", per_channel_per_second=0)  # lifts the limit
    await client.chat_postMessage(channel="C1", text="4")

    assert caught.value.response.headers["Retry-After"] == "1"
    assert faults.rate_limited_count == {"chat.postMessage": 1}
    assert [m.text for m in fake.messages_in("C1")] == ["1", "2", "4"]


def slow_table(*methods: str, per_channel: Rate | None = None) -> dict[str, MethodLimit]:
    """Slack's table for `methods`, but with refills too slow to happen during a test."""
    table: dict[str, MethodLimit] = {}
    for method in methods:
        budget = METHOD_LIMITS[method].channel_budget
        table[method] = MethodLimit(Rate(per_minute=600, burst=100), budget, per_channel)
    return table


async def test_realistic_limits_posting_in_a_channel(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    faults.realistic_limits()  # Slack's table: one a second per channel, bursts of 3
    for text in ("1", "2", "3"):
        await client.chat_postMessage(channel="C1", text=text)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="4")
    await client.chat_postMessage(channel="C2", text="other channel")

    response = caught.value.response
    assert (response.status_code, response["error"]) == (429, "ratelimited")
    assert response.headers["Retry-After"] == "1"
    assert [m.text for m in fake.messages_in("C1")] == ["1", "2", "3"]
    assert [m.text for m in fake.messages_in("C2")] == ["other channel"]
    assert faults.rate_limited_count == {"chat.postMessage": 1}
    assert faults.rate_limited_total() == 1


async def test_realistic_limits_share_a_posting_budget_per_channel(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    methods = ("chat.postMessage", "chat.startStream", "assistant.threads.setStatus")
    faults.realistic_limits(slow_table(*methods, per_channel=Rate(per_minute=1, burst=2)))
    root = await fake.post_user_message("D1", "U1", "q")
    await client.chat_postMessage(channel="D1", thread_ts=root, text="answer")
    await client.chat_startStream(channel="D1", thread_ts=root, markdown_text="a")
    posting = client.chat_postMessage(channel="D1", thread_ts=root, text="too soon")
    streaming = client.chat_startStream(channel="D1", thread_ts=root, markdown_text="b")
    assert await slack_error(posting) == "ratelimited"
    assert await slack_error(streaming) == "ratelimited"
    # A loading state has a budget of its own in the channel: posting used none of it.
    await client.assistant_threads_setStatus(channel_id="D1", thread_ts=root, status="busy")

    assert [m.text for m in fake.bot_replies("D1", root)] == ["answer", "a"]
    assert fake.assistant_status[("D1", root)] == "busy"
    assert faults.rate_limited_count == {"chat.postMessage": 1, "chat.startStream": 1}
    refused = [c for c in fake.calls if c.status == 429]
    assert [c.method for c in refused] == ["chat.postMessage", "chat.startStream"]


async def test_realistic_limits_per_workspace_tier(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    # Methods the table leaves out are unlimited with no default.
    faults.realistic_limits({"chat.update": MethodLimit(Rate(per_minute=6, burst=2))}, default=None)
    posted = [await client.chat_postMessage(channel=c, text="v1") for c in ("C1", "C2", "C3")]
    await client.chat_update(channel="C1", ts=posted[0]["ts"], text="v2")
    await client.chat_update(channel="C2", ts=posted[1]["ts"], text="v2")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="C3", ts=posted[2]["ts"], text="v2")

    assert caught.value.response.status_code == 429
    # A token every 10 s, the bucket emptied just now: Slack's whole seconds, rounded up.
    assert 1 <= int(caught.value.response.headers["Retry-After"]) <= 10
    assert [fake.messages_in(c)[0].text for c in ("C1", "C2", "C3")] == ["v2", "v2", "v1"]
    assert faults.rate_limited_total() == 1


async def test_realistic_limits_turn_off_and_spare_socket_mode(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    one_ever = MethodLimit(Rate(per_minute=0, burst=1))
    faults.realistic_limits({}, default=one_ever)
    await client.auth_test()
    assert await slack_error(client.auth_test()) == "ratelimited"
    # The Socket Mode client's own call, with the app token, is never limited.
    for _ in range(2):
        await client.apps_connections_open(app_token=fake.app_token)

    faults.realistic_limits(None)
    await client.auth_test()
    faults.realistic_limits({}, default=one_ever)  # buckets start full again
    await client.auth_test()
    fake.reset()  # detaches the faults too
    await client.auth_test()
    await client.auth_test()
    assert faults.rate_limited_total() == 1  # the one refused before the reset
    assert [c.status for c in fake.calls] == [200, 200]


async def test_realistic_limits_alongside_a_test_rate_limit(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    faults.realistic_limits(slow_table("chat.postMessage", per_channel=Rate(per_minute=1, burst=2)))
    faults.rate_limit("chat.postMessage", per_channel_per_second=0.01, burst=1)
    await client.chat_postMessage(channel="C1", text="1")
    # Refused by rate_limit(): the realistic bucket keeps its token for the next call.
    assert await slack_error(client.chat_postMessage(channel="C1", text="2")) == "ratelimited"
    faults.rate_limit("chat.postMessage", per_channel_per_second=0)
    await client.chat_postMessage(channel="C1", text="3")
    assert await slack_error(client.chat_postMessage(channel="C1", text="4")) == "ratelimited"

    assert [m.text for m in fake.messages_in("C1")] == ["1", "3"]
    assert faults.rate_limited_total() == 2


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


async def test_reset_forgets_state_and_faults(
    fake: FakeSlack, faults: SlackFaults, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="C1", text="old")
    faults.fail_next("auth.test", count=3)
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


# ---------------------------------------------------------------------- interactivity


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def button(action_id: str, text: str, value: str | None = None) -> dict[str, Any]:
    element = {"type": "button", "action_id": action_id, "text": plain(text)}
    return element if value is None else {**element, "value": value}


MODELS = [option("Small model", "small"), option("Big model", "big")]
ASK_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "ask",
    "title": plain("Ask the assistant"),
    "submit": plain("Ask"),
    "blocks": [
        {
            "type": "input",
            "block_id": "question",
            "label": plain("Question"),
            "element": {
                "type": "plain_text_input",
                "action_id": "text",
                "placeholder": plain("What do you want to know?"),
            },
        },
        {
            "type": "section",
            "block_id": "model",
            "text": {"type": "mrkdwn", "text": "Model"},
            "accessory": {
                "type": "static_select",
                "action_id": "pick",
                "options": MODELS,
                "initial_option": MODELS[0],
            },
        },
    ],
}


async def post_json(url: str, body: Any) -> tuple[int, str, str]:
    """POST to a response_url the way slack-sdk's webhook client does."""
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, response.content_type, await response.text()


def payload_of(fake: FakeSlack, envelope_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = fake.envelopes[envelope_id]["payload"]
    return payload


async def test_slash_command_payload_and_response_url(fake: FakeSlack) -> None:
    fake.add_user("U1", "alice")
    command = await fake.slash_command("U1", "C1", "what is up?")

    envelope = fake.envelopes[command]
    payload = envelope["payload"]
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("slash_commands", True)
    assert set(payload) == {
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
        "user_name", "command", "text", "api_app_id", "is_enterprise_install",
        "response_url", "trigger_id",
    }  # fmt: skip
    assert all(isinstance(value, str) for value in payload.values())  # a form, in Slack
    assert (payload["command"], payload["text"], payload["user_name"]) == (
        "/ai",
        "what is up?",
        "alice",
    )
    assert (payload["channel_name"], payload["is_enterprise_install"]) == ("c1", "false")
    assert re.fullmatch(r"\d+\.\d+\.[0-9a-f]+", payload["trigger_id"])
    url = payload["response_url"]
    assert url.startswith(f"{fake.base_url}/response/")

    assert await post_json(url, {"text": "only you"}) == (200, "text/plain", "ok")
    in_channel = {"text": "everyone", "response_type": "in_channel"}
    assert await post_json(url, in_channel) == (200, "text/plain", "ok")
    assert (await post_json(url, {"text": ""}))[::2] == (400, "no_text")
    assert (await post_json(url, "not an object"))[::2] == (400, "invalid_payload")
    assert (await post_json(url + "x", {"text": "?"}))[::2] == (404, "no_service")

    [private] = fake.ephemerals_for("U1", "C1")
    assert (private.text, private.via, private.thread_ts) == ("only you", "response_url", None)
    [public] = fake.messages_in("C1")
    assert (public.text, public.bot_id) == ("everyone", "BBOT")
    assert fake.responses[command] == [
        Response("only you", None, "ephemeral", False, False, None, "C1", "U1"),
        Response("everyone", None, "in_channel", False, False, None, "C1", "U1"),
    ]
    for _ in range(3):
        await post_json(url, {"text": "again"})
    assert (await post_json(url, {"text": "sixth"}))[::2] == (404, "used_url")  # 5 uses


async def test_acks_are_applied_like_slack_within_its_deadline(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    url = (await client.apps_connections_open(app_token=fake.app_token))["url"]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()  # hello

        async def ack_next(payload: dict[str, Any] | None = None) -> str:
            envelope_id = str((await ws.receive_json())["envelope_id"])
            frame = {"envelope_id": envelope_id}
            await ws.send_json(frame if payload is None else {**frame, "payload": payload})
            await fake.wait_for(lambda: envelope_id in fake.acks, timeout=5, what="the ack")
            return envelope_id

        # A slash command's ack text is what the user sees, privately.
        command = await fake.slash_command("U1", "C1", "help")
        assert await ack_next({"text": "Try /ai <question>"}) == command
        [hint] = fake.ephemerals_for("U1", "C1")
        assert (hint.text, hint.via, fake.responses) == ("Try /ai <question>", "ack", {})
        trigger = payload_of(fake, command)["trigger_id"]
        modal = fake.views[
            (await client.views_open(trigger_id=trigger, view=ASK_MODAL))["view"]["id"]
        ]

        # Past Slack's 3 seconds an ack changes nothing: the user saw an error instead.
        fake.ack_deadline = 0.0
        late = await fake.slash_command("U1", "C1", "help")
        await ack_next({"text": "too late"})
        assert "acked after" in fake.ack_problems[late]
        assert fake.ephemerals_for("U1") == [hint]
        acker = asyncio.create_task(ack_next())
        with pytest.raises(AssertionError, match="acked after"):
            await fake.submit_view("U1", modal.id, {"text": "hello"})
        await acker
        assert not modal.closed


async def test_trigger_ids_are_single_use_and_expire(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = payload_of(fake, await fake.slash_command("U1", "C1", ""))["trigger_id"]
    # An invalid view does not use the trigger up; Slack says what is wrong.
    long_title = {**ASK_MODAL, "title": plain("x" * 25)}
    with pytest.raises(SlackApiError) as caught:
        await client.views_open(trigger_id=trigger, view=long_title)
    assert caught.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in caught.value.response["response_metadata"]["messages"][0]

    opened = (await client.views_open(trigger_id=trigger, view=ASK_MODAL))["view"]
    again = client.views_open(trigger_id=trigger, view=ASK_MODAL)
    assert await slack_error(again) == "exchanged_trigger_id"
    unknown = client.views_open(trigger_id="1337.42.abcdef", view=ASK_MODAL)
    assert await slack_error(unknown) == "invalid_trigger_id"
    fake.trigger_ttl = 0.0
    stale = payload_of(fake, await fake.slash_command("U1", "C1", ""))["trigger_id"]
    assert await slack_error(client.views_open(trigger_id=stale, view=ASK_MODAL)) == (
        "expired_trigger_id"
    )

    [modal] = fake.open_modals("U1")
    assert opened["id"] == modal.id and modal.id.startswith("V")
    assert (opened["type"], opened["callback_id"], opened["root_view_id"]) == (
        "modal",
        "ask",
        modal.id,
    )
    assert opened["state"]["values"]["model"]["pick"]["selected_option"] == MODELS[0]
    assert (opened["hash"], opened["app_id"], opened["bot_id"]) == (modal.hash, "A0TEST", "BBOT")


async def test_views_are_validated_like_slack(fake: FakeSlack, client: AsyncWebClient) -> None:
    trigger = payload_of(fake, await fake.slash_command("U1", "C1", ""))["trigger_id"]
    question = ASK_MODAL["blocks"][0]
    section = {"type": "section", "text": plain("hi")}
    bad_views = {
        "no title": {**ASK_MODAL, "title": None},
        "inputs but no submit": {**ASK_MODAL, "submit": None},
        "101 blocks": {**ASK_MODAL, "submit": None, "blocks": [section] * 101},
        "long metadata": {**ASK_MODAL, "private_metadata": "x" * 3001},
        "long callback_id": {**ASK_MODAL, "callback_id": "x" * 256},
        "block without type": {**ASK_MODAL, "blocks": [{"text": plain("hi")}]},
        "input without label": {**ASK_MODAL, "blocks": [{**question, "label": None}]},
        "input without element": {**ASK_MODAL, "blocks": [{**question, "element": None}]},
        "max_length 3001": {
            **ASK_MODAL,
            "blocks": [{**question, "element": {**question["element"], "max_length": 3001}}],
        },
        "a home view": {**ASK_MODAL, "type": "home"},
    }
    for what, view in bad_views.items():
        error = await slack_error(client.views_open(trigger_id=trigger, view=view))
        assert error == "invalid_arguments", what
    twice = {**ASK_MODAL, "blocks": [question, question]}
    assert await slack_error(client.views_open(trigger_id=trigger, view=twice)) == (
        "duplicate_block_id"
    )
    # A form-encoded view is a JSON string; Slack fills in missing block and action ids.
    minimal = {
        "type": "modal",
        "title": plain("Hi"),
        "external_id": "greeting",
        "blocks": [section, {"type": "actions", "elements": [button("", "Ok")]}],
    }
    form = {"trigger_id": trigger, "view": json.dumps(minimal)}
    view = (await client.api_call("views.open", data=form))["view"]
    assert all(len(block["block_id"]) == 5 for block in view["blocks"])
    assert view["blocks"][1]["elements"][0]["action_id"]
    assert view["title"] == plain("Hi") and view["submit"] is None

    updated = {**minimal, "blocks": [{"type": "section", "text": plain("bye")}]}
    stale_hash = client.views_update(view_id=view["id"], view=updated, hash="1.stale")
    assert await slack_error(stale_hash) == "hash_conflict"
    unknown = client.views_update(view_id="VNOSUCHVIEW", view=updated)
    assert await slack_error(unknown) == "not_found"
    done = await client.views_update(external_id="greeting", view=updated, hash=view["hash"])
    assert done["view"]["id"] == view["id"] and done["view"]["hash"] != view["hash"]
    stored = fake.views[view["id"]]
    assert (stored.text, blocks_text(stored.versions[0])) == ("bye", "hi\nOk")

    home = {"type": "home", "blocks": [section]}
    assert await slack_error(client.views_publish(user_id="U1", view=ASK_MODAL)) == (
        "invalid_arguments"
    )
    first = (await client.views_publish(user_id="U1", view=home))["view"]
    second = (await client.views_publish(user_id="U1", view=home, hash=first["hash"]))["view"]
    assert first["id"] == second["id"] and "title" not in second
    stale = client.views_publish(user_id="U1", view=home, hash=first["hash"])
    assert await slack_error(stale) == "hash_conflict"
    assert fake.home_view("U1") is fake.views[first["id"]] and fake.home_view("U2") is None


async def test_message_blocks_and_ephemerals_are_checked(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    section = {"type": "section", "text": plain("x")}
    too_many = client.chat_postMessage(channel="C1", text="x", blocks=[section] * 51)
    assert await slack_error(too_many) == "invalid_blocks"
    untyped = client.chat_postMessage(channel="C1", text="x", blocks=[{"text": plain("x")}])
    assert await slack_error(untyped) == "invalid_blocks"
    twice = [{**section, "block_id": "b"}, {**section, "block_id": "b"}]
    assert await slack_error(client.chat_postMessage(channel="C1", text="x", blocks=twice)) == (
        "invalid_blocks"
    )
    posted = await client.chat_postMessage(channel="C1", text="x", blocks=[section] * 50)
    no_type = client.chat_update(channel="C1", ts=posted["ts"], text="y", blocks=[{"x": 1}])
    assert await slack_error(no_type) == "invalid_blocks"

    no_user = client.api_call("chat.postEphemeral", json={"channel": "C1", "text": "x"})
    assert await slack_error(no_user) == "invalid_arguments"
    no_text = client.api_call("chat.postEphemeral", json={"channel": "C1", "user": "U1"})
    assert await slack_error(no_text) == "no_text"
    sent = await client.chat_postEphemeral(
        channel="C1", user="U1", text="psst", blocks=[section], thread_ts=posted["ts"]
    )
    [ephemeral] = fake.ephemerals
    assert (ephemeral.message_ts, ephemeral.text, ephemeral.blocks) == (
        sent["message_ts"],
        "psst",
        [section],
    )
    assert (ephemeral.thread_ts, ephemeral.via) == (posted["ts"], "chat.postEphemeral")
    assert fake.ephemerals_for("U1", "C2") == [] and fake.ephemerals_for("U2") == []
    assert len(fake.messages_in("C1")) == 1  # ephemerals are not in the channel


async def test_block_actions_from_messages_and_ephemerals(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    root = await fake.post_user_message("C1", "U1", "deploy?")
    places = [option("Staging", "staging"), option("Production", "prod")]
    rating = {
        "type": "feedback_buttons",
        "action_id": "rate",
        "positive_button": {"text": plain("Good"), "value": "good", "accessibility_label": "+"},
        "negative_button": {"text": plain("Bad"), "value": "bad", "accessibility_label": "-"},
    }
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Deploy *now*?"}},
        {
            "type": "actions",
            "block_id": "choice",
            "elements": [
                {**button("vote", "Yes", "yes"), "style": "primary"},
                button("vote", "No", "no"),
                {
                    "type": "static_select",
                    "action_id": "env",
                    "placeholder": plain("Where"),
                    "options": places,
                },
            ],
        },
        {"type": "context_actions", "block_id": "feedback", "elements": [rating]},
    ]
    posted = await client.chat_postMessage(
        channel="C1", thread_ts=root, text="Deploy now?", blocks=blocks
    )
    message = fake.get_message("C1", posted["ts"])
    assert message is not None

    chose = await fake.click("U2", message=message, action_id="env", value="prod")
    voted = await fake.click("U2", message=message, action_id="vote", value="no")
    rated = await fake.click("U2", message=message, action_id="rate", value="good")

    envelope = fake.envelopes[voted]
    payload = envelope["payload"]
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("interactive", True)
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U2", "username": "u2", "name": "u2", "team_id": "T0TEST"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": "C1",
        "is_ephemeral": False,
        "thread_ts": root,
    }
    assert (payload["channel"], payload["team"]) == (
        {"id": "C1", "name": "c1"},
        {"id": "T0TEST", "domain": "test"},
    )
    assert (payload["enterprise"], payload["is_enterprise_install"]) == (None, False)
    assert payload["message"]["ts"] == message.ts and payload["message"]["blocks"] == blocks
    # The choice made in the select travels with every later action on the message.
    assert payload["state"] == {
        "values": {"choice": {"env": {"type": "static_select", "selected_option": places[1]}}}
    }
    [action] = payload["actions"]
    assert action.pop("action_ts")
    assert action == {
        "type": "button",
        "action_id": "vote",
        "block_id": "choice",
        "text": plain("No"),
        "value": "no",
    }
    [select] = payload_of(fake, chose)["actions"]
    assert (select["selected_option"], select["placeholder"]) == (places[1], plain("Where"))
    [feedback] = payload_of(fake, rated)["actions"]
    assert set(feedback) == {"type", "action_id", "block_id", "value", "action_ts"}
    assert (feedback["type"], feedback["block_id"], feedback["value"]) == (
        "feedback_buttons",
        "feedback",
        "good",
    )
    triggers = {payload_of(fake, e)["trigger_id"] for e in (chose, voted, rated)}
    assert len(triggers) == 3

    with pytest.raises(AssertionError, match="no element with action_id 'nope'"):
        await fake.click("U2", message=message, action_id="nope")
    with pytest.raises(AssertionError, match="no element"):
        await fake.click("U2", message=message, action_id="vote", value="maybe")
    with pytest.raises(AssertionError, match="more than one"):
        await fake.click("U2", message=message, action_id="vote")
    with pytest.raises(AssertionError, match="offers"):
        await fake.click("U2", message=message, action_id="env", value="dev")
    with pytest.raises(AssertionError, match="offer"):
        await fake.click("U2", message=message, action_id="rate", value="meh")

    url = payload["response_url"]
    replace = {"text": "Deploying to prod", "replace_original": True}
    assert (await post_json(url, replace))[0] == 200
    assert (message.text, message.blocks, message.versions[-1]) == (
        "Deploying to prod",
        None,
        "Deploying to prod",
    )
    assert (await post_json(url, {"delete_original": True}))[0] == 200
    assert fake.get_message("C1", message.ts) is None
    with pytest.raises(AssertionError, match="is gone"):
        await fake.click("U2", message=message, action_id="vote", value="no")

    dismiss = {"type": "actions", "elements": [button("dismiss", "Dismiss")]}
    await client.chat_postEphemeral(
        channel="C1", user="U1", text="Only you", blocks=[dismiss], thread_ts=root
    )
    [ephemeral] = fake.ephemerals_for("U1")
    with pytest.raises(AssertionError, match="does not see"):
        await fake.click("U2", ephemeral=ephemeral, action_id="dismiss")
    clicked = payload_of(fake, await fake.click("U1", ephemeral=ephemeral, action_id="dismiss"))
    assert clicked["container"] == {
        "type": "message",
        "message_ts": ephemeral.message_ts,
        "channel_id": "C1",
        "is_ephemeral": True,
        "thread_ts": root,
    }
    assert "message" not in clicked  # Slack does not send ephemeral messages back
    assert len(clicked["actions"][0]["block_id"]) == 5  # a stand-in for Slack's own id
    assert (await post_json(clicked["response_url"], {"delete_original": True}))[0] == 200
    assert ephemeral.deleted and fake.ephemerals_for("U1") == []


def ask_app(fake: FakeSlack, triggers: list[str]) -> AsyncApp:
    """A Bolt app: /ai opens the ask modal, whose answer comes as an ephemeral with a button."""
    app = AsyncApp(client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))

    @app.command("/ai")
    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        triggers.append(body["trigger_id"])
        view = {**ASK_MODAL, "private_metadata": body["channel_id"]}
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("pick")
    async def on_pick(ack: AsyncAck) -> None:
        await ack()

    @app.view("ask")
    async def on_ask(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        values = body["view"]["state"]["values"]
        question = values["question"]["text"]["value"]
        if len(question) < 5:
            await ack(response_action="errors", errors={"question": "Ask a longer question"})
            return
        await ack()
        model = values["model"]["pick"]["selected_option"]["value"]
        more = {"type": "actions", "elements": [button("more", "Tell me more")]}
        await client.chat_postEphemeral(
            channel=body["view"]["private_metadata"],
            user=body["user"]["id"],
            text=f"The {model} model says: it depends",
            blocks=[{"type": "section", "text": plain("It depends")}, more],
        )

    @app.action("more")
    async def on_more(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(text="It really depends", replace_original=True)

    @app.action("approve")
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"Approved by <@{body['user']['id']}>", replace_original=True)
        await respond(text="Thanks!")  # ephemeral, to the one who clicked

    return app


async def test_bolt_command_modal_submission_and_buttons(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    triggers: list[str] = []
    async with socket_mode(ask_app(fake, triggers), fake):
        await fake.wait_connected(1)
        command = await fake.slash_command("U1", "C1", "")
        await fake.wait_for(lambda: bool(fake.open_modals("U1")), timeout=5, what="the modal")
        await fake.wait_for(lambda: command in fake.acks, timeout=5, what="the command's ack")
        [modal] = fake.open_modals("U1")
        assert modal.callback_id == "ask" and modal.private_metadata == "C1"
        assert modal.text.splitlines() == [
            "Question",
            "What do you want to know?",
            "Model",
            "Small model (selected)",
            "Big model",
        ]
        picked = await fake.click("U1", view_id=modal.id, action_id="pick", value="big")
        assert payload_of(fake, picked)["container"] == {"type": "view", "view_id": modal.id}
        assert "Big model (selected)" in modal.text

        await fake.submit_view("U1", modal.id, {"text": "why?"})
        assert (modal.closed, modal.errors) == (False, {"question": "Ask a longer question"})
        submitted = await fake.submit_view("U1", modal.id, {"text": "Why is the sky blue?"})
        assert modal.closed and fake.open_modals("U1") == [] and modal.errors is None
        sent = payload_of(fake, submitted)
        assert (sent["type"], sent["response_urls"], sent["view"]["callback_id"]) == (
            "view_submission",
            [],
            "ask",
        )

        await fake.wait_for(lambda: bool(fake.ephemerals_for("U1")), timeout=5, what="answer")
        [answer] = fake.ephemerals_for("U1", "C1")
        assert answer.text == "The big model says: it depends"  # the click's choice counted
        assert blocks_text(answer.blocks) == "It depends\nTell me more"
        more = await fake.click("U1", ephemeral=answer, action_id="more")
        await fake.wait_for(lambda: more in fake.responses, timeout=5, what="respond()")
        assert answer.versions == ["The big model says: it depends", "It really depends"]
        assert fake.ephemerals_for("U1") == [answer]  # replaced, not added

        approve = {"type": "actions", "elements": [button("approve", "Approve", "go")]}
        posted = await client.chat_postMessage(channel="C1", text="Deploy?", blocks=[approve])
        message = fake.get_message("C1", posted["ts"])
        assert message is not None
        clicked = await fake.click("U2", message=message, action_id="approve")
        await fake.wait_for(
            lambda: len(fake.responses.get(clicked, [])) == 2, timeout=5, what="respond()"
        )
        assert (message.text, message.blocks) == ("Approved by <@U2>", None)
        assert [e.text for e in fake.ephemerals_for("U2", "C1")] == ["Thanks!"]
        assert [r.replace_original for r in fake.responses[clicked]] == [True, False]

    reused = client.views_open(trigger_id=triggers[0], view=ASK_MODAL)
    assert await slack_error(reused) == "exchanged_trigger_id"


WIZARD: dict[str, Any] = {
    "type": "modal",
    "callback_id": "wizard",
    "title": plain("Settings"),
    "submit": plain("Next"),
    "close": plain("Cancel"),
    "notify_on_close": True,
    "blocks": [
        {
            "type": "input",
            "block_id": "name",
            "optional": True,
            "label": plain("Name"),
            "element": {"type": "plain_text_input", "action_id": "name", "max_length": 10},
        },
        {
            "type": "input",
            "block_id": "count",
            "label": plain("How many"),
            "element": {
                "type": "number_input",
                "action_id": "count",
                "is_decimal_allowed": False,
                "initial_value": "1",
            },
        },
        {
            "type": "input",
            "block_id": "tone",
            "label": plain("Tone"),
            "element": {
                "type": "radio_buttons",
                "action_id": "tone",
                "options": [option("Formal", "formal"), option("Casual", "casual")],
                "initial_option": option("Casual", "casual"),
            },
        },
        {
            "type": "input",
            "block_id": "extras",
            "optional": True,
            "dispatch_action": True,
            "label": plain("Extras"),
            "element": {
                "type": "checkboxes",
                "action_id": "extras",
                "options": [option("Sources", "sources"), option("Summary", "summary")],
            },
        },
        {
            "type": "input",
            "block_id": "lang",
            "label": plain("Language"),
            "element": {
                "type": "static_select",
                "action_id": "lang",
                "options": [option("English", "en"), option("German", "de")],
            },
        },
    ],
}
STEP_TWO: dict[str, Any] = {
    "type": "modal",
    "callback_id": "step2",
    "title": plain("Confirm"),
    "submit": plain("Done"),
    "blocks": [
        {
            "type": "input",
            "block_id": "confirm",
            "label": plain("Type yes"),
            "element": {"type": "plain_text_input", "action_id": "confirm"},
        }
    ],
}


def wizard_app(
    fake: FakeSlack, answers: list[dict[str, Any]], seen: list[dict[str, Any]]
) -> AsyncApp:
    """A Bolt app whose view submissions are acked with the test's ``answers``, in order."""
    app = AsyncApp(client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))

    @app.command("/ai")
    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=WIZARD)

    @app.action("extras")
    async def on_extras(ack: AsyncAck) -> None:
        await ack()

    @app.view("wizard")
    @app.view("step2")
    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        seen.append(body)
        await ack(**answers.pop(0))

    @app.view_closed("wizard")
    async def on_closed(ack: AsyncAck, body: dict[str, Any]) -> None:
        seen.append(body)
        await ack()

    return app


async def test_modal_state_push_update_clear_and_close(fake: FakeSlack) -> None:
    answers: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    async with socket_mode(wizard_app(fake, answers, seen), fake):
        await fake.wait_connected(1)
        await fake.slash_command("U1", "C1", "")
        await fake.wait_for(lambda: bool(fake.open_modals("U1")), timeout=5, what="the modal")
        [wizard] = fake.open_modals("U1")

        for value in ("summary", "sources", "summary"):  # each click toggles a box
            await fake.click("U1", view_id=wizard.id, action_id="extras", value=value)
        assert wizard.state_values["extras"]["extras"]["selected_options"] == [
            option("Sources", "sources")
        ]
        assert "Sources (selected)\nSummary\n" in wizard.text
        with pytest.raises(AssertionError, match="'Language' is required"):
            await fake.submit_view("U1", wizard.id)
        with pytest.raises(AssertionError, match="no input with action_id"):
            await fake.submit_view("U1", wizard.id, {"lang": "de", "nope": "x"})
        with pytest.raises(AssertionError, match="has 11 chars"):
            await fake.submit_view("U1", wizard.id, {"lang": "de", "name": "x" * 11})
        with pytest.raises(AssertionError, match="is shown to U1"):
            await fake.submit_view("U2", wizard.id, {"lang": "de"})

        answers.append({"response_action": "push", "view": STEP_TWO})
        await fake.submit_view("U1", wizard.id, {"count": 3, "lang": "de", "name": ""})
        casual, sources, german = (
            option("Casual", "casual"),
            option("Sources", "sources"),
            option("German", "de"),
        )
        assert seen[-1]["view"]["state"]["values"] == {
            "name": {"name": {"type": "plain_text_input", "value": None}},
            "count": {"count": {"type": "number_input", "value": "3"}},
            "tone": {"tone": {"type": "radio_buttons", "selected_option": casual}},
            "extras": {"extras": {"type": "checkboxes", "selected_options": [sources]}},
            "lang": {"lang": {"type": "static_select", "selected_option": german}},
        }
        wizard_again, step_two = fake.open_modals("U1")
        assert wizard_again is wizard and step_two.callback_id == "step2"
        assert (step_two.previous_view_id, step_two.root_view_id) == (wizard.id, wizard.id)
        with pytest.raises(AssertionError, match="covered by the pushed view"):
            await fake.click("U1", view_id=wizard.id, action_id="extras", value="summary")

        done = {**STEP_TWO, "blocks": [{"type": "section", "text": plain("All set")}]}
        answers.append({"response_action": "update", "view": done})
        first_hash = step_two.hash
        await fake.submit_view("U1", step_two.id, {"confirm": "yes"})
        assert (step_two.text, step_two.closed, len(step_two.versions)) == ("All set", False, 1)
        assert step_two.hash != first_hash

        answers.append({"response_action": "clear"})
        await fake.submit_view("U1", step_two.id)
        assert fake.open_modals("U1") == [] and wizard.closed and step_two.closed

        await fake.slash_command("U1", "C1", "")
        await fake.wait_for(lambda: bool(fake.open_modals("U1")), timeout=5, what="a new modal")
        [second] = fake.open_modals("U1")
        answers.append({"response_action": "errors", "errors": {"nope": "not an input"}})
        with pytest.raises(AssertionError, match="invalid_errors"):
            await fake.submit_view("U1", second.id, {"lang": "en"})
        assert not second.closed and second.errors is None
        closed = await fake.close_view("U1", second.id)
        await fake.wait_for(lambda: closed in fake.acks, timeout=5, what="view_closed's ack")
        assert (seen[-1]["type"], seen[-1]["view"]["id"], seen[-1]["is_cleared"]) == (
            "view_closed",
            second.id,
            False,
        )
        assert second.closed and fake.open_modals("U1") == []


HOME: dict[str, Any] = {
    "type": "home",
    "blocks": [
        {"type": "header", "text": plain("Your assistant")},
        {"type": "actions", "elements": [button("refresh", "Refresh", "now")]},
    ],
}


def assistant_app(fake: FakeSlack) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view=HOME)

    @app.action("refresh")
    async def on_refresh(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        refreshed = {**HOME, "blocks": [*HOME["blocks"], {"type": "markdown", "text": "Fresh"}]}
        view = body["view"]
        await client.views_publish(user_id=body["user"]["id"], view=refreshed, hash=view["hash"])

    @app.shortcut("summarize")
    async def on_shortcut(ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"Summary of: {shortcut['message']['text']}")

    @app.event("assistant_thread_started")
    async def on_started(
        set_title: AsyncSetTitle, set_suggested_prompts: AsyncSetSuggestedPrompts
    ) -> None:
        await set_title("New chat")
        prompts = [{"title": "Summarize", "message": "Summarize the channel"}]
        await set_suggested_prompts(prompts=prompts, title="Try")

    @app.event("message")
    async def on_message(set_status: AsyncSetStatus, say: AsyncSay) -> None:
        await set_status("is thinking...", loading_messages=["Reading", "Writing"])
        await say("Here you go")

    return app


async def test_home_shortcut_and_assistant_thread_with_bolt(fake: FakeSlack) -> None:
    async with socket_mode(assistant_app(fake), fake):
        await fake.wait_connected(1)
        opened = await fake.open_home("U1")
        await fake.wait_for(lambda: fake.home_view("U1") is not None, timeout=5, what="home")
        home = fake.home_view("U1")
        assert home is not None and home.text == "Your assistant\nRefresh"
        event = payload_of(fake, opened)["event"]
        assert {k: event[k] for k in ("type", "user", "channel", "tab")} == {
            "type": "app_home_opened",
            "user": "U1",
            "channel": fake.dm_channel("U1"),
            "tab": "home",
        }
        assert fake.dm_channel("U1").startswith("D") and fake.dm_channel("U1") != (
            fake.dm_channel("U2")
        )
        await fake.click("U1", view_id=home.id, action_id="refresh")
        await fake.wait_for(lambda: bool(home.versions), timeout=5, what="the refreshed home")
        assert home.text.endswith("Fresh") and fake.home_view("U1") is home
        again = payload_of(fake, await fake.open_home("U1"))["event"]
        assert again["view"]["hash"] == home.hash  # Slack shows the app its published view

        ts = await fake.post_user_message("C1", "U2", "a long discussion")
        shortcut = await fake.message_shortcut("U1", "C1", ts, "summarize")
        await fake.wait_for(lambda: shortcut in fake.responses, timeout=5, what="respond()")
        payload = payload_of(fake, shortcut)
        assert (payload["type"], payload["callback_id"], payload["message_ts"]) == (
            "message_action",
            "summarize",
            ts,
        )
        assert payload["message"]["text"] == "a long discussion" and payload["trigger_id"]
        [summary] = fake.ephemerals_for("U1", "C1")
        assert summary.text == "Summary of: a long discussion"
        with pytest.raises(AssertionError, match="no message"):
            await fake.message_shortcut("U1", "C1", "1.000001", "summarize")

        channel, thread_ts = await fake.start_assistant_thread("U1", context_channel="C1")
        key = (channel, thread_ts)
        await fake.wait_for(lambda: key in fake.suggested_prompts, timeout=5, what="prompts")
        root = fake.get_message(channel, thread_ts)
        assert root is not None and (root.subtype, root.text, root.bot_id) == (
            "assistant_app_thread",
            "",
            "BBOT",
        )
        [started] = fake.envelopes_for_ts[thread_ts]
        assert payload_of(fake, started)["event"]["assistant_thread"] == {
            "user_id": "U1",
            "context": {"channel_id": "C1", "team_id": "T0TEST", "enterprise_id": None},
            "channel_id": channel,
            "thread_ts": thread_ts,
        }
        assert fake.assistant_titles[key] == "New chat"
        assert fake.suggested_prompts[key] == SuggestedPrompts(
            [{"title": "Summarize", "message": "Summarize the channel"}], "Try"
        )

        await fake.post_user_message(channel, "U1", "hello", thread_ts=thread_ts)
        await fake.wait_for(lambda: bool(fake.bot_replies(*key)), timeout=5, what="the reply")
        assert [m.text for m in fake.bot_replies(*key)] == ["Here you go"]
        # The status shows while the app works and goes when it replies, as in Slack.
        assert (fake.assistant_status_history[key], fake.assistant_status[key]) == (
            ["is thinking..."],
            "",
        )
        calls = fake.calls_to("assistant.threads.setStatus")
        [status_call] = [c for c in calls if c.params["channel_id"] == channel]
        assert status_call.params["loading_messages"] == ["Reading", "Writing"]


async def test_assistant_methods_are_checked(fake: FakeSlack, client: AsyncWebClient) -> None:
    no_status = client.api_call(
        "assistant.threads.setStatus", json={"channel_id": "D1", "thread_ts": "1.1"}
    )
    assert await slack_error(no_status) == "invalid_arguments"
    chatty = client.assistant_threads_setStatus(
        channel_id="D1", thread_ts="1.1", status="x", loading_messages=["m"] * 11
    )
    assert await slack_error(chatty) == "invalid_arguments"
    no_title = client.api_call(
        "assistant.threads.setTitle", params={"channel_id": "D1", "thread_ts": "1.1"}
    )
    assert await slack_error(no_title) == "invalid_arguments"
    prompt = {"title": "t", "message": "m"}
    too_many = client.assistant_threads_setSuggestedPrompts(
        channel_id="D1", thread_ts="1.1", prompts=[prompt] * 5
    )
    assert await slack_error(too_many) == "invalid_arguments"
    no_thread = client.assistant_threads_setStatus(channel_id="D1", thread_ts="", status="x")
    assert await slack_error(no_thread) == "invalid_arguments"

    # Form-encoded, lists arrive as JSON strings; "" clears a status.
    form = {"channel_id": "D1", "thread_ts": "1.1", "prompts": json.dumps([prompt])}
    await client.api_call("assistant.threads.setSuggestedPrompts", data=form)
    await client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status="busy")
    await client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status="")
    await client.assistant_threads_setTitle(channel_id="D1", thread_ts="1.1", title="Chat")
    key = ("D1", "1.1")
    assert fake.suggested_prompts[key] == SuggestedPrompts([prompt])
    assert (fake.assistant_status[key], fake.assistant_status_history[key]) == ("", ["busy", ""])
    assert fake.assistant_titles[key] == "Chat"


def test_blocks_text_reads_what_people_see() -> None:
    picks = [option("One", "1"), option("Two", "2")]
    boxes = [option("A", "a"), option("B", "b")]
    rating = {
        "type": "feedback_buttons",
        "action_id": "f",
        "positive_button": {"text": plain("Good"), "value": "up"},
        "negative_button": {"text": plain("Bad"), "value": "down"},
    }
    rich = [
        {
            "type": "rich_text_section",
            "elements": [
                {"type": "text", "text": "Hi "},
                {"type": "user", "user_id": "U1"},
                {"type": "text", "text": ", see "},
                {"type": "link", "url": "https://x.test", "text": "docs"},
                {"type": "emoji", "name": "wave"},
            ],
        },
        {
            "type": "rich_text_list",
            "style": "bullet",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "item"}]}
            ],
        },
    ]
    blocks = [
        {"type": "header", "text": plain("Settings")},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Pick *one*"},
            "fields": [{"type": "mrkdwn", "text": "*Model*"}, plain("gpt")],
            "accessory": button("go", "Go"),
        },
        {"type": "divider"},
        {"type": "markdown", "text": "**bold** text"},
        {
            "type": "context",
            "elements": [
                {"type": "image", "image_url": "https://x.test/a.png", "alt_text": "logo"},
                {"type": "mrkdwn", "text": "by the bot"},
            ],
        },
        {
            "type": "input",
            "block_id": "q",
            "label": plain("Question"),
            "hint": plain("Be brief"),
            "element": {
                "type": "plain_text_input",
                "action_id": "q",
                "placeholder": plain("Type here"),
            },
        },
        {
            "type": "input",
            "block_id": "n",
            "label": plain("Name"),
            "element": {"type": "plain_text_input", "action_id": "n", "initial_value": "Ada"},
        },
        {
            "type": "actions",
            "block_id": "a",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "s",
                    "placeholder": plain("Choose"),
                    "options": picks,
                },
                {
                    "type": "checkboxes",
                    "action_id": "c",
                    "options": boxes,
                    "initial_options": [boxes[1]],
                },
            ],
        },
        {"type": "context_actions", "elements": [rating]},
        {"type": "rich_text", "elements": rich},
    ]
    assert blocks_text(blocks).splitlines() == [
        "Settings", "Pick *one*", "*Model*", "gpt", "Go", "**bold** text", "by the bot",
        "Question", "Type here", "Be brief", "Name", "Ada", "Choose", "One", "Two", "A",
        "B (selected)", "Good", "Bad", "Hi <@U1>, see docs:wave:", "item",
    ]  # fmt: skip
    chosen: dict[str, dict[str, Any]] = {
        "a": {"s": {"type": "static_select", "selected_option": picks[1]}},
        "q": {"q": {"type": "plain_text_input", "value": "Why?"}},
    }
    lines = blocks_text(blocks, chosen).splitlines()
    assert "Two (selected)" in lines and "Choose" not in lines
    assert "Why?" in lines and "Type here" not in lines
    assert blocks_text(None) == ""


# ---------------------------------------------------------------------- HTTP delivery

SIGNING_SECRET = "fake-signing-secret"


class Receiver:
    """An app's request URL: records what Slack sent, answers as told."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], str]] = []
        self.status = 200
        self.answer = ""
        self.delay = 0.0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slack/events", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/slack/events"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.text()))
        await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text=self.answer)


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    both = [Receiver(), Receiver()]
    for one in both:
        await one.start()
    yield both
    for one in both:
        await one.stop()


async def test_http_delivery_signs_and_spreads_requests(
    fake: FakeSlack, receivers: list[Receiver]
) -> None:
    first, second = receivers
    fake.use_http([first.url, second.url], SIGNING_SECRET)
    verifier = SignatureVerifier(SIGNING_SECRET)
    fake.add_user("U1", "alice")

    [event] = fake.envelopes_for_ts[await fake.post_user_message("D1", "U1", "over http")]
    command = await fake.slash_command("U1", "C1", "help")
    await fake.wait_for(lambda: {event, command} <= set(fake.acks), what="both acked")

    [(event_headers, event_body)] = first.requests
    [(command_headers, command_body)] = second.requests
    for headers, body in first.requests + second.requests:
        assert verifier.is_valid_request(body, headers)
        assert "X-Slack-Retry-Num" not in headers
    assert event_headers["Content-Type"] == "application/json"
    sent = json.loads(event_body)
    assert sent == fake.envelopes[event]["payload"]
    assert (sent["type"], sent["event"]["text"]) == ("event_callback", "over http")
    assert command_headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(command_body))
    assert (form["command"], form["text"], form["user_id"]) == ("/ai", "help", "U1")

    fake.http.aim(second.url)
    await fake.post_user_message("D1", "U1", "aimed")
    await fake.post_user_message("D1", "U1", "aimed again")
    await fake.wait_for(lambda: len(second.requests) == 3, what="both at the second URL")
    assert len(first.requests) == 1
    with pytest.raises(ValueError, match="not one of the request URLs"):
        fake.http.aim("http://127.0.0.1:9/elsewhere")
    assert fake.connection_count == 0


async def test_http_delivery_acks_applies_answers_and_retries(
    fake: FakeSlack, receivers: list[Receiver]
) -> None:
    app = receivers[0]
    fake.use_http([app.url], SIGNING_SECRET)
    fake.ack_deadline = 0.3

    # A slash command's plain-text answer is shown to the person, as Slack does.
    app.answer = "only you see this"
    command = await fake.slash_command("U1", "C1", "hello")
    await fake.wait_for(lambda: command in fake.acks, what="the command acked")
    [shown] = fake.ephemerals_for("U1", "C1")
    assert (shown.text, shown.via) == ("only you see this", "ack")

    app.status, app.answer = 500, ""
    event = await fake.post_user_message("D1", "U1", "fails first")
    [envelope] = fake.envelopes_for_ts[event]
    await fake.wait_for(lambda: fake.http.answered(envelope), what="the 500")
    assert envelope not in fake.acks

    app.status, app.delay = 200, 1.0  # past the ack deadline
    late = await fake.redeliver(envelope)
    await fake.wait_for(lambda: fake.http.answered(late), what="the timeout")
    assert late not in fake.acks and fake.http.deliveries_of(late)[0].status is None

    app.delay = 0.0
    last = await fake.redeliver(late)
    await fake.wait_for(lambda: last in fake.acks, what="the last retry acked")
    retries = [(h.get("X-Slack-Retry-Num"), h.get("X-Slack-Retry-Reason")) for h, _ in app.requests]
    assert retries[1:] == [(None, None), ("1", "http_error"), ("2", "http_timeout")]
    bodies = {json.loads(body)["event_id"] for _, body in app.requests[1:]}
    assert len(bodies) == 1  # the same event each time

    third = await fake.redeliver(last)
    await fake.wait_for(lambda: third in fake.acks, what="the third retry acked")
    with pytest.raises(AssertionError, match="3 times at most"):
        await fake.redeliver(third)

    challenge, status, body = await fake.http.verify_url()
    assert status == 200 and json.loads(app.requests[-1][1])["challenge"] == challenge
    assert body == ""  # this receiver does not answer challenges: Slack would refuse the URL


def test_http_manifest_installs_and_request_urls_are_checked() -> None:
    plain, http = load_manifest(), load_manifest(HTTP_MANIFEST)
    fake = FakeSlack()
    assert fake.install(http) == fake.install(plain)
    assert http["settings"]["socket_mode_enabled"] is False
    # The same app otherwise: only the request URLs and Socket Mode differ.
    stripped = copy.deepcopy(http)
    settings = stripped["settings"]
    settings["socket_mode_enabled"] = True
    del settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]
    for declared in stripped["features"]["slash_commands"]:
        del declared["url"]
    assert stripped == plain
    without = copy.deepcopy(plain)
    without["settings"]["socket_mode_enabled"] = False
    with pytest.raises(ManifestRejected) as refused:
        fake.install(without)
    assert "event_subscriptions.request_url must be an https URL" in str(refused.value)
    assert "slash command /ai: url must be an https URL" in str(refused.value)
