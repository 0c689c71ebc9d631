"""A fake of the recruiting-site browser service on 127.0.0.1, for tests.

The real service is a FastAPI app that drives a logged-in Chrome through Playwright.
`FakeBrowserService` answers the same routes with canned data (JSON in, JSON out), validates
requests the way FastAPI does, serves the OpenAPI 3.1 document FastAPI generates for them, and
lets a test inject slowness, crashes, business failures, a logged-out browser and a service
that is down. Every request is recorded as a `ServiceRequest`.

It lives under tests/fakes/, not sandbox/, because the product never runs it: the sandbox
uses a browser service only when it is given a real one with `--browser-service URL`.

Routes (path templates as in the OpenAPI document; `limit` is an integer 1..100, default 20):

    GET  /status                             {"status": "ok", "logged_in", "new_message_count",
                                              "browser": "chrome", "uptime_seconds"}
    GET  /chat/dialogs?limit=N               {"success": true, "dialogs": [...]}
    GET  /chat/{chat_id}/messages            {"success": true, "chat_id", "messages": [...]}
    POST /chat/{chat_id}/send                {"message": str, 1..1000 chars} ->
                                             {"success": true, "sent": true, "chat_id", "message"}
    POST /resume/view_full                   {"chat_id": str} -> {"success": true, "resume": {}}
    POST /resume/request                     {"chat_id": str} ->
                                             {"success": true, "requested": true}
    GET  /recommend/candidates?limit=N       {"success": true, "candidates": [...]}
    POST /recommend/candidate/{index}/greet  optional {"message": str | null} ->
                                             {"success": true, "greeted": index}
    POST /automation/scheduler/start|stop    {"success": true, "running": bool}
    GET  /automation/scheduler/status        {"running": bool, "next_run": ISO time | null}
    GET  /openapi.json                       the OpenAPI document (`openapi_document()`)

The canned data are the public, mutable `dialogs`, `messages`, `resumes` and `candidates`
(copies of DIALOGS, MESSAGES, RESUMES and CANDIDATES). An unknown chat is answered 200
`{"success": false, "details": "chat c9 not found"}` (every chat route), a chat without a
resume (c4) `{"success": false, "details": "chat c4 has no resume yet"}`, an index past the
candidates `{"success": false, "details": "candidate 9 not found"}`. A sent message is
appended to the chat's messages (from "me") and becomes its dialog's last_message.
`new_message_count` is the sum of the dialogs' `unread`.

Like FastAPI, in this order: an unknown path is 404 `{"detail": "Not Found"}` and a known path
with another method 405 `{"detail": "Method Not Allowed"}`; on a route that takes a body, a
body whose Content-Type is JSON (application/json, application/*+json) but which does not parse
is 422 `json_invalid` (before the token is checked; other routes ignore bodies); with a token
set, a request without `Authorization: Bearer <token>` (scheme case-insensitive) is 401
`{"detail": "Not authenticated"}` with `WWW-Authenticate: Bearer`, /openapi.json included;
then path, query and body are validated with pydantic (as FastAPI does) and all errors are
reported at once, path before query before body, as FastAPI words them:

    422 {"detail": [{"type": "missing", "loc": ["body", "message"], "msg": "Field required",
                     "input": {}}, ...]}

(`int_parsing` with loc ["query", "limit"] or ["path", "index"], `greater_than_equal` /
`less_than_equal` with ctx, `string_type`, `string_too_short` / `string_too_long`,
`model_attributes_type` for a body that is not an object: a body without a JSON Content-Type
is a string to FastAPI; an empty required body is `missing` with loc ["body"]). The last of
repeated query values counts; unknown query parameters and body fields are ignored.
Simplified: no redirect of a trailing slash (404 instead), no HEAD.

What a test can change (all public; `reset()` restores the defaults):

    token                  the bearer token required, None (the default) for none; the
                           document then has no security scheme
    delay                  seconds to wait before answering every request except
                           /openapi.json (default 0); only requests that passed the token and
                           validation wait
    delays                 {path template: seconds}, e.g. {"/chat/dialogs": 5.0}: replaces
                           `delay` for that route
    logged_in              default True. False: /status says "logged_in": false and every other
                           route except /openapi.json answers 200 {"success": false,
                           "details": NOT_LOGGED_IN}
    login_wait_seconds     default 0. > 0: while logged out those routes first wait up to this
                           long for `logged_in` to become True (the real service's login
                           wait), then answer normally, or NOT_LOGGED_IN if it did not
    fail_next(template, status, count=1, *, detail=None)
                           the next `count` requests to that route (/openapi.json and
                           /status included) answer HTTP `status` with {"detail": detail};
                           detail defaults to "browser crashed" for 500 and to the status's
                           reason phrase otherwise. Calls queue up in order.
    business_failure(template, details) / clear_business_failure(template=None)
                           that route (not /openapi.json) answers 200 {"success": false,
                           "details": details} until cleared
    reserve_port()         choose a free port now (`base_url` works before `start()`), so a
                           client can be pointed at a service that is not up yet
    start(port=None) / stop()
                           listen on `port`, else the reserved port, else any free one /
                           close everything, held requests included, and forget the port
    down() / up()          stop listening (in-flight requests are cut off, as when the process
                           dies; the state is kept) / listen again on the same port

A request is handled in this order: delay, fail_next, login check, business_failure, the
route. `in_flight` counts the requests to the business routes (all but /status and
/openapi.json) inside that sequence right now, `max_in_flight` the most there were at once,
so a test can prove the client serialises its browser calls.

Recorded: `requests` (every request, as `ServiceRequest`, in arrival order, before any
check), `sent` ((chat_id, message) per message sent), `greeted` ((index, message or None)),
`resumes_viewed` and `resume_requests` (chat ids). `wait_for(predicate)` waits until a
predicate over that state holds; it is re-checked on every request and state change.
Helpers: `requests_to(template)`, `pending_failures(template)`, `openapi()`, `port`, `is_up`,
and the package's `free_port()` and `openapi_document(secured=...)`.

The modules, by concern:

    data.py        the canned data
    models.py      the pydantic models of requests and answers
    operations.py  the operations (routes) and matching a request to one
    openapi.py     the OpenAPI document
    validation.py  a request's body and parameters checked as FastAPI checks them
    state.py       what a test sets and reads, what was recorded, waiting on it
    routes.py      what each operation answers, by family
    server.py      FakeBrowserService: serving on loopback, a request's way to its route
"""

from sandbox.loopback import free_port
from tests.fakes.browser_service.data import CANDIDATES, DIALOGS, MESSAGES, RESUMES
from tests.fakes.browser_service.openapi import openapi_document
from tests.fakes.browser_service.server import NOT_LOGGED_IN, FakeBrowserService
from tests.fakes.browser_service.state import ServiceRequest

__all__ = [
    "CANDIDATES",
    "DIALOGS",
    "MESSAGES",
    "NOT_LOGGED_IN",
    "RESUMES",
    "FakeBrowserService",
    "ServiceRequest",
    "free_port",
    "openapi_document",
]
