"""The app manifest as Slack reads it: what it accepts, and what an install then receives.

The fake workspace installs a manifest before the bot connects (:meth:`FakeSlack.install`)
and from then on behaves as Slack would for that app: it refuses a manifest Slack's
validator refuses, delivers only the events the app subscribed to, and lets a person
use only the slash commands and shortcuts the app declares. So a manifest or event
mismatch fails a test here instead of someone's setup.

The rules, from Slack's manifest reference and its guide "Migrating to the Agent
messaging experience" (docs.slack.dev/ai/migrating-to-agent-messaging):

* ``features.agent_view`` (new apps can only use it) and the older
  ``features.assistant_view`` exclude each other.
* With ``agent_view``, ``app_home_opened`` (tab ``messages``) replaces
  ``assistant_thread_started``: the ``assistant_thread_*`` events are not accepted beside
  it. ``app_context_changed`` and ``agent_session_stopped`` exist only with it.
* Either view needs the Messages tab and the ``assistant:write`` scope; at most four
  suggested prompts, each with a title and a message.
* Every event subscription needs its scope (``message.channels`` → ``channels:history``…),
  and so do the Web API methods in ``METHOD_SCOPES`` (``reactions.add`` → ``reactions:write``);
  slash commands need ``commands``; shortcut names are at most 24 characters, their
  descriptions 150, and an app has at most 10 shortcuts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_MANIFEST = Path(__file__).resolve().parent.parent / "manifest.json"
# The same app for HTTP mode (SLACK_MODE=http): request URLs instead of Socket Mode.
HTTP_MANIFEST = PROJECT_MANIFEST.with_name("manifest.http.json")

AGENT_ONLY_EVENTS = frozenset({"app_context_changed", "agent_session_stopped"})
ASSISTANT_ONLY_EVENTS = frozenset({"assistant_thread_started", "assistant_thread_context_changed"})
# The scope each event subscription needs (events not listed need none).
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}
# The scope each Web API method needs, for the methods the fake checks (Slack answers
# `missing_scope` without it).
METHOD_SCOPES = {"reactions.add": "reactions:write"}
MAX_SUGGESTED_PROMPTS = 4
MAX_SHORTCUTS = 10
MAX_SHORTCUT_NAME = 24
MAX_SHORTCUT_DESCRIPTION = 150


class ManifestRejected(ValueError):
    """Slack's validator would refuse this manifest; the message lists why."""


@dataclass(frozen=True)
class InstalledApp:
    """What an installed manifest lets through."""

    experience: str | None  # "agent", "assistant" or None
    events: frozenset[str]
    scopes: frozenset[str]
    commands: frozenset[str]
    shortcuts: frozenset[str]  # callback ids
    # Commands declared with should_escape: Slack writes #channel and @person in their
    # text as <#C…|name> and <@U…|name>.
    escaped_commands: frozenset[str] = frozenset()


def load_manifest(path: Path = PROJECT_MANIFEST) -> dict[str, Any]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ManifestRejected("the manifest must be a JSON object")
    return loaded


def check_manifest(manifest: Mapping[str, Any]) -> InstalledApp:
    """The app an install of `manifest` is, or ManifestRejected with every problem."""
    features = _mapping(manifest.get("features"))
    settings = _mapping(manifest.get("settings"))
    events = frozenset(_strings(_mapping(settings.get("event_subscriptions")).get("bot_events")))
    scopes = frozenset(
        _strings(_mapping(_mapping(manifest.get("oauth_config")).get("scopes")).get("bot"))
    )
    problems: list[str] = []
    experience = _experience(features, events, scopes, problems)
    for event in sorted(events):
        scope = EVENT_SCOPES.get(event)
        if scope and scope not in scopes:
            problems.append(f"event {event} needs the {scope} scope")
    declared = [c for c in _items(features.get("slash_commands")) if c.get("command")]
    commands = frozenset(str(c["command"]) for c in declared)
    escaped = frozenset(str(c["command"]) for c in declared if c.get("should_escape") is True)
    if commands and "commands" not in scopes:
        problems.append("slash commands need the commands scope")
    shortcuts = _shortcuts(features.get("shortcuts"), problems)
    if settings.get("socket_mode_enabled") is False:
        _check_request_urls(settings, declared, problems)
    if problems:
        raise ManifestRejected("; ".join(problems))
    return InstalledApp(experience, events, scopes, commands, shortcuts, escaped)


