"""Block Kit for the bot's own surfaces: the settings modal, App Home, help, usage, status,
the welcome, and the feedback buttons under answers. Pure functions: data in, blocks out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from settings import (
    IMAGE_FIDELITIES,
    IMAGE_SIZES,
    MAX_INSTRUCTIONS_CHARS,
    REASONING_EFFORTS,
    VERBOSITIES,
    VISION_DETAILS,
    Scope,
    Settings,
    accepted_fields,
)
from slack_client.backend import (
    JobState,
    LoopLag,
    ReaderLoad,
    SettingsForm,
    StatusReport,
    UsageLine,
    UsageReport,
)
from slack_client.render.mrkdwn import ZERO_WIDTH_SPACE, escape

Block = dict[str, Any]

SETTINGS_VIEW = "settings"
THREAD_SETTINGS_SHORTCUT = "thread_settings"
SUMMARIZE_SHORTCUT = "summarize_thread"
OPEN_SETTINGS = "open_settings"
SHOW_USAGE = "show_usage"
ANSWER_FEEDBACK = "answer_feedback"
MODEL_FIELD = "model"
DEFAULT = "default"
POSITIVE, NEGATIVE = "good", "bad"
APPROVE_ACTION, CANCEL_ACTION = "browser_approve", "browser_cancel"
# A section's text holds 3,000 characters; a message holds 50 blocks.
SECTION_CHARS = 3000

HELP = """*What I can do*
• *Answer in threads.* Mention me in a channel (`@assistant …`) or write to me in a DM; \
I answer in the thread and read the whole thread as context. Reply in the thread to go on.
• *Look at images* you attach or link, and *read documents*: PDF, Word, Excel, CSV, \
text, Markdown and code.
• *Draw and edit images*: ask me to draw something, or to change an image of the thread.
• *Summarise conversations*: open my Messages tab beside a channel or thread and ask \
"summarise this", or use the commands below.

*Commands*
• `/ai settings`: your model, instructions and other preferences
• `/ai settings channel`: this channel's defaults (admins)
• `/ai summarize [#channel] [3h | 2d | 1w | 2026-12-01]`: a summary in our DM
• `/ai usage`: your tokens and images, and their estimated cost
• `/ai reset`: start a fresh conversation in our DM
• `/ai tools`: the outside tools I can use for you here, and where they come from
• `/ai status`: whether I and the services I use are up
• `/ai help`: this text
Message menu → *Summarize thread*: that thread's summary in our DM; \
*Thread settings*: settings for one thread."""

NOT_ALLOWED = (
    ":lock: Sorry, I'm not set up to answer you here. "
    "If you think you should have access, ask the admins of this bot."
)
WELCOME = (
    ":wave: *Welcome!* I'm an AI assistant: mention me or DM me and I answer in the thread. "
    "You can pick the model, give me standing instructions and more in your settings."
)

