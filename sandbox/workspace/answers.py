"""The app's answers to interactions, applied as Slack applies them: response_url POSTs
(ephemeral, in channel, replacing or deleting the original) and the payloads of acks.
"""

from __future__ import annotations

from typing import Any

from sandbox.workspace.blocks import check_message_blocks
from sandbox.workspace.errors import SlackError
from sandbox.workspace.params import check_length, flag, truthy
from sandbox.workspace.records import Message, Response, ResponseTarget
from sandbox.workspace.state import MAX_MESSAGE_CHARS, WorkspaceState
from sandbox.workspace.views import ViewsApi


class Answers:
    """Shows what the app answered; modal changes of acks go through ``views``."""

    def __init__(self, state: WorkspaceState, views: ViewsApi) -> None:
        self.state = state
        self.views = views

    def reply(self, target: ResponseTarget, body: dict[str, Any], via: str) -> Response:
        """Show an answer to an interaction (a response_url POST or an ack) as Slack would."""
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise SlackError("invalid_payload")
        blocks = body.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackError("invalid_blocks")
            check_message_blocks(blocks)
        response_type = body.get("response_type") or "ephemeral"
        if response_type not in ("ephemeral", "in_channel"):
            raise SlackError("invalid_payload")
        replace = truthy(body.get("replace_original"))
        delete = truthy(body.get("delete_original"))
        thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
        if not delete and not text and not blocks and not body.get("attachments"):
            raise SlackError("no_text")
        check_length(text or "", MAX_MESSAGE_CHARS)
        where = thread_ts or target.thread_ts
        if (replace or delete) and (target.message or target.ephemeral):
            self._change_original(target, text or "", blocks, delete=delete)
        elif response_type == "in_channel":
            self.state.clear_assistant_status(target.channel, where)
            self.state.store(
                Message(
                    channel=target.channel,
                    ts=self.state.next_ts(),
                    text=text or "",
                    user=self.state.bot_user_id,
                    bot_id=self.state.bot_id,
                    thread_ts=where,
                    blocks=blocks,
                )
            )
        else:
            self.state.add_ephemeral(target.channel, target.user, text or "", blocks, where, via)
        return Response(
            text=text or "",
            blocks=blocks,
            response_type=response_type,
            replace_original=replace,
            delete_original=delete,
            thread_ts=thread_ts,
            channel=target.channel,
            user=target.user,
            unfurl_links=flag(body.get("unfurl_links")),
            unfurl_media=flag(body.get("unfurl_media")),
        )

    def _change_original(
        self, target: ResponseTarget, text: str, blocks: list[Any] | None, *, delete: bool
    ) -> None:
        if target.ephemeral is not None:
            ephemeral = target.ephemeral
            if ephemeral.deleted:
                raise SlackError("message_not_found")
            if delete:
                ephemeral.deleted = True
            else:
                ephemeral.text, ephemeral.blocks = text, blocks
                ephemeral.versions.append(text)
            return
        assert target.message is not None
        message = self.state.messages.get(target.message)
        if message is None:
            raise SlackError("message_not_found")
        if message.bot_id != self.state.bot_id:
            raise SlackError("cant_update_message")  # only the app's own messages
        if delete:
            del self.state.messages[target.message]
        else:
            # The new content replaces the old entirely: no blocks given means none left.
            message.text, message.blocks = text, blocks
            message.versions.append(text)

    def apply_ack(self, envelope_id: str, payload: Any) -> None:
        """Do what Slack does with an interaction's ack payload (called for the first ack)."""
        envelope = self.state.envelopes.get(envelope_id)
        if envelope is None or envelope["type"] == "events_api":
            return
        body = envelope["payload"]
        waited = self.state.acks[envelope_id] - self.state.sent_at.get(
            envelope_id, self.state.acks[envelope_id]
        )
        if waited > self.state.ack_deadline:
            self.state.ack_problems[envelope_id] = (
                f"acked after {waited:.1f} s: Slack had already shown the user an error"
            )
            return
        try:
            if envelope["type"] == "slash_commands" and isinstance(payload, dict) and payload:
                targets = [
                    t for t in self.state.response_targets.values() if t.envelope_id == envelope_id
                ]
                if targets:  # none after a reset()
                    self.reply(targets[0], payload, "ack")
            elif body.get("type") == "view_submission":
                self.views.apply_submission_response(body, payload)
        except SlackError as exc:
            self.state.ack_problems[envelope_id] = f"Slack refused the ack payload: {exc.error}"
