"""Which scope a settings modal edits, carried in its private_metadata and signed.

Slack keeps private_metadata on its side, but the listeners treat every payload as
untrusted: the scope is signed together with the person the modal was opened for, with
a key derived from the bot token. Every instance of the bot has that token and no one
else does, so a modal opened through one instance is saved through whichever instance
Slack sends the submission to, and one left open across a restart still works.

A thread's modal also carries who started the thread, as Slack said in the shortcut's
payload: the submission has no message to tell it again, and whether the person may
save is checked anew then.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from settings import Scope, ScopeRef


@dataclass(frozen=True)
class Sealed:
    scope: ScopeRef
    # Who started the thread (thread scopes; None when Slack did not say).
    starter: str | None = None


# Names what the derived key is for: the token's own signature is never what signs.
SEAL_PURPOSE = b"slack-assistant-bot settings modal seal v1"


class ScopeSeal:
    def __init__(self, bot_token: str) -> None:
        self._key = hmac.new(bot_token.encode(), SEAL_PURPOSE, hashlib.sha256).digest()

    def seal(self, scope: ScopeRef, user: str, starter: str | None = None) -> str:
        fields = {"scope": scope.kind.value, "key": scope.key, "starter": starter or ""}
        signature = self._signature(fields["scope"], scope.key, user, fields["starter"])
        return json.dumps({**fields, "sig": signature})

    def open(self, view: Mapping[str, Any], user: str) -> Sealed | None:
        """The scope, if the modal was opened by us for `user`; else None."""
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            kind, key, signature = Scope(meta["scope"]), str(meta["key"]), str(meta["sig"])
            starter = str(meta.get("starter") or "")
        except (ValueError, TypeError, KeyError):
            return None
        if not hmac.compare_digest(signature, self._signature(kind.value, key, user, starter)):
            return None
        return Sealed(ScopeRef(kind, key), starter or None)

    def _signature(self, kind: str, key: str, user: str, starter: str) -> str:
        message = "\n".join([kind, key, user, starter]).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
