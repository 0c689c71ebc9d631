"""The fake browser service, tested over loopback with aiohttp (no mocks).

The OpenAPI document and the 422 answers were compared once, field by field, with what
FastAPI 0.165 (pydantic 2.14) produces for the same routes; these tests pin that shape down
and check every injectable behaviour the bot's tests rely on.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from sandbox import loopback
from tests.fakes.browser_service import (
    NOT_LOGGED_IN,
    FakeBrowserService,
    ServiceRequest,
    free_port,
    openapi_document,
)

TOKEN = "test-browser-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

EXPECTED_OPERATIONS = {
    ("get", "/status", "get_status"),
    ("get", "/chat/dialogs", "list_dialogs"),
    ("get", "/chat/{chat_id}/messages", "get_chat_messages"),
    ("post", "/chat/{chat_id}/send", "send_chat_message"),
    ("post", "/resume/view_full", "view_full_resume"),
    ("post", "/resume/request", "request_resume"),
    ("get", "/recommend/candidates", "list_recommended_candidates"),
    ("post", "/recommend/candidate/{index}/greet", "greet_candidate"),
    ("post", "/automation/scheduler/start", "start_scheduler"),
    ("post", "/automation/scheduler/stop", "stop_scheduler"),
    ("get", "/automation/scheduler/status", "get_scheduler_status"),
}


@pytest_asyncio.fixture
async def service() -> AsyncIterator[FakeBrowserService]:
    fake = FakeBrowserService(token=TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    service: FakeBrowserService,
    method: str,
    path: str,
    **kwargs: Any,
) -> tuple[int, Any]:
    async with http.request(method, service.base_url + path, **kwargs) as response:
        return response.status, await response.json()


# --------------------------------------------------------------------------- the document


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    assert isinstance(node, dict), ref
    return node


def refs_in(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs_in(item)]
    return []


async def test_openapi_document_lists_every_operation_with_resolvable_refs(
    service: FakeBrowserService, http: aiohttp.ClientSession
) -> None:
    async with http.get(service.base_url + "/openapi.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        document = await response.json()
    assert document == openapi_document(secured=True)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]

    operations = {
        (method, path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert operations == EXPECTED_OPERATIONS
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["summary"] and operation["description"]
            assert operation["security"] == [{"HTTPBearer": []}]
            assert operation["responses"]["200"]["description"] == "Successful Response"
            takes_input = "parameters" in operation or "requestBody" in operation
            assert ("422" in operation["responses"]) == takes_input
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"}
    }

    refs = refs_in(document)
    assert len(refs) > 20
    for ref in refs:
        schema = resolve(document, ref)
        assert schema["type"] == "object" and schema["title"] == ref.rsplit("/", 1)[1]

    dialogs = document["paths"]["/chat/dialogs"]["get"]
    assert dialogs["parameters"] == [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "default": 20,
                "description": "How many dialogs to return.",
                "title": "Limit",
            },
            "description": "How many dialogs to return.",
        }
    ]
    error = resolve(
        document, dialogs["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    )
    item_ref = error["properties"]["detail"]["items"]["$ref"]
    assert resolve(document, item_ref)["required"] == ["loc", "msg", "type"]

    send = document["paths"]["/chat/{chat_id}/send"]["post"]
    assert send["parameters"][0]["in"] == "path" and send["parameters"][0]["required"] is True
    assert send["requestBody"]["required"] is True
    body_ref = send["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/SendMessageRequest"
    body = resolve(document, body_ref)
    assert body["required"] == ["message"]
    assert body["properties"]["message"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 1000,
        "title": "Message",
        "description": "Text to send to the candidate.",
    }
    greet = document["paths"]["/recommend/candidate/{index}/greet"]["post"]
    assert "required" not in greet["requestBody"]
    greet_schema = greet["requestBody"]["content"]["application/json"]["schema"]
    assert greet_schema["anyOf"] == [
        {"$ref": "#/components/schemas/GreetRequest"},
        {"type": "null"},
    ]
    assert greet["parameters"][0]["schema"] == {
        "type": "integer",
        "minimum": 0,
        "description": "The candidate's index in /recommend/candidates.",
        "title": "Index",
    }
    messages = resolve(document, "#/components/schemas/ChatMessage")
    assert messages["properties"]["from"]["enum"] == ["candidate", "me"]


async def test_document_without_token_has_no_security() -> None:
    fake = FakeBrowserService()
    await fake.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(fake.base_url + "/openapi.json") as response,
        ):
            document = await response.json()
    finally:
        await fake.stop()
    assert "securitySchemes" not in document["components"]
    assert all(
        "security" not in operation
        for item in document["paths"].values()
        for operation in item.values()
    )


# --------------------------------------------------------------------------- routes


async def test_routes_answer_with_canned_data_and_record_what_was_done(
    service: FakeBrowserService, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, service, "GET", "/status")
    assert status == 200
    assert body == {
        "status": "ok",
        "logged_in": True,
        "new_message_count": 3,
        "browser": "chrome",
        "uptime_seconds": body["uptime_seconds"],
    }
    assert isinstance(body["uptime_seconds"], int)

    _, body = await call(http, service, "GET", "/chat/dialogs")
    assert body["success"] is True and len(body["dialogs"]) == 4
    assert body["dialogs"][0] == {
        "chat_id": "c1",
        "name": "Alice Zhang",
        "last_message": "Thanks! When could we have a call?",
        "unread": 2,
        "updated_at": "2026-11-23T09:15:00Z",
    }
    _, body = await call(http, service, "GET", "/chat/dialogs", params={"limit": "2"})
    assert [dialog["chat_id"] for dialog in body["dialogs"]] == ["c1", "c2"]

    _, body = await call(http, service, "GET", "/chat/c2/messages")
    assert body["success"] is True and body["chat_id"] == "c2"
    assert body["messages"][-1] == {
        "from": "candidate",
        "text": "I have attached my resume.",
        "time": "2026-11-23T08:40:00Z",
    }
    assert await call(http, service, "GET", "/chat/c9/messages") == (
        200,
        {"success": False, "details": "chat c9 not found"},
    )

    status, body = await call(http, service, "POST", "/chat/c1/send", json={"message": "Hi!"})
    assert (status, body) == (
        200,
        {"success": True, "sent": True, "chat_id": "c1", "message": "Hi!"},
    )
    assert service.sent == [("c1", "Hi!")]
    _, body = await call(http, service, "GET", "/chat/c1/messages")
    assert body["messages"][-1]["from"] == "me" and body["messages"][-1]["text"] == "Hi!"

    _, body = await call(http, service, "POST", "/resume/view_full", json={"chat_id": "c1"})
    assert body["success"] is True
    assert body["resume"]["name"] == "Alice Zhang" and body["resume"]["skills"]
    _, body = await call(http, service, "POST", "/resume/view_full", json={"chat_id": "c4"})
    assert body == {"success": False, "details": "chat c4 has no resume yet"}
    _, body = await call(http, service, "POST", "/resume/request", json={"chat_id": "c4"})
    assert body == {"success": True, "requested": True}
    assert service.resumes_viewed == ["c1", "c4"] and service.resume_requests == ["c4"]

    _, body = await call(http, service, "GET", "/recommend/candidates", params={"limit": 3})
    assert [candidate["index"] for candidate in body["candidates"]] == [0, 1, 2]
    assert set(body["candidates"][0]) == {"index", "name", "title", "experience_years", "city"}
    _, body = await call(
        http, service, "POST", "/recommend/candidate/1/greet", json={"message": "Hello"}
    )
    assert body == {"success": True, "greeted": 1}
    _, body = await call(http, service, "POST", "/recommend/candidate/2/greet")
    assert body == {"success": True, "greeted": 2}
    _, body = await call(http, service, "POST", "/recommend/candidate/9/greet", json={})
    assert body == {"success": False, "details": "candidate 9 not found"}
    assert service.greeted == [(1, "Hello"), (2, None)]

    _, body = await call(http, service, "GET", "/automation/scheduler/status")
    assert body == {"running": False, "next_run": None}
    _, body = await call(http, service, "POST", "/automation/scheduler/start")
    assert body == {"success": True, "running": True}
    _, body = await call(http, service, "GET", "/automation/scheduler/status")
    assert body["running"] is True and body["next_run"].endswith("Z")
    _, body = await call(http, service, "POST", "/automation/scheduler/stop")
    assert body == {"success": True, "running": False}


async def test_every_request_is_recorded(
    service: FakeBrowserService, http: aiohttp.ClientSession
) -> None:
    before = time.monotonic()
    await call(http, service, "POST", "/chat/c1/send?x=1&x=2", json={"message": "yo"})
    await call(http, service, "GET", "/nowhere")
    first, second = service.requests
    assert first == ServiceRequest(
        method="POST",
        path="/chat/c1/send",
        query={"x": "2"},
        body={"message": "yo"},
        authorization=f"Bearer {TOKEN}",
        at=first.at,
        route="/chat/{chat_id}/send",
    )
    assert before <= first.at <= second.at
    assert (second.path, second.route, second.body) == ("/nowhere", None, None)
    assert service.requests_to("/chat/{chat_id}/send") == [first]


# --------------------------------------------------------------------------- validation


async def test_validation_errors_have_fastapi_shapes(
    service: FakeBrowserService, http: aiohttp.ClientSession
) -> None:
    send = "/chat/c1/send"
    assert await call(http, service, "POST", send, json={}) == (
        422,
        {
            "detail": [
                {
                    "type": "missing",
                    "loc": ["body", "message"],
                    "msg": "Field required",
                    "input": {},
                }
            ]
        },
    )
    assert await call(http, service, "POST", send) == (
        422,
        {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]},
    )
    status, body = await call(http, service, "POST", send, json={"message": 5})
    assert status == 422
    assert body["detail"] == [
        {
            "type": "string_type",
            "loc": ["body", "message"],
            "msg": "Input should be a valid string",
            "input": 5,
        }
    ]
    _, body = await call(http, service, "POST", send, json={"message": "x" * 1001})
    assert body["detail"][0]["type"] == "string_too_long"
    assert body["detail"][0]["ctx"] == {"max_length": 1000}
    _, body = await call(http, service, "POST", send, json={"message": ""})
    assert body["detail"][0]["type"] == "string_too_short"

    assert await call(http, service, "GET", "/chat/dialogs?limit=abc") == (
        422,
        {
            "detail": [
                {
                    "type": "int_parsing",
                    "loc": ["query", "limit"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": "abc",
                }
            ]
        },
    )
    status, body = await call(http, service, "GET", "/recommend/candidates?limit=101")
    assert status == 422
    assert body["detail"] == [
        {
            "type": "less_than_equal",
            "loc": ["query", "limit"],
            "msg": "Input should be less than or equal to 100",
            "input": "101",
            "ctx": {"le": 100},
        }
    ]

    status, body = await call(
        http, service, "POST", "/recommend/candidate/x/greet", json={"message": 3}
    )
    assert status == 422
    assert [(error["type"], error["loc"]) for error in body["detail"]] == [
        ("int_parsing", ["path", "index"]),
        ("string_type", ["body", "message"]),
    ]

    status, body = await call(
        http,
        service,
        "POST",
        "/resume/request",
        data=b"{oops",
        headers={"Content-Type": "application/json"},
    )
    assert status == 422
    assert body["detail"] == [
        {
            "type": "json_invalid",
            "loc": ["body", 1],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": "Expecting property name enclosed in double quotes"},
        }
    ]
    assert service.sent == [] and service.greeted == [] and service.resume_requests == []
    assert await call(http, service, "GET", "/chat/c1/send") == (
        405,
        {"detail": "Method Not Allowed"},
    )
    assert await call(http, service, "GET", "/nope") == (404, {"detail": "Not Found"})


# --------------------------------------------------------------------------- token


async def test_token_is_required_everywhere(service: FakeBrowserService) -> None:
    async with aiohttp.ClientSession() as anonymous:
        for path in ("/status", "/openapi.json", "/chat/dialogs?limit=abc"):
            async with anonymous.get(service.base_url + path) as response:
                assert response.status == 401, path
                assert response.headers["WWW-Authenticate"] == "Bearer"
                assert await response.json() == {"detail": "Not authenticated"}
        wrong = {"Authorization": "Bearer nope"}
        async with anonymous.get(service.base_url + "/status", headers=wrong) as response:
            assert response.status == 401
        basic = {"Authorization": f"Basic {TOKEN}"}
        async with anonymous.get(service.base_url + "/status", headers=basic) as response:
            assert response.status == 401
        lower = {"Authorization": f"bearer {TOKEN}"}
        async with anonymous.get(service.base_url + "/status", headers=lower) as response:
            assert response.status == 200
        async with anonymous.get(service.base_url + "/nope") as response:
            assert response.status == 404  # routing comes before the token, as in FastAPI
    assert [request.authorization for request in service.requests[:5]] == [
        None,
        None,
        None,
        "Bearer nope",
        f"Basic {TOKEN}",
    ]


# --------------------------------------------------------------------------- injected behaviour


async def test_logged_out_browser(service: FakeBrowserService, http: aiohttp.ClientSession) -> None:
    service.logged_in = False
    _, body = await call(http, service, "GET", "/status")
    assert body["logged_in"] is False
    for method, path in (("GET", "/chat/dialogs"), ("POST", "/automation/scheduler/start")):
        assert await call(http, service, method, path) == (
            200,
            {"success": False, "details": NOT_LOGGED_IN},
        )
    assert service.scheduler_running is False
    status, _ = await call(http, service, "GET", "/openapi.json")
    assert status == 200

    service.login_wait_seconds = 0.3
    started = time.monotonic()
    _, body = await call(http, service, "GET", "/chat/dialogs")
    assert body == {"success": False, "details": NOT_LOGGED_IN}
    assert time.monotonic() - started >= 0.3

    # A login during the wait lets the waiting request through.
    service.login_wait_seconds = 5.0
    waiting = asyncio.create_task(call(http, service, "GET", "/chat/dialogs"))
    await service.wait_for(lambda: service.in_flight == 1, timeout=2, what="a login wait")
    service.logged_in = True
    status, body = await asyncio.wait_for(waiting, 2)
    assert status == 200 and body["success"] is True


async def test_fail_next_then_recover(
    service: FakeBrowserService, http: aiohttp.ClientSession
) -> None:
    service.fail_next("/chat/{chat_id}/send", 500, count=2)
    service.fail_next("/chat/{chat_id}/send", 503)
    payload = {"json": {"message": "retry me"}}
    assert await call(http, service, "POST", "/chat/c1/send", **payload) == (
        500,
        {"detail": "browser crashed"},
    )
    assert (await call(http, service, "POST", "/chat/c1/send", **payload))[0] == 500
    assert await call(http, service, "POST", "/chat/c1/send", **payload) == (
        503,
        {"detail": "Service Unavailable"},
    )
    assert service.pending_failures("/chat/{chat_id}/send") == 0
    status, body = await call(http, service, "POST", "/chat/c1/send", **payload)
    assert status == 200 and body["sent"] is True
    assert service.sent == [("c1", "retry me")]

    service.fail_next("/openapi.json", 502, detail="bad gateway")
    assert await call(http, service, "GET", "/openapi.json") == (502, {"detail": "bad gateway"})
    with pytest.raises(ValueError, match="unknown route"):
        service.fail_next("/chat/c1/send", 500)
    with pytest.raises(ValueError, match="unknown route"):
        service.business_failure("/chat/dialog", "typo")


async def test_business_failure_until_cleared(
    service: FakeBrowserService, http: aiohttp.ClientSession
) -> None:
    service.business_failure("/recommend/candidates", "page did not load")
    for _ in range(2):
        assert await call(http, service, "GET", "/recommend/candidates") == (
            200,
            {"success": False, "details": "page did not load"},
        )
    _, body = await call(http, service, "GET", "/chat/dialogs")
    assert body["success"] is True
    service.clear_business_failure("/recommend/candidates")
    _, body = await call(http, service, "GET", "/recommend/candidates")
    assert body["success"] is True


async def test_delay_and_max_in_flight(
    service: FakeBrowserService, http: aiohttp.ClientSession
) -> None:
    service.delay = 0.2
    started = time.monotonic()
    results = await asyncio.gather(
        *(call(http, service, "GET", f"/chat/c{n}/messages") for n in (1, 2, 3))
    )
    assert all(status == 200 for status, _ in results)
    # Delayed together, not one after another.
    assert time.monotonic() - started >= 0.2
    assert service.max_in_flight == 3 and service.in_flight == 0

    service.reset()
    service.delays = {"/chat/dialogs": 0.3}
    started = time.monotonic()
    for _ in range(2):
        await call(http, service, "GET", "/chat/dialogs")
    assert time.monotonic() - started >= 0.6
    assert service.max_in_flight == 1

    # A route's delay is its own: the others answer while a call to it is held.
    service.delays = {"/chat/dialogs": 60}
    held = asyncio.create_task(call(http, service, "GET", "/chat/dialogs"))
    await service.wait_for(lambda: service.in_flight == 1, timeout=2, what="the delayed call")
    await call(http, service, "GET", "/status")
    await call(http, service, "GET", "/chat/c1/messages")
    assert not held.done()
    held.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await held


async def test_stop_cuts_off_a_held_request(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without its backstop aiohttp's shutdown would wait an hour for the held request, so
    # stop() returns only if it cut the request off itself.
    monkeypatch.setattr(loopback, "SHUTDOWN_TIMEOUT_SECONDS", 3600.0)
    fake = FakeBrowserService()
    await fake.start()
    fake.delay = 60
    async with aiohttp.ClientSession() as http:
        held = asyncio.create_task(call(http, fake, "GET", "/chat/dialogs"))
        await fake.wait_for(lambda: fake.in_flight == 1, timeout=2, what="a held request")
        async with asyncio.timeout(30):  # a liveness guard, far below the backstop
            await fake.stop()
        with pytest.raises(aiohttp.ClientError):
            await held
    assert fake.in_flight == 0 and fake.port is None


async def test_down_and_up_on_the_same_port(http: aiohttp.ClientSession) -> None:
    fake = FakeBrowserService(token=TOKEN)
    port = fake.reserve_port()
    assert fake.base_url == f"http://127.0.0.1:{port}" and not fake.is_up
    try:
        with pytest.raises(aiohttp.ClientConnectionError):
            await call(http, fake, "GET", "/status")
        await fake.start()
        assert fake.port == port
        _, body = await call(http, fake, "POST", "/automation/scheduler/start")
        assert body["running"] is True

        fake.delay = 30
        held = asyncio.create_task(call(http, fake, "GET", "/chat/dialogs"))
        await fake.wait_for(lambda: fake.in_flight == 1, timeout=2, what="a held request")
        await fake.down()
        with pytest.raises(aiohttp.ClientError):
            await held
        with pytest.raises(aiohttp.ClientConnectionError):
            await call(http, fake, "GET", "/status")

        # A wait begun while the service is down ends on a request after up().
        asked = asyncio.create_task(
            fake.wait_for(
                lambda: bool(fake.requests_to("/automation/scheduler/status")),
                timeout=5,
                what="a scheduler status request",
            )
        )
        fake.delay = 0
        await fake.up()
        assert fake.port == port
        _, body = await call(http, fake, "GET", "/automation/scheduler/status")
        assert body["running"] is True  # the state outlived the outage
        await asyncio.wait_for(asked, 2)
    finally:
        await fake.stop()


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


async def test_wait_for_says_what_it_waited_for(service: FakeBrowserService) -> None:
    with pytest.raises(AssertionError, match=r"a sent message not reached in 0.1s"):
        await service.wait_for(lambda: bool(service.sent), timeout=0.1, what="a sent message")