CHOICE_LABELS = {
    "on": "On",
    "off": "Off",
    "auto": "Automatic",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "square": "Square",
    "landscape": "Landscape",
    "portrait": "Portrait",
}
FIDELITY_LABELS = {
    "auto": "As the model sees fit",
    "high": "Keep the original closely",
    "low": "Reinterpret freely",
}
SCOPE_TEXT = {
    Scope.USER: "*Your defaults.* They apply wherever you talk to me, unless a thread "
    "has settings of its own.",
    Scope.CHANNEL: "*Defaults for {where}.* They apply to everyone there, under each "
    "person's own settings. Only admins can change them.",
    Scope.THREAD: "*This thread.* These apply to every answer in this thread and come "
    "before anyone's own defaults; its instructions are added to each person's own.",
}
INSTRUCTIONS_LABELS = {
    Scope.CHANNEL: "Channel instructions",
    Scope.USER: "Custom instructions",
    Scope.THREAD: "Thread instructions",
}
# A thread's notice quotes its instructions this far: enough to know what they say.
NOTICE_INSTRUCTIONS_CHARS = 500
NOTICE_INSTRUCTIONS_LINES = 10
# Broadcast words (a plain "@here" can notify when a message is sent with link_names).
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(text: str, action_id: str, *, style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": _text(text), "action_id": action_id}
    if style:
        button["style"] = style
    return button


def _option(value: str, label: str) -> Block:
    return {"text": _text(label[:75]), "value": value}


# ----------------------------------------------------------------------- the settings modal


def describe(name: str, settings: Settings) -> str:
    """A setting's effective value in words, for "Default (…)" and App Home."""
    value = getattr(settings, name)
    if name == "image_fidelity":
        return FIDELITY_LABELS[str(value)]
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "":
        return "model default" if name != "instructions" else "none"
    if isinstance(value, float):
        return f"{value:g}"
    return CHOICE_LABELS.get(str(value), str(value)).lower() if name != "model" else str(value)


def form_values(stored: Mapping[str, object]) -> dict[str, str | None]:
    """Stored overrides as the modal's fields show them (strings; absent is default)."""
    values: dict[str, str | None] = {}
    for name, value in stored.items():
        if isinstance(value, bool):
            values[name] = "on" if value else "off"
        elif isinstance(value, float | int):
            values[name] = f"{value:g}"
        elif isinstance(value, str):
            values[name] = value
    return values


def settings_modal(form: SettingsForm, values: Mapping[str, str | None], metadata: str) -> Block:
    """The modal for one scope, showing only what the chosen model accepts.

    `values` are the fields as last entered (from storage, or from the open modal when
    the model changes and it is rebuilt); `metadata` is the sealed scope.
    """
    inherited = form.inherited
    chosen = values.get(MODEL_FIELD)
    model = chosen if chosen and chosen != DEFAULT else inherited.model
    accepted = accepted_fields(model)
    where = f"<#{form.scope.key}>" if form.scope.kind is Scope.CHANNEL else ""
    blocks: list[Block] = [
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": SCOPE_TEXT[form.scope.kind].format(where=where)}
            ],
        },
        _select(
            MODEL_FIELD,
            "Model",
            [(m, m) for m in form.allowed_models],
            values,
            f"Default ({inherited.model})",
            dispatch=True,
        ),
    ]
    if "reasoning_effort" in accepted:
        choices = [(c, CHOICE_LABELS[c]) for c in REASONING_EFFORTS]
        default = f"Default ({describe('reasoning_effort', inherited)})"
        blocks.append(_select("reasoning_effort", "Reasoning effort", choices, values, default))
    if "verbosity" in accepted:
        choices = [(c, CHOICE_LABELS[c]) for c in VERBOSITIES]
        default = f"Default ({describe('verbosity', inherited)})"
        blocks.append(_select("verbosity", "Verbosity", choices, values, default))
    if "temperature" in accepted:
        blocks.append(_number("temperature", "Temperature", "0 to 2", values, inherited))
    if "top_p" in accepted:
        blocks.append(_number("top_p", "Top-p", "0 to 1", values, inherited))
    instructions_label = INSTRUCTIONS_LABELS[form.scope.kind]
    instructions: Block = {
        "type": "plain_text_input",
        "action_id": "instructions",
        "multiline": True,
        "max_length": MAX_INSTRUCTIONS_CHARS,
        "placeholder": _text("How should I answer? (empty: as by default)"),
    }
    if values.get("instructions"):
        instructions["initial_value"] = values["instructions"]
    blocks.append(
        {
            "type": "input",
            "block_id": "instructions",
            "optional": True,
            "label": _text(instructions_label),
            "element": instructions,
        }
    )
    on_off = [("on", "On"), ("off", "Off")]
    if form.offers_web_search:
        default = f"Default ({describe('web_search', inherited)})"
        blocks.append(_select("web_search", "Web search", on_off, values, default))
    blocks += [
        _select(
            "streaming",
            "Show answers as they are written",
            on_off,
            values,
            f"Default ({describe('streaming', inherited)})",
        ),
        _select(
            "image_size",
            "Size of drawn images",
            [(c, CHOICE_LABELS[c]) for c in IMAGE_SIZES],
            values,
            f"Default ({describe('image_size', inherited)})",
        ),
        _select(
            "image_fidelity",
            "When editing an image",
            [(c, FIDELITY_LABELS[c]) for c in IMAGE_FIDELITIES],
            values,
            f"Default ({describe('image_fidelity', inherited).lower()})",
        ),
        _select(
            "vision_detail",
            "Detail when looking at images",
            [(c, CHOICE_LABELS[c]) for c in VISION_DETAILS],
            values,
            f"Default ({describe('vision_detail', inherited)})",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": SETTINGS_VIEW,
        "title": _text("AI settings"),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def _select(
    name: str,
    label: str,
    choices: list[tuple[str, str]],
    values: Mapping[str, str | None],
    default_label: str,
    *,
    dispatch: bool = False,
) -> Block:
    options = [_option(DEFAULT, default_label), *(_option(v, text) for v, text in choices)]
    current = values.get(name) or DEFAULT
    initial = next((o for o in options if o["value"] == current), options[0])
    block: Block = {
        "type": "input",
        "block_id": name,
        "optional": True,
        "label": _text(label),
        "element": {
            "type": "static_select",
            "action_id": name,
            "options": options,
            "initial_option": initial,
        },
    }
    if dispatch:
        block["dispatch_action"] = True
    return block


def _number(
    name: str, label: str, bounds: str, values: Mapping[str, str | None], inherited: Settings
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": name,
        "placeholder": _text(f"{bounds}; empty: default ({describe(name, inherited)})"),
    }
    if values.get(name):
        element["initial_value"] = values[name]
    return {
        "type": "input",
        "block_id": name,
        "optional": True,
        "label": _text(label),
        "element": element,
    }


def submitted_values(state: Mapping[str, Any]) -> dict[str, str | None]:
    """The fields of a submitted (or changing) modal, by name, as strings."""
    values: dict[str, str | None] = {}
    for block in state.get("values", {}).values():
        if not isinstance(block, dict):
            continue
        for name, field in block.items():
            if not isinstance(field, dict):
                continue
            option = field.get("selected_option")
            if isinstance(option, dict):
                values[name] = str(option.get("value"))
            else:
                value = field.get("value")
                values[name] = value if isinstance(value, str) else None
    return values


# ----------------------------------------------------------------------- App Home


def home_view(settings: Settings) -> Block:
    shown = accepted_fields(settings.model)
    lines = [f"*Model:* {settings.model}"]
    labels = {
        "reasoning_effort": "Reasoning effort",
        "verbosity": "Verbosity",
        "temperature": "Temperature",
        "top_p": "Top-p",
    }
    lines += [f"*{labels[n]}:* {describe(n, settings)}" for n in labels if n in shown]
    lines += [
        f"*Web search:* {describe('web_search', settings)}",
        f"*Answers shown as they are written:* {describe('streaming', settings)}",
        f"*Drawn images:* {describe('image_size', settings)}",
        f"*Image edits:* {describe('image_fidelity', settings).lower()}",
        f"*Detail when looking at images:* {describe('vision_detail', settings)}",
    ]
    instructions = settings.instructions or "_none_"
    if len(instructions) > 300:
        instructions = instructions[:300] + "…"
    lines.append(f"*Your instructions:* {instructions}")
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": _text("Your AI assistant")},
            section(HELP),
            {"type": "divider"},
            {"type": "header", "text": _text("Your settings")},
            section("\n".join(lines)),
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Channels and threads can have settings of their own.",
                    }
                ],
            },
            {
                "type": "actions",
                "elements": [
                    _button("Open settings", OPEN_SETTINGS, style="primary"),
                    _button("Show my usage", SHOW_USAGE),
                ],
            },
        ],
    }


