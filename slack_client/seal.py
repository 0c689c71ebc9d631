"""Which scope a settings modal edits, carried in its private_metadata and signed.

Slack keeps private_metadata on its side, but the listeners treat every payload as
untrusted: the scope is signed together with the person the modal was opened for, with
a key that lives as long as the process. A modal left open across a restart is refused
as out of date (and can simply be opened again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from settings import Scope, ScopeRef


class ScopeSeal:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def seal(self, scope: ScopeRef, user: str) -> str:
        fields = {"scope": scope.kind.value, "key": scope.key}
        return json.dumps({**fields, "sig": self._signature(fields["scope"], scope.key, user)})

    def open(self, view: Mapping[str, Any], user: str) -> ScopeRef | None:
        """The scope, if the modal was opened by us for `user`; else None."""
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            kind, key, signature = Scope(meta["scope"]), str(meta["key"]), str(meta["sig"])
        except (ValueError, TypeError, KeyError):
            return None
        if not hmac.compare_digest(signature, self._signature(kind.value, key, user)):
            return None
        return ScopeRef(kind, key)

    def _signature(self, kind: str, key: str, user: str) -> str:
        message = "\n".join([kind, key, user]).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
