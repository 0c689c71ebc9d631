"""The Web API methods about who is who and reacting: ``auth.test``, ``users.info`` and
``reactions.add``.
"""

from __future__ import annotations

from typing import Any

from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import require_channel, str_param
from sandbox.workspace.records import ApiMethod
from sandbox.workspace.state import WORKSPACE_URL, WorkspaceState


class UsersApi:
    """auth.test (the bot itself), users.info (people added with add_user) and reactions.add."""

    def __init__(self, state: WorkspaceState) -> None:
        self.state = state

    def methods(self) -> dict[str, ApiMethod]:
        return {
            "auth.test": self.auth_test,
            "users.info": self.users_info,
            "reactions.add": self.reactions_add,
        }

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": WORKSPACE_URL,
            "team": "Test Team",
            "user": "assistant",
            "team_id": self.state.team_id,
            "user_id": self.state.bot_user_id,
            "bot_id": self.state.bot_id,
            "is_enterprise_install": False,
        }

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.state.users.get(str_param(params, "user") or "")
        if user is None:
            raise SlackError("user_not_found")
        team = user.team or self.state.team_id
        profile = {"display_name": user.name, "real_name": user.name, "team": team}
        return {
            "user": {
                "id": user.id,
                "team_id": team,
                "name": user.name,
                "real_name": user.name,
                "deleted": False,
                "tz": "UTC",
                "profile": profile,
                "is_bot": user.is_bot,
                "is_app_user": False,
            }
        }

    def reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = require_channel(params)
        name = str_param(params, "name")
        if not name or ":" in name:
            raise SlackError("invalid_name")  # Slack wants the bare name: "tada", not ":tada:"
        message = self.state.messages.get((channel, str_param(params, "timestamp") or ""))
        if message is None:
            raise SlackError("message_not_found")
        reacted = message.reactions.setdefault(name, [])
        if self.state.bot_user_id in reacted:
            raise SlackError("already_reacted")
        reacted.append(self.state.bot_user_id)
        return {}