def notice_home(text: str) -> Block:
    return {"type": "home", "blocks": [section(text)]}


def text_modal(title: str, text: str) -> Block:
    return {
        "type": "modal",
        "title": _text(title[:24]),
        "close": _text("Close"),
        "blocks": [section(part) for part in _chunks(text, SECTION_CHARS)][:100],
    }


# ----------------------------------------------------------------------- reports


def _money(cost: float | None) -> str:
    if cost is None:
        return "price unknown"
    return f"${cost:,.4f}" if cost < 1 else f"${cost:,.2f}"


def _usage_of(row: UsageLine) -> str:
    if row.counts != "answers":
        return f"{row.count:,} {row.counts}"
    return f"{row.count:,} answers, {row.input_tokens:,} tokens in, {row.output_tokens:,} out"


def _usage_lines(rows: list[UsageLine]) -> str:
    if not rows:
        return "_nothing yet_"
    lines = [f"• `{r.model}`: {_usage_of(r)}, {_money(r.cost)}" for r in rows]
    known = [r.cost for r in rows if r.cost is not None]
    if len(rows) > 1 and known:
        lines.append(f"• *Total:* {_money(sum(known))}")
    return "\n".join(lines)


def usage_text(report: UsageReport) -> str:
    parts = [
        "*Your usage this month*",
        _usage_lines(report.this_month),
        "*Your usage, last 30 days*",
        _usage_lines(report.last_30_days),
    ]
    if report.everyone_30_days is not None:
        parts += [
            "*Everyone, last 30 days* (admins see this)",
            _usage_lines(report.everyone_30_days),
        ]
    if report.feedback_30_days is not None:
        good = report.feedback_30_days.get(POSITIVE, 0)
        bad = report.feedback_30_days.get(NEGATIVE, 0)
        parts += [f"*Feedback on answers, last 30 days:* :+1: {good}  :-1: {bad}"]
    parts.append("_Costs are estimates from list prices per model (images at high quality)._")
    return "\n".join(parts)


