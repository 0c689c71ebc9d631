"""What the admin commands print: titled sections, usage as a table, CSV or JSON, and
stored settings. Formatting only; the commands fetch what is shown."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from storage import JobRun, PersonUsage, StoredSettings, Totals

USAGE_COLUMNS = ("user_id", "model", "input_tokens", "output_tokens", "cost")
USAGE_HEADINGS = ("person", "model", "input tokens", "output tokens", "cost")
UNPRICED = "unknown"


@dataclass(frozen=True)
class Section:
    """A title and its label/value rows. `stats` prints a list of them, so a part of
    the bot with figures of its own (its background jobs, say) adds a section."""

    title: str
    rows: Sequence[tuple[str, str]]


def render_sections(sections: Sequence[Section]) -> str:
    """The sections one under another, every value in one column."""
    width = max((len(label) for section in sections for label, _ in section.rows), default=0)
    return "\n\n".join(
        "\n".join(
            [section.title, *(f"  {label:<{width}}  {value}" for label, value in section.rows)]
        )
        for section in sections
    )


def jobs_section(runs: Sequence[JobRun]) -> Section:
    """Each background job's latest run, by any process using the database."""
    rows = [
        (
            run.name,
            f"{run.outcome} at {datetime.fromtimestamp(run.started_at, UTC):%Y-%m-%d %H:%M:%S} "
            f"UTC, took {run.seconds:.2f} s; runs every {_every(run.every)}",
        )
        for run in runs
    ]
    return Section(
        "Background jobs (latest run of each)", rows or [("none", "no run recorded yet")]
    )


def _every(seconds: float) -> str:
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def stats_sections(database: str, size: int, totals: Totals, since: datetime) -> list[Section]:
    return [
        Section(
            f"Database {database} ({readable_size(size)})",
            [
                ("Threads", f"{totals.threads:,}"),
                ("Messages", f"{totals.messages:,}"),
                ("People", f"{totals.people:,}"),
            ],
        ),
        Section(
            f"This month (UTC, since {since:%Y-%m-%d})",
            [
                ("Answers", f"{totals.answers:,}"),
                ("Images", f"{totals.images:,}"),
                ("Input tokens", f"{totals.input_tokens:,}"),
                ("Output tokens", f"{totals.output_tokens:,}"),
                ("Cost", money(totals.cost)),
            ],
        ),
    ]


def usage_table(rows: Sequence[PersonUsage], since: datetime) -> str:
    if not rows:
        return f"No usage since {since:%Y-%m-%d} (UTC)."
    cells = [
        (u.user_id, u.model, f"{u.input_tokens:,}", f"{u.output_tokens:,}", money(u.cost))
        for u in rows
    ]
    widths = [max(len(row[i]) for row in [USAGE_HEADINGS, *cells]) for i in range(5)]
    # Names to the left, figures to the right, as a spreadsheet shows them.
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [USAGE_HEADINGS, *cells]
    )


def usage_csv(rows: Sequence[PersonUsage]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(USAGE_COLUMNS)
    for u in rows:
        cost = "" if u.cost is None else repr(u.cost)
        writer.writerow([u.user_id, u.model, u.input_tokens, u.output_tokens, cost])
    return out.getvalue().rstrip("\n")


def usage_json(rows: Sequence[PersonUsage]) -> str:
    return json.dumps(
        [dict(zip(USAGE_COLUMNS, _usage_values(u), strict=True)) for u in rows], indent=2
    )


def _usage_values(u: PersonUsage) -> tuple[str, str, int, int, float | None]:
    return (u.user_id, u.model, u.input_tokens, u.output_tokens, u.cost)


def settings_lines(stored: Sequence[tuple[str, str, StoredSettings]]) -> list[str]:
    """One line per scope: where, what is set, and who saved it."""
    return [
        f"  {scope} {key}: {settings.overrides} (saved by {settings.updated_by})"
        for scope, key, settings in stored
    ]


def money(cost: float | None) -> str:
    return UNPRICED if cost is None else f"${cost:,.4f}"


def readable_size(size: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
