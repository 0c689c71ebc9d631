"""Manifests for the fake workspace: the project's own, and an install that predates
Slack's agent experience (``assistant_view``), which must keep working."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

from sandbox.manifest import AGENT_ONLY_EVENTS, load_manifest
from sandbox.workspace import FakeSlack


def assistant_view_manifest() -> dict[str, Any]:
    """The project's manifest as an app created before the agent experience has it."""
    manifest = copy.deepcopy(load_manifest())
    features = manifest["features"]
    agent = features.pop("agent_view")
    features["assistant_view"] = {
        "assistant_description": agent["agent_description"],
        "suggested_prompts": [],
    }
    subscriptions = manifest["settings"]["event_subscriptions"]
    events = [e for e in subscriptions["bot_events"] if e not in AGENT_ONLY_EVENTS]
    subscriptions["bot_events"] = [*events, "assistant_thread_started"]
    return manifest


def with_events(*events: str) -> dict[str, Any]:
    """The project's manifest, subscribed to `events` as well."""
    manifest = copy.deepcopy(load_manifest())
    manifest["settings"]["event_subscriptions"]["bot_events"] += list(events)
    return manifest


@contextlib.contextmanager
def installed(slack: FakeSlack, manifest: dict[str, Any]) -> Iterator[None]:
    """`manifest` installed for the duration; then the project's own again."""
    slack.install(manifest)
    try:
        yield
    finally:
        slack.install(load_manifest())