def _experience(
    features: Mapping[str, Any], events: frozenset[str], scopes: frozenset[str], problems: list[str]
) -> str | None:
    agent, assistant = "agent_view" in features, "assistant_view" in features
    if agent and assistant:
        problems.append("features.agent_view and features.assistant_view exclude each other")
    if agent and events & ASSISTANT_ONLY_EVENTS:
        names = ", ".join(sorted(events & ASSISTANT_ONLY_EVENTS))
        problems.append(f"{names} cannot be subscribed with agent_view")
    if not agent and events & AGENT_ONLY_EVENTS:
        names = ", ".join(sorted(events & AGENT_ONLY_EVENTS))
        problems.append(f"{names} need features.agent_view")
    if not assistant and events & ASSISTANT_ONLY_EVENTS:
        names = ", ".join(sorted(events & ASSISTANT_ONLY_EVENTS))
        problems.append(f"{names} need features.assistant_view")
    if not (agent or assistant):
        return None
    view = _mapping(features.get("agent_view" if agent else "assistant_view"))
    if "assistant:write" not in scopes:
        problems.append("an agent or assistant app needs the assistant:write scope")
    if not _mapping(features.get("app_home")).get("messages_tab_enabled"):
        problems.append("an agent or assistant app needs app_home.messages_tab_enabled")
    if agent and "assistant_description" in view:
        problems.append("agent_view takes agent_description, not assistant_description")
    prompts = view.get("suggested_prompts", [])
    if not isinstance(prompts, list) or len(prompts) > MAX_SUGGESTED_PROMPTS:
        problems.append(f"suggested_prompts: a list of at most {MAX_SUGGESTED_PROMPTS}")
    elif not all(isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
        problems.append("each suggested prompt needs a title and a message")
    return "agent" if agent else "assistant"


def _check_request_urls(
    settings: Mapping[str, Any], commands: list[Mapping[str, Any]], problems: list[str]
) -> None:
    """Without Socket Mode Slack sends everything to the app's HTTPS request URLs."""
    places = [
        ("event_subscriptions.request_url", _mapping(settings.get("event_subscriptions"))),
        ("interactivity.request_url", _mapping(settings.get("interactivity"))),
    ]
    urls = [(where, found.get("request_url")) for where, found in places]
    urls += [(f"slash command {c['command']}: url", c.get("url")) for c in commands]
    for where, url in urls:
        if not (isinstance(url, str) and url.startswith("https://")):
            problems.append(f"{where} must be an https URL without Socket Mode")


def _shortcuts(raw: object, problems: list[str]) -> frozenset[str]:
    shortcuts = _items(raw)
    if len(shortcuts) > MAX_SHORTCUTS:
        problems.append(f"at most {MAX_SHORTCUTS} shortcuts")
    ids: set[str] = set()
    for shortcut in shortcuts:
        name, callback_id = str(shortcut.get("name") or ""), str(shortcut.get("callback_id") or "")
        if not name or len(name) > MAX_SHORTCUT_NAME:
            problems.append(f"shortcut name {name!r}: 1 to {MAX_SHORTCUT_NAME} characters")
        if len(str(shortcut.get("description") or "")) > MAX_SHORTCUT_DESCRIPTION:
            problems.append(f"shortcut {name!r}: description over {MAX_SHORTCUT_DESCRIPTION}")
        if shortcut.get("type") not in ("message", "global") or not callback_id:
            problems.append(f"shortcut {name!r}: needs a type and a callback_id")
        if callback_id in ids:
            problems.append(f"callback_id {callback_id!r} used twice")
        ids.add(callback_id)
    return frozenset(ids)


def event_subscription(event: Mapping[str, Any]) -> str:
    """The bot_events entry under which Slack delivers `event`."""
    kind = str(event.get("type") or "")
    if kind != "message":
        return kind
    channel_type = event.get("channel_type")
    if not isinstance(channel_type, str):
        channel = str(event.get("channel") or "")
        channel_type = {"C": "channel", "G": "group", "D": "im"}.get(channel[:1], "channel")
    return {"channel": "message.channels", "group": "message.groups"}.get(
        channel_type, f"message.{channel_type}"
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _items(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