def status_text(report: StatusReport) -> str:
    hours, rest = divmod(int(report.uptime_seconds), 3600)
    minutes = rest // 60
    model = (
        ":white_check_mark: answers"
        if report.model_api_problem is None
        else f":x: not answering ({report.model_api_problem})"
    )
    return "\n".join(
        [
            f"*Up for* {hours} h {minutes:02d} min",
            f"*Answering now:* {report.answering}   *Queued for the model:* {report.queued}",
            f"*Model API:* {model}",
            *(f"*{what}:* {state}" for what, state in report.tool_sources),
            f"*Event loop:* {_loop_lag(report.event_loop)}",
            f"*File readers:* {_reader_load(report.file_readers)}",
            "*Background jobs:*",
            *(f"• {_job_line(job)}" for job in report.jobs),
        ]
    )


def _job_line(job: JobState) -> str:
    every = f"every {_duration(job.every)}"
    if job.ago is None or job.outcome is None:
        return f"{job.name} ({every}): not run yet"
    mark = ":white_check_mark:" if job.outcome == "ok" else ":x:"
    return f"{job.name} ({every}): {mark} {job.outcome}, {_duration(job.ago)} ago"


def _duration(seconds: float) -> str:
    """Roughly, in the largest unit that fits: 45 s, 10 min, 2 h, 1 day."""
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''}"
    return f"{int(seconds)} s"


def _loop_lag(lag: LoopLag) -> str:
    worst = f"worst lag in the last hour {lag.worst_last_hour * 1000:.0f} ms"
    if lag.worst_last_hour > lag.threshold:
        return f":warning: {worst} (stalls over {lag.threshold * 1000:.0f} ms are logged)"
    return worst


def _reader_load(load: ReaderLoad) -> str:
    return (
        f"{load.busy} of {load.workers} busy, {load.waiting} files waiting, "
        f"{load.killed} ended past their limits or by a crash since start"
    )


# ----------------------------------------------------------------------- messages


