"""MCP_SERVERS, read and checked at start: the short form and the JSON file, each
problem named in one line that shows no token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ConfigError, config_problems, load_config

GOOD = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "sk-1"}
TOKEN = "mcp-secret-value-3"


def test_the_short_form_names_servers_and_takes_each_token_from_its_own_variable() -> None:
    config = load_config(
        {
            **GOOD,
            "MCP_SERVERS": "docs=https://docs.example.com/mcp, tickets-eu=https://t.example/mcp",
            "MCP_TOKEN_TICKETS_EU": TOKEN,
            "MCP_USERS": "U1",
            "MCP_CHANNELS": "*",
        }
    )
    docs, tickets = config.mcp_servers
    assert (docs.name, docs.token, docs.tools) == ("docs", None, frozenset({"*"}))
    assert (tickets.name, tickets.url, tickets.token) == (
        "tickets-eu",
        "https://t.example/mcp",
        TOKEN,
    )
    assert docs.users == {"U1"} and docs.channels == {"*"}
    # Offered to nobody until an admin names people and places.
    assert (
        load_config({**GOOD, "MCP_SERVERS": "d=https://d.example/mcp"}).mcp_servers[0].users
        == set()
    )
    assert TOKEN in config.secrets and TOKEN not in repr(config)


def test_the_json_file_sets_each_server_apart(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(
        json.dumps(
            {
                "servers": {
                    "docs": {"url": "https://docs.example/mcp", "tools": ["search"]},
                    "crm": {
                        "url": "https://crm.example/mcp",
                        "token_env": "CRM_KEY",
                        "users": ["U2"],
                        "channels": ["C2"],
                        "timeout_seconds": 5,
                    },
                }
            }
        )
    )
    config = load_config({**GOOD, "MCP_SERVERS": str(path), "CRM_KEY": TOKEN, "MCP_USERS": "*"})
    docs, crm = config.mcp_servers
    assert docs.tools == {"search"} and docs.users == {"*"} and docs.channels == set()
    assert crm.token == TOKEN and crm.users == {"U2"} and crm.channels == {"C2"}
    assert crm.timeout_seconds == 5


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("docs", "name=URL entries"),
        ("browser=https://b.example/mcp", "not browser, edit, generate, read"),
        ("generate=https://b.example/mcp", "not browser, edit, generate, read"),
        ("my_docs=https://b.example/mcp", "letters, digits or hyphens"),
        ("a=https://a.example/mcp,a=https://b.example/mcp", "each server once"),
        ("docs=ftp://d.example/mcp", "http(s) URL"),
        (f"docs=https://user:{TOKEN}@d.example/mcp", "not in the URL"),
        ("docs=http://d.example/mcp", "must be https"),
        ("missing.json", "cannot be read"),
    ],
)
def test_each_problem_is_one_line_without_the_token(value: str, problem: str) -> None:
    env = {**GOOD, "MCP_SERVERS": value, "MCP_TOKEN_DOCS": TOKEN}
    [found] = config_problems(env)
    assert found.startswith("MCP_SERVERS") and problem in found
    assert TOKEN not in found


def test_a_token_may_travel_in_clear_only_to_this_machine() -> None:
    env = {**GOOD, "MCP_SERVERS": "local=http://127.0.0.1:8765/mcp", "MCP_TOKEN_LOCAL": TOKEN}
    assert load_config(env).mcp_servers[0].token == TOKEN


def test_the_json_file_is_checked_as_strictly(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    for servers, problem in (
        ({"docs": {"url": "https://d.example/mcp", "users": ["all"]}}, "Slack ids"),
        ({"docs": {"url": "https://d.example/mcp", "tools": "search"}}, "list of names"),
        ({"docs": {"url": "https://d.example/mcp", "colour": "red"}}, "unknown keys: colour"),
        ({"docs": {"url": "https://d.example/mcp", "timeout_seconds": 0}}, "between 0 and"),
        ({"docs": {}}, "needs a url"),
    ):
        path.write_text(json.dumps({"servers": servers}))
        with pytest.raises(ConfigError, match="MCP_SERVERS") as caught:
            load_config({**GOOD, "MCP_SERVERS": str(path)})
        assert problem in str(caught.value)
    path.write_text("{not json")
    assert "not valid JSON" in config_problems({**GOOD, "MCP_SERVERS": str(path)})[0]
