"""Settings as stored per scope, and the effective settings of an answer.

Precedence: environment defaults < channel < user < thread. Each answer reads them
afresh (one query), so a saved change applies to the very next message.
"""

from __future__ import annotations

import json
import logging

from database import Database
from settings import Overrides, Scope, ScopeRef, Settings, drop_unaccepted, resolve

logger = logging.getLogger(__name__)

ORDER = (Scope.CHANNEL, Scope.USER, Scope.THREAD)


class SettingsStore:
    def __init__(self, db: Database, defaults: Settings) -> None:
        self._db = db
        self.defaults = defaults

    async def effective(
        self, user: str, channel: str | None = None, thread_ts: str | None = None
    ) -> Settings:
        scopes = [ScopeRef.user(user)]
        if channel is not None:
            scopes.append(ScopeRef.channel(channel))
            if thread_ts is not None:
                scopes.append(ScopeRef.thread(channel, thread_ts))
        return await self._resolve(scopes)

    async def inherited(self, user: str, scope: ScopeRef) -> Settings:
        """What "Default" means in a scope's modal: the layers under it.

        A user's defaults apply in every channel, so under them are only the environment's
        (as under a channel's); under a thread are its channel's and the person's own.
        """
        if scope.kind is not Scope.THREAD:
            return self.defaults
        channel = scope.key.split("/", 1)[0]
        return await self._resolve([ScopeRef.channel(channel), ScopeRef.user(user)])

    async def stored(self, scope: ScopeRef) -> Overrides:
        rows = await self._db.settings_of([(scope.kind.value, scope.key)])
        return _decode(rows.get((scope.kind.value, scope.key)))

    async def save(self, scope: ScopeRef, overrides: Overrides, by: str) -> None:
        # Sampling fields the chosen model rejects are not kept: the modal hid them.
        model = overrides.get("model")
        if isinstance(model, str):
            overrides = drop_unaccepted(overrides, model)
        await self._db.save_settings(scope.kind.value, scope.key, json.dumps(overrides), by)

    async def _resolve(self, scopes: list[ScopeRef]) -> Settings:
        rows = await self._db.settings_of([(s.kind.value, s.key) for s in scopes])
        ordered = sorted(scopes, key=lambda s: ORDER.index(s.kind))
        layers = [(s.kind, _decode(rows.get((s.kind.value, s.key)))) for s in ordered]
        return resolve(self.defaults, layers)


def _decode(text: str | None) -> Overrides:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        logger.warning("ignoring unreadable stored settings")
        return {}
    return value if isinstance(value, dict) else {}
