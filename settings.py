"""What people can tune, and how the scopes combine: pure data, no I/O.

A scope stores only what was set in it (`Overrides`: a field name and its value; a
field that is absent inherits). The effective settings of one answer are the
environment defaults, then the channel's, the user's and the thread's overrides, each
replacing what came before, except instructions: a channel's and a thread's are kept
beside the person's own, which they add to. Validation is here, once, for every way a value arrives
(the modal, a forged payload, a stored row written by an older version).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum

from openai_client import accepts_verbosity, is_reasoning_model

MAX_INSTRUCTIONS_CHARS = 3000
REASONING_EFFORTS = ("low", "medium", "high")
VERBOSITIES = ("low", "medium", "high")
# "auto" lets the model pick a shape per image (the generate_image tool's own choice).
IMAGE_SIZES = ("auto", "square", "landscape", "portrait")
# How closely an edit keeps the original when the model does not say.
IMAGE_FIDELITIES = ("auto", "high", "low")
VISION_DETAILS = ("auto", "low", "high")

Overrides = dict[str, object]


class Scope(StrEnum):
    CHANNEL = "channel"
    USER = "user"
    THREAD = "thread"


@dataclass(frozen=True)
class ScopeRef:
    """One place settings are stored: a user, a channel, or a thread of a channel."""

    kind: Scope
    key: str

    @classmethod
    def user(cls, user_id: str) -> ScopeRef:
        return cls(Scope.USER, user_id)

    @classmethod
    def channel(cls, channel: str) -> ScopeRef:
        return cls(Scope.CHANNEL, channel)

    @classmethod
    def thread(cls, channel: str, thread_ts: str) -> ScopeRef:
        return cls(Scope.THREAD, f"{channel}/{thread_ts}")

    @property
    def channel_id(self) -> str | None:
        """The channel of a channel's or a thread's settings; None for a person's."""
        if self.kind is Scope.USER:
            return None
        return self.key.split("/", 1)[0]

    @property
    def thread_ts(self) -> str | None:
        """The thread of a thread's settings; None for the others."""
        return self.key.split("/", 1)[1] if self.kind is Scope.THREAD else None


@dataclass(frozen=True)
class Settings:
    """The effective settings of one answer."""

    model: str
    reasoning_effort: str | None = None
    verbosity: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    # The person's own instructions.
    instructions: str = ""
    # The channel's instructions, set by an admin; they apply to everyone there.
    channel_instructions: str = ""
    # The thread's instructions, set by someone in it: they add to each person's own,
    # never replace them, so nobody's standing wishes are lost by joining a thread.
    thread_instructions: str = ""
    # Who last saved the thread's settings: instructions someone else wrote are content
    # the asker did not write (message_processor/conversation/provenance.py).
    thread_instructions_by: str = ""
    web_search: bool = False
    streaming: bool = True
    image_size: str = "auto"
    image_fidelity: str = "auto"
    vision_detail: str = "auto"


SETTING_NAMES = frozenset(f.name for f in fields(Settings)) - {
    "channel_instructions",
    "thread_instructions",
    "thread_instructions_by",
}
# Where each scope's instructions go; the user's are the person's own.
INSTRUCTIONS_FIELD = {
    Scope.CHANNEL: "channel_instructions",
    Scope.USER: "instructions",
    Scope.THREAD: "thread_instructions",
}
# Each field's annotation, as text (annotations are not evaluated): read once, not per answer.
FIELD_TYPES = {f.name: str(f.type) for f in fields(Settings)}


def accepted_fields(model: str) -> frozenset[str]:
    """The sampling fields `model` accepts: the modal shows only these, and an answer
    sends only these."""
    if is_reasoning_model(model):
        if accepts_verbosity(model):
            return frozenset({"reasoning_effort", "verbosity"})
        return frozenset({"reasoning_effort"})
    return frozenset({"temperature", "top_p"})


MODEL_DEPENDENT = frozenset({"reasoning_effort", "verbosity", "temperature", "top_p"})


def resolve(defaults: Settings, layers: list[tuple[Scope, Overrides]]) -> Settings:
    """`defaults`, overridden by each layer in order (channel, user, thread).

    A stored value that is no longer valid (a model taken off the list, a field renamed)
    is skipped rather than trusted.
    """
    result = defaults
    for scope, overrides in layers:
        changes: dict[str, object] = {}
        for name, value in overrides.items():
            if name not in SETTING_NAMES or not _well_typed(name, value):
                continue
            changes[INSTRUCTIONS_FIELD[scope] if name == "instructions" else name] = value
        result = replace(result, **changes)  # type: ignore[arg-type]
    return result


def _well_typed(name: str, value: object) -> bool:
    kind = FIELD_TYPES[name]
    if kind == "bool":
        return isinstance(value, bool)
    if "float" in kind:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


@dataclass(frozen=True)
class Validated:
    overrides: Overrides
    # Field name → what is wrong, in words for the person who typed it.
    errors: dict[str, str]


def validate(raw: Mapping[str, str | None], allowed_models: tuple[str, ...]) -> Validated:
    """Overrides from a submitted form: each value a string, None or "" meaning inherit.

    Unknown fields are refused, not ignored: a payload that names them was not made by
    our modal.
    """
    overrides: Overrides = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        if name not in SETTING_NAMES:
            errors[name] = "This is not a setting."
            continue
        if value is None or value.strip() == "" or value == "default":
            continue
        try:
            overrides[name] = _parse(name, value.strip(), allowed_models)
        except ValueError as error:
            errors[name] = str(error)
    return Validated(overrides, errors)


def _parse(name: str, value: str, allowed_models: tuple[str, ...]) -> object:
    if name == "model":
        if value not in allowed_models:
            raise ValueError("Choose one of the models offered here.")
        return value
    if name in ("temperature", "top_p"):
        upper = 2.0 if name == "temperature" else 1.0
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"Enter a number from 0 to {upper:g}.") from None
        if not math.isfinite(number) or not 0.0 <= number <= upper:
            raise ValueError(f"Enter a number from 0 to {upper:g}.")
        return number
    if name == "instructions":
        if len(value) > MAX_INSTRUCTIONS_CHARS:
            raise ValueError(
                f"Keep instructions to {MAX_INSTRUCTIONS_CHARS:,} characters "
                f"(these have {len(value):,})."
            )
        return value
    if name in ("web_search", "streaming"):
        if value not in ("on", "off"):
            raise ValueError("Choose on or off.")
        return value == "on"
    choices: dict[str, tuple[str, ...]] = {
        "reasoning_effort": REASONING_EFFORTS,
        "verbosity": VERBOSITIES,
        "image_size": IMAGE_SIZES,
        "image_fidelity": IMAGE_FIDELITIES,
        "vision_detail": VISION_DETAILS,
    }
    if value not in choices[name]:
        raise ValueError(f"Choose one of: {', '.join(choices[name])}.")
    return value


def drop_unaccepted(overrides: Overrides, model: str) -> Overrides:
    """Without the sampling fields `model` would reject (they stay hidden in the modal)."""
    keep = accepted_fields(model)
    return {k: v for k, v in overrides.items() if k not in MODEL_DEPENDENT or k in keep}
