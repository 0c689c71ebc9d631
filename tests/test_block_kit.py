"""Every Block Kit payload the bot sends passes Slack's rules as the fake workspace
applies them: slack-sdk's block models (known types and fields, their limits) plus the
message and view limits (50 blocks a message, 100 in modals and Home, 12,000 characters
of markdown blocks a message)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.workspace import SlackError, check_message_blocks, checked_view
from settings import ScopeRef, Settings
from slack_client.backend import SettingsForm
from slack_client.output.parts import reply_parts
from slack_client.render.views import (
    approval_blocks,
    decided_blocks,
    feedback_block,
    form_values,
    home_view,
    notice_home,
    settings_modal,
    text_modal,
    welcome_blocks,
)

MODELS = ("gpt-4.1-mini", "gpt-5.4-mini", "o3")
LONG = "A long line of an answer that keeps going. " * 400
TABLE = "| a | b |\n|---|---|\n" + "\n".join(f"| {i} | {LONG[:80]} |" for i in range(150))


def forms() -> list[SettingsForm]:
    stored: dict[str, Any] = {"instructions": "x" * 3000, "temperature": 0.7}
    return [
        SettingsForm(ScopeRef.user("U1"), {}, Settings(model="gpt-5.4-mini"), MODELS),
        SettingsForm(ScopeRef.channel("C1"), stored, Settings(model="gpt-4.1-mini"), MODELS),
        SettingsForm(
            ScopeRef.thread("C1", "1.000001"),
            {"model": "o3"},
            Settings(model="o3"),
            MODELS,
            offers_web_search=False,
        ),
    ]


@pytest.mark.parametrize("form", forms(), ids=lambda f: f.scope.kind.value)
def test_settings_modals(form: SettingsForm) -> None:
    view = settings_modal(form, form_values(form.stored), "sealed" * 100)
    checked_view({"view": view}, "modal")


@pytest.mark.parametrize(
    ("kind", "view"),
    [
        ("home", home_view(Settings(model="gpt-5.4-mini", instructions="y" * 3000))),
        ("home", notice_home("You are not allowed here.")),
        ("modal", text_modal("Your usage", LONG)),
    ],
)
def test_home_and_text_views(kind: str, view: dict[str, Any]) -> None:
    checked_view({"view": view}, kind)


@pytest.mark.parametrize(
    "blocks",
    [
        welcome_blocks(),
        [feedback_block()],
        approval_blocks(
            "U1", "send_message", "the browser service", '{"text": "' + "z" * 2500 + '"}', "a1", 5
        ),
        decided_blocks("send_message", '{"text": "hi"}', "Approved and done."),
        *(
            part.blocks or []
            for answer in ("Short **answer**.", LONG * 10, TABLE, f"```\n{LONG}\n```")
            for part in reply_parts(answer, "_Not read: a.pdf (damaged)._", feedback=True)
        ),
    ],
)
def test_message_blocks(blocks: list[dict[str, Any]]) -> None:
    check_message_blocks(blocks)


def test_the_check_refuses_what_slack_refuses() -> None:
    with pytest.raises(SlackError):
        check_message_blocks([{"type": "markdown", "text": "x" * 6_001}] * 2)
    with pytest.raises(SlackError):
        check_message_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    with pytest.raises(SlackError):
        check_message_blocks([{"type": "section", "txt": {"type": "mrkdwn", "text": "x"}}])
    cell = {"type": "raw_text", "text": "a"}
    for table in ([[cell]] * 101, [[cell] * 21], [[{"type": "raw_text", "text": ""}]]):
        with pytest.raises(SlackError):
            check_message_blocks([{"type": "table", "rows": table}])
