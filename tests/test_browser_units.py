"""Unit tests: the action catalogue, argument checks, the service's error answers, and
who is offered the service."""

from __future__ import annotations

import pytest

from browser_service import AllowList, check_arguments
from browser_service.catalogue import parse_catalogue
from browser_service.client import _outcome
from config import ConfigError, load_config
from message_processor.conversation.provenance import Outside, Provenance
from message_processor.failures import describe_tool_failure
from message_processor.tools.gate import ToolGate
from slack_client.handover import BotIdentity
from slack_client.listeners.events import is_external
from tests.fakes.browser_service import openapi_document
from tool_sources import ArgumentsError, CallFailed, InputRejected

BROWSER = "the browser service"
NOT_HERE = (
    "The browser service is not available to you here: an admin of this bot can allow it "
    "with BROWSER_SERVICE_USERS and BROWSER_SERVICE_CHANNELS."
)
NOT_EXTERNAL = "The browser service is not available to people from other organisations."


def test_the_default_allows_every_get_and_no_change() -> None:
    actions = parse_catalogue(openapi_document(), AllowList.parse(""))
    assert all(a.method == "GET" for a in actions.values())
    assert "list_dialogs" in actions and "send_chat_message" not in actions
    listed = parse_catalogue(
        openapi_document(), AllowList.parse("get_status, POST /chat/{chat_id}/send")
    )
    assert set(listed) == {"get_status", "send_chat_message"}


def test_parameters_come_from_path_query_and_referenced_bodies() -> None:
    actions = parse_catalogue(openapi_document(), AllowList.parse("GET *, POST *"))
    greet = actions["greet_candidate"]
    assert [(p.name, p.location, p.kind, p.required) for p in greet.params] == [
        ("index", "path", "integer", True),
        ("message", "body", "string", False),
    ]
    send = actions["send_chat_message"]
    arguments = check_arguments(send, {"chat_id": "a b?#", "message": "hi"})
    assert send.request_preview(arguments).splitlines()[0] == "POST /chat/a%20b%3F%23/send"


def test_arguments_are_typed_and_each_problem_is_named() -> None:
    actions = parse_catalogue(openapi_document(), AllowList.parse(""))
    assert check_arguments(actions["list_dialogs"], {"limit": "5"}) == {"limit": 5}
    with pytest.raises(ArgumentsError) as caught:
        check_arguments(actions["list_dialogs"], {"limit": "500", "sort": "new"})
    assert caught.value.problems == [
        "`sort` is not a parameter of list_dialogs (it takes: limit)",
        "`limit` must be at most 100",
    ]


def test_the_services_answers_become_results_or_named_failures() -> None:
    assert _outcome(200, {"success": True, "x": 1}) == {"success": True, "x": 1}
    with pytest.raises(CallFailed, match="chat c9 not found"):
        _outcome(200, {"success": False, "details": "chat c9 not found"})
    detail = [
        {"type": "missing", "loc": ["body", "message"], "msg": "Field required"},
        {"type": "int_parsing", "loc": ["query", "limit"], "msg": "Input should be an integer"},
    ]
    with pytest.raises(InputRejected) as caught:
        _outcome(422, {"detail": detail})
    assert caught.value.problems == [
        "`message`: Field required",
        "`limit`: Input should be an integer",
    ]


def test_path_values_cannot_name_another_route_and_paths_cannot_leave_the_service() -> None:
    document = openapi_document()
    document["paths"]["@evil.example/x"] = document["paths"]["/status"]
    actions = parse_catalogue(document, AllowList.parse("GET *"))
    assert all(a.path.startswith("/") for a in actions.values())
    with pytest.raises(ArgumentsError, match=r"cannot be '\.\.'"):
        check_arguments(actions["get_chat_messages"], {"chat_id": ".."})


@pytest.mark.parametrize("value", ["a/b", "../status", "a\\b", "..%2fstatus", "%2e%2e", "100%"])
def test_path_values_refuse_separators_escapes_and_dot_segments(value: str) -> None:
    actions = parse_catalogue(openapi_document(), AllowList.parse("GET *, POST *"))
    with pytest.raises(ArgumentsError) as caught:
        check_arguments(actions["get_chat_messages"], {"chat_id": value})
    assert caught.value.problems == ["`chat_id` cannot contain /, \\ or %"]
    # A body value is no path segment: it may hold any of these.
    sent = {"chat_id": "c1", "message": value}
    assert check_arguments(actions["send_chat_message"], sent) == sent


