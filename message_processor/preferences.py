"""Settings as stored per scope, and the effective settings of an answer.

Precedence: environment defaults < channel < user < thread. Every scope's overrides
are held in memory (a row per person, channel or thread that changed something), read
once at start and written through on each save. Every process sharing the store keeps
its own copy and, before each answer, asks the store whether anything changed since the
version it holds (one indexed query): a change saved through any instance, or by
`admin settings reset`, applies to the very next message everywhere.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from settings import Overrides, Scope, ScopeRef, Settings, drop_unaccepted, resolve
from storage import SettingsStore, StoredSettings

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
        version: int = 0,
    ) -> None:
        self._store = store
        self._version = version
        self.defaults = defaults
        self._stored = stored
        # Who last saved each scope's settings.
        self._saved_by = saved_by
        self._allowed_models = frozenset(allowed_models)

    @classmethod
    async def load(
        cls, store: SettingsStore, defaults: Settings, allowed_models: tuple[str, ...]
    ) -> Preferences:
        # The version first: a change made meanwhile is read again at the next refresh.
        version = await store.settings_version()
        preferences = cls(store, defaults, {}, allowed_models, {}, version)
        for (kind, key), row in (await store.all_settings()).items():
            preferences._keep(kind, key, row)
        return preferences

    async def refresh(self) -> None:
        """Take in what was changed through other processes since the last look; a store
        that cannot tell leaves the settings as they were (the next look catches up)."""
        try:
            changes = await self._store.settings_changed_since(self._version)
        except Exception as error:  # noqa: BLE001 - an answer goes on with what is known
            logger.warning("settings not refreshed: %s", type(error).__name__)
            return
        if changes.complete:
            self._stored.clear()
            self._saved_by.clear()
        for (kind, key), row in changes.changed.items():
            self._keep(kind, key, row)
        self._version = changes.version

    def _keep(self, kind: str, key: str, row: StoredSettings | None) -> None:
        try:
            scope = ScopeRef(Scope(kind), key)
        except ValueError:
            logger.warning("ignoring settings of an unknown scope")
            return
        if row is None:
            self._stored.pop(scope, None)
            self._saved_by.pop(scope, None)
        else:
            self._stored[scope] = _decode(row.overrides)
            self._saved_by[scope] = row.updated_by

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
