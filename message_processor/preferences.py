"""Settings as stored per scope, and the effective settings of an answer.

Precedence: environment defaults < channel < user < thread. Every scope's overrides
are held in memory (a row per person, channel or thread that changed something), read
once at start and written through on each save: an answer costs no query, and a saved
change applies to the very next message. Each process keeps its own copy, read at
start: a change made through another process sharing the store is seen after a restart.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from settings import Overrides, Scope, ScopeRef, Settings, drop_unaccepted, resolve
from storage import SettingsStore

logger = logging.getLogger(__name__)

ORDER = (Scope.CHANNEL, Scope.USER, Scope.THREAD)


class Preferences:
    def __init__(
        self,
        store: SettingsStore,
        defaults: Settings,
        stored: dict[ScopeRef, Overrides],
        allowed_models: tuple[str, ...],
        saved_by: dict[ScopeRef, str],
    ) -> None:
        self._store = store
        self.defaults = defaults
        self._stored = stored
        # Who last saved each scope's settings.
        self._saved_by = saved_by
        self._allowed_models = frozenset(allowed_models)

    @classmethod
    async def load(
        cls, store: SettingsStore, defaults: Settings, allowed_models: tuple[str, ...]
    ) -> Preferences:
        stored: dict[ScopeRef, Overrides] = {}
        saved_by: dict[ScopeRef, str] = {}
        for (kind, key), row in (await store.all_settings()).items():
            try:
                scope = ScopeRef(Scope(kind), key)
            except ValueError:
                logger.warning("ignoring settings of an unknown scope")
                continue
            stored[scope] = _decode(row.overrides)
            saved_by[scope] = row.updated_by
        return cls(store, defaults, stored, allowed_models, saved_by)

    def effective(
        self, user: str, channel: str | None = None, thread_ts: str | None = None
    ) -> Settings:
        scopes = [ScopeRef.user(user)]
        if channel is not None:
            scopes.append(ScopeRef.channel(channel))
            if thread_ts is not None:
                thread = ScopeRef.thread(channel, thread_ts)
                scopes.append(thread)
                settings = self._resolve(scopes)
                if settings.thread_instructions:
                    by = self._saved_by.get(thread, "")
                    return replace(settings, thread_instructions_by=by)
                return settings
        return self._resolve(scopes)

    def inherited(self, user: str, scope: ScopeRef) -> Settings:
        """What "Default" means in a scope's modal: the layers under it.

        A user's defaults apply in every channel, so under them are only the environment's
        (as under a channel's); under a thread are its channel's and the person's own.
        """
        if scope.channel_id is None or scope.thread_ts is None:
            return self.defaults
        return self._resolve([ScopeRef.channel(scope.channel_id), ScopeRef.user(user)])

    def stored(self, scope: ScopeRef) -> Overrides:
        return dict(self._current(scope))

    async def save(self, scope: ScopeRef, overrides: Overrides, by: str) -> None:
        # Sampling fields the chosen model rejects are not kept: the modal hid them.
        model = overrides.get("model")
        if isinstance(model, str):
            overrides = drop_unaccepted(overrides, model)
        await self._store.save_settings(scope.kind.value, scope.key, json.dumps(overrides), by)
        self._stored[scope] = overrides
        self._saved_by[scope] = by

    def _resolve(self, scopes: list[ScopeRef]) -> Settings:
        ordered = sorted(scopes, key=lambda s: ORDER.index(s.kind))
        return resolve(self.defaults, [(s.kind, self._current(s)) for s in ordered])

    def _current(self, scope: ScopeRef) -> Overrides:
        """A scope's overrides, without a model the admin has since taken off the list."""
        overrides = self._stored.get(scope, {})
        if overrides.get("model", None) in (None, *self._allowed_models):
            return overrides
        return {name: value for name, value in overrides.items() if name != "model"}


def _decode(text: str | None) -> Overrides:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        logger.warning("ignoring unreadable stored settings")
        return {}
    return value if isinstance(value, dict) else {}