def test_long_descriptions_are_cut_to_what_model_apis_take() -> None:
    document = openapi_document()
    document["paths"]["/status"]["get"]["description"] = "word " * 1000
    [status] = [a for a in parse_catalogue(document, AllowList()).values() if a.path == "/status"]
    assert len(status.description) <= 1000 and status.description.endswith("(GET /status)")


def test_numbers_must_be_finite_and_whole_numbers_plain() -> None:
    actions = parse_catalogue(openapi_document(), AllowList())
    for bad in ("1_0", "nan", "1e3"):
        with pytest.raises(ArgumentsError):
            check_arguments(actions["list_dialogs"], {"limit": bad})


def test_a_services_rejection_cannot_mention_anyone() -> None:
    text = describe_tool_failure(InputRejected(["`msg`: <!channel> see <https://x|docs>"]), BROWSER)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


# --- Who gets the browser service ---------------------------------------------------

GOOD = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "sk-1"}
HOME = BotIdentity(user_id="UBOT", bot_id="BBOT", team_id="T0HOME", enterprise_id="E0HOME")


def test_both_lists_must_name_the_asker_and_the_conversation() -> None:
    gate = ToolGate(users=frozenset({"U1"}), channels=frozenset({"C1"}))
    assert gate.refusal(BROWSER, "U1", "C1", external=False) is None
    assert gate.refusal(BROWSER, "U2", "C1", external=False) == NOT_HERE
    assert gate.refusal(BROWSER, "U1", "C2", external=False) == NOT_HERE
    # A DM with the bot is a conversation like any other.
    assert gate.refusal(BROWSER, "U1", "D1", external=False) == NOT_HERE
    everyone = ToolGate(users=frozenset({"*"}), channels=frozenset({"*"}))
    assert everyone.refusal(BROWSER, "U9", "D9", external=False) is None
    assert everyone.refusal(BROWSER, "U9", "C9", external=True) == NOT_EXTERNAL
    assert ToolGate().refusal(BROWSER, "U1", "C1", external=False) == NOT_HERE


def test_the_lists_are_read_checked_and_empty_by_default() -> None:
    assert load_config(GOOD).browser_service_users == frozenset()
    assert load_config(GOOD).browser_service_channels == frozenset()
    config = load_config(
        {**GOOD, "BROWSER_SERVICE_USERS": "U1, W2", "BROWSER_SERVICE_CHANNELS": "*"}
    )
    assert config.browser_service_users == {"U1", "W2"}
    assert config.browser_service_channels == {"*"}
    for name, value in (("BROWSER_SERVICE_USERS", "C1"), ("BROWSER_SERVICE_CHANNELS", "all")):
        with pytest.raises(ConfigError, match=name) as caught:
            load_config({**GOOD, name: value})
        assert value not in str(caught.value)


def test_authors_of_other_organisations_are_told_apart() -> None:
    assert not is_external({"team": "T0HOME", "user_team": "T0HOME"}, HOME)
    # Enterprise Grid names the organisation in user_team.
    assert not is_external({"team": "T0HOME", "user_team": "E0HOME"}, HOME)
    assert is_external({"team": "T0HOME", "user_team": "T0GUEST"}, HOME)
    assert is_external({"team": "T0GUEST"}, HOME)
    assert is_external({"team": "T0HOME", "user_profile": {"team": "T0GUEST"}}, HOME)
    assert not is_external({}, HOME)


def test_what_the_asker_did_not_write_is_named() -> None:
    provenance = Provenance()
    assert not provenance.untrusted
    provenance.add(Outside.LINKS)
    assert provenance.describe() == "fetched links"
    provenance.add(Outside.OTHERS)
    provenance.add(Outside.FILES)
    assert provenance.untrusted
    assert provenance.describe() == "messages by others, attached files and fetched links"
