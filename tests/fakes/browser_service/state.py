"""The fake service's state: what a test can set (token, delays, login, injected failures), the
site's data the routes read and change, and what was recorded; waiting on it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from sandbox.loopback import LoopbackServer
from tests.fakes.browser_service.data import CANDIDATES, DIALOGS, MESSAGES, RESUMES, JsonDict
from tests.fakes.browser_service.operations import OPENAPI_PATH, check_template

CRASH_DETAIL = "browser crashed"


@dataclass(frozen=True)
class ServiceRequest:
    """One request as the fake received it, before any check. `path` is the concrete
    (percent-decoded) path; `query` keeps the last of repeated values; `body` is the parsed
    JSON when the Content-Type is JSON and it parses, else the text, None when empty;
    `authorization` is the header as sent; `at` is monotonic; `route` is the matched path
    template (None for an unknown path)."""

    method: str
    path: str
    query: dict[str, str]
    body: object | None
    authorization: str | None
    at: float
    route: str | None = None


class ServiceState:
    """Everything the service knows. Its loopback server is here, not only with the server,
    because every change to the state notifies the waiters of wait_for()."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.delay = 0.0
        self.delays: dict[str, float] = {}
        self._logged_in = True
        self.login_wait_seconds = 0.0
        self.scheduler_running = False
        self.dialogs: list[JsonDict] = copy.deepcopy(DIALOGS)
        self.messages: dict[str, list[JsonDict]] = copy.deepcopy(MESSAGES)
        self.resumes: dict[str, JsonDict] = copy.deepcopy(RESUMES)
        self.candidates: list[JsonDict] = copy.deepcopy(CANDIDATES)
        self.requests: list[ServiceRequest] = []
        self.sent: list[tuple[str, str]] = []
        self.greeted: list[tuple[int, str | None]] = []
        self.resumes_viewed: list[str] = []
        self.resume_requests: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        # When the service last started listening (monotonic): /status's uptime counts from it.
        self.started_at: float | None = None
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._business_failures: dict[str, str] = {}
        self._loopback = LoopbackServer()

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    @logged_in.setter
    def logged_in(self, value: bool) -> None:
        self._logged_in = value
        self.notify()  # ends a login wait

    @property
    def new_message_count(self) -> int:
        return sum(int(dialog.get("unread", 0)) for dialog in self.dialogs)

    def notify(self) -> None:
        """Wake wait_for() to re-check its predicate: the state may have changed."""
        self._loopback.notify()

    def fail_next(
        self, path_template: str, status: int, count: int = 1, *, detail: str | None = None
    ) -> None:
        """The next `count` requests to the route answer HTTP `status` with {"detail": ...}."""
        check_template(path_template)
        if count < 1 or not 100 <= status <= 599:
            raise ValueError(f"fail_next: bad status {status} or count {count}")
        if detail is None:
            detail = CRASH_DETAIL if status == 500 else HTTPStatus(status).phrase
        self._failures.setdefault(path_template, []).extend([(status, detail)] * count)

    def business_failure(self, path_template: str, details: str) -> None:
        """The route answers 200 {"success": false, "details": details} until cleared."""
        check_template(path_template)
        if path_template == OPENAPI_PATH:
            raise ValueError("business_failure: /openapi.json has no business; use fail_next")
        self._business_failures[path_template] = details

    def clear_business_failure(self, path_template: str | None = None) -> None:
        if path_template is None:
            self._business_failures.clear()
        else:
            self._business_failures.pop(path_template, None)

    def pending_failures(self, path_template: str) -> int:
        """How many fail_next() answers the route still has to give."""
        return len(self._failures.get(path_template, []))

    def requests_to(self, path_template: str) -> list[ServiceRequest]:
        """The recorded requests that matched the route."""
        return [request for request in self.requests if request.route == path_template]

    def reset(self) -> None:
        """Restore the defaults and the canned data and forget what was recorded. The token,
        the port and requests still in flight are left alone."""
        self.delay = 0.0
        self.delays = {}
        self.login_wait_seconds = 0.0
        self.scheduler_running = False
        self.dialogs = copy.deepcopy(DIALOGS)
        self.messages = copy.deepcopy(MESSAGES)
        self.resumes = copy.deepcopy(RESUMES)
        self.candidates = copy.deepcopy(CANDIDATES)
        self.requests.clear()
        self.sent.clear()
        self.greeted.clear()
        self.resumes_viewed.clear()
        self.resume_requests.clear()
        self.max_in_flight = self.in_flight
        self._failures.clear()
        self._business_failures.clear()
        self.logged_in = True  # notifies

    # A timeout argument (rather than the caller's asyncio.timeout) lets the failure say what
    # was awaited and what the fake saw instead.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 10.0,
        what: str = "",
    ) -> None:
        """Wait until `predicate()` holds; it is re-checked whenever a request arrives or the
        fake's state changes. Raises AssertionError after `timeout` seconds."""
        await self._loopback.expect(
            predicate,
            timeout=timeout,
            what=what,
            fake="FakeBrowserService",
            state=lambda: (
                f"{len(self.requests)} requests recorded, {self.in_flight} in flight, "
                f"{'up' if self._loopback.is_up else 'down'}, logged_in={self.logged_in}"
            ),
        )