def thread_settings_notice(
    user: str, overrides: Mapping[str, object], before: Mapping[str, object]
) -> str:
    """What everyone in the thread should know after `user` saved its settings: what now
    steers every answer there, the instructions quoted as they read now."""
    if not overrides:
        head = f"_<@{user}> reset this thread's settings: answers here follow each person's own._"
    else:
        names = ", ".join(name.replace("_", " ") for name in overrides)
        head = (
            f"_<@{user}> changed the settings of this thread ({names}): "
            "they apply to every answer here._"
        )
    instructions = overrides.get("instructions")
    if isinstance(instructions, str) and instructions:
        return (
            f"{head}\n*This thread's instructions*, added to each person's own:\n"
            + _quoted_instructions(instructions)
        )
    if before.get("instructions"):
        return f"{head}\n_This thread's instructions were cleared._"
    return head


def _quoted_instructions(text: str) -> str:
    """Instructions as a quote that shows them and does nothing else: bounded, escaped (no
    mention, channel or link syntax survives) and with broadcast words broken."""
    lines = text.strip().splitlines()
    shown = "\n".join(lines[:NOTICE_INSTRUCTIONS_LINES])
    shown = shown[:NOTICE_INSTRUCTIONS_CHARS]
    if shown != "\n".join(lines):
        shown = shown.rstrip() + "…"
    safe = _BROADCAST.sub(f"@{ZERO_WIDTH_SPACE}\\1", escape(shown))
    return "\n".join(f">{line}" for line in safe.splitlines())


def approval_blocks(
    user: str,
    action_name: str,
    source: str,
    preview: str,
    approval_id: str,
    minutes: int,
    why: str | None = None,
) -> list[Block]:
    """Approve/Cancel for an action, showing exactly what will be sent; `why` says why it
    needs approval when that is not plain (a reading action)."""
    return [
        section(f"<@{user}>, I'd like to run *{action_name}* on {source}:"),
        section(_code(preview)),
        *([section(f"_{why} Check that you want this read._")] if why else []),
        {
            "type": "actions",
            "block_id": "browser_approval",
            "elements": [
                {**_button("Approve", APPROVE_ACTION, style="primary"), "value": approval_id},
                {**_button("Cancel", CANCEL_ACTION, style="danger"), "value": approval_id},
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Only <@{user}> can approve. Expires in {minutes} min.",
                }
            ],
        },
    ]


def decided_blocks(action_name: str, preview: str, outcome: str) -> list[Block]:
    """The approval message once decided: what was asked, and what became of it."""
    return [
        section(f"*{action_name}* on the browser service:"),
        section(_code(preview)),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]},
    ]


def _code(text: str) -> str:
    """A code block that shows `text` as it is: escaped, and unable to close itself."""
    escaped = escape(text)
    # A zero-width space between backticks keeps them from closing the block.
    return "```\n" + escaped.replace("```", "`\u200b`\u200b`") + "\n```"


def fits_approval(preview: str) -> bool:
    """Whether the request can be shown whole: what is approved must be what is seen."""
    return len(_code(preview)) <= SECTION_CHARS


def welcome_blocks() -> list[Block]:
    return [
        section(WELCOME),
        {"type": "actions", "elements": [_button("Open my settings", OPEN_SETTINGS)]},
    ]


def feedback_block() -> Block:
    """Slack's own feedback buttons, under an answer."""
    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ANSWER_FEEDBACK,
                "positive_button": {
                    "text": _text("Good answer"),
                    "value": POSITIVE,
                    "accessibility_label": "Mark this answer as good",
                },
                "negative_button": {
                    "text": _text("Bad answer"),
                    "value": NEGATIVE,
                    "accessibility_label": "Mark this answer as bad",
                },
            }
        ],
    }


def _chunks(text: str, size: int) -> list[str]:
    """Pieces of at most `size` characters, cut at a line break where there is one."""
    pieces: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text] if text or not pieces else pieces
