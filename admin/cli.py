"""The `admin` command group: its commands read and correct a stopped or running bot's
database, and `doctor` checks its configuration and the services it reaches."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncclick as click
from dotenv import find_dotenv, load_dotenv

from admin.database import (
    EXIT_FAILED,
    NoDatabase,
    Refusal,
    Target,
    database_size,
    opened_sqlite_store,
    opened_store,
    require_file,
)
from admin.reports import (
    jobs_section,
    readable_size,
    render_sections,
    settings_lines,
    stats_sections,
    usage_csv,
    usage_json,
    usage_table,
)
from admin.scopes import is_slack_id, settings_of
from config import ConfigError, read_database_url
from storage import StoredSettings, StoreUnusable

PROGRAM = "python main.py admin"
DEFAULT_DATABASE = "data/bot.db"
DAY = timedelta(days=1)


def run(argv: list[str]) -> int:
    """The group on `argv`, in an event loop of its own; its exit status. Settings come
    from the environment and `.env`, as the bot's do."""
    load_dotenv(find_dotenv(usecwd=True))
    # What the store warns of (a database folder others can read) reaches the operator.
    logging.basicConfig(level=logging.WARNING, format="admin: %(message)s")
    try:
        asyncio.run(admin.main(args=argv, prog_name=PROGRAM))
    except SystemExit as done:
        # Click ends every run so, with its exit status.
        return done.code if isinstance(done.code, int) else EXIT_FAILED
    except KeyboardInterrupt:
        click.echo("admin: interrupted", err=True)
        return 130
    return 0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    metavar="PATH",
    envvar="DATABASE_PATH",
    default=DEFAULT_DATABASE,
    show_default=True,
    show_envvar=True,
    help="The bot's SQLite database (it may be running).",
)
@click.option(
    "--database-url",
    metavar="URL",
    envvar="DATABASE_URL",
    show_envvar=True,
    callback=lambda context, parameter, value: _database_url(value),
    help="The bot's PostgreSQL database, postgresql://…; when set, --database is not used.",
)
@click.pass_context
async def admin(context: click.Context, database: str, database_url: str | None) -> None:
    """An operator's command line over the bot's database and configuration.

    Every command works while the bot runs; only doctor needs the Slack and model
    tokens."""
    context.obj = Target(database, database_url)


def _database_url(value: str | None) -> str | None:
    """DATABASE_URL checked as the bot checks it, its problem named without its value."""
    try:
        return read_database_url({"DATABASE_URL": value or ""})
    except ConfigError as error:
        raise NoDatabase(str(error)) from None


@admin.command()
@click.pass_obj
async def stats(target: Target) -> None:
    """Threads, messages and people held, and this month's answers, tokens and cost."""
    month = _month_start()
    async with opened_store(target) as store:
        totals = await store.admin.totals(month.timestamp())
        runs = await store.jobs.job_runs()
        size = await database_size(target, store)
    # A list of sections: parts of the bot with figures of their own add theirs to it.
    sections = [*stats_sections(target.shown, size, totals, month), jobs_section(runs)]
    click.echo(render_sections(sections))


@admin.command()
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="First day counted, YYYY-MM-DD (UTC)  [default: the 1st of this month]",
)
@click.option(
    "--format",
    "shape",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.pass_obj
async def usage(target: Target, since: datetime | None, shape: str) -> None:
    """Tokens and cost per person and model, from the usage each answer recorded."""
    start = _month_start() if since is None else since.replace(tzinfo=UTC)
    async with opened_store(target) as store:
        rows = await store.admin.usage_by_person(start.timestamp())
    if shape == "csv":
        click.echo(usage_csv(rows))
    elif shape == "json":
        click.echo(usage_json(rows))
    else:
        click.echo(usage_table(rows, start))


@admin.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
async def backup(target: Target, path: Path) -> None:
    """Copy the SQLite database to PATH, consistently, while the bot runs.

    PATH must not exist. The copy is checked (SQLite's integrity check) before it is
    reported. To restore: stop the bot, copy the backup over DATABASE_PATH, start it.
    With DATABASE_URL (PostgreSQL), use pg_dump instead."""
    async with opened_sqlite_store(target, "backup") as store:
        try:
            verdict = await store.backup(path)
        except FileExistsError:
            raise Refusal(f"{path} exists already; name a new file for the backup") from None
        except OSError as error:
            raise Refusal(f"cannot write {path} ({error.strerror or error})") from None
        except sqlite3.Error as error:
            raise Refusal(f"the copy to {path} failed ({error}); nothing was kept") from None
    if verdict != "ok":
        raise Refusal(f"the copy failed SQLite's integrity check ({verdict}); nothing was kept")
    size = await asyncio.to_thread(os.path.getsize, path)
    click.echo(f"Backed up {target.path} to {path} ({readable_size(size)}, {size:,} bytes).")
    click.echo("The copy opens and passes SQLite's integrity check.")


@admin.command()
@click.option(
    "--older-than",
    "days",
    metavar="DAYS",
    type=click.IntRange(min=1),
    required=True,
    help="Remove what was stored more than DAYS days ago.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
async def purge(target: Target, days: int, yes: bool) -> None:
    """Delete conversations (turns, document text, images) older than DAYS, as the
    bot's daily retention does for RETENTION_DAYS."""
    cutoff = datetime.now(UTC) - days * DAY
    if not yes:
        await _confirm(
            f"Delete conversations stored before {cutoff:%Y-%m-%d %H:%M} UTC from {target.shown}?"
        )
    async with opened_store(target) as store:
        removed = await store.threads.purge_conversations(cutoff.timestamp())
    click.echo(f"Removed {removed:,} rows (turns, document text, images) older than {days} days.")


@admin.group()
async def settings() -> None:
    """The settings people saved for themselves, a channel or its threads."""


def _slack_id(context: click.Context, parameter: click.Parameter, value: str) -> str:
    if not is_slack_id(value):
        raise click.BadParameter("a Slack user or channel id, like U0123ABCD or C0123ABCD")
    return value


@settings.command("show")
@click.argument("slack_id", metavar="USER|CHANNEL", callback=_slack_id)
@click.pass_obj
async def settings_show(target: Target, slack_id: str) -> None:
    """Show the settings stored for a person, or for a channel and its threads."""
    async with opened_store(target) as store:
        _show_settings(slack_id, settings_of(slack_id, await store.settings.all_settings()))


@settings.command("reset")
@click.argument("slack_id", metavar="USER|CHANNEL", callback=_slack_id)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
async def settings_reset(target: Target, slack_id: str, yes: bool) -> None:
    """Delete the settings stored for a person, or for a channel and its threads."""
    async with opened_store(target) as store:
        found = settings_of(slack_id, await store.settings.all_settings())
        if not _show_settings(slack_id, found):
            return
        if not yes:
            await _confirm(f"Delete these settings of {slack_id}?")
        removed = await store.admin.delete_settings([(scope, key) for scope, key, _ in found])
    click.echo(f"Removed {removed} stored settings of {slack_id}.")
    # Every running instance looks for changed settings before each answer
    # (message_processor/preferences.py).
    click.echo("Running bots apply this from their next message.")


@admin.command("migrate-to-postgres")
@click.option(
    "--from",
    "source",
    metavar="PATH",
    help="The SQLite database to copy  [default: --database]",
)
@click.option(
    "--to",
    "to",
    metavar="URL",
    help="The PostgreSQL database to fill, postgresql://…  [default: --database-url]",
)
@click.pass_obj
async def migrate_to_postgres(target: Target, source: str | None, to: str | None) -> None:
    """Copy every table of the SQLite database into an empty PostgreSQL one.

    Stop the bot first: what it writes meanwhile is not copied. Then set DATABASE_URL
    and start the bot (as many instances as you like) on PostgreSQL."""
    from admin.migrate import TargetNotEmpty, copy_to_postgres

    sqlite = Target(source or target.path)
    postgres = Target(sqlite.path, _database_url(to) or target.url)
    if postgres.url is None:
        raise NoDatabase("name the PostgreSQL database: --to URL, or set DATABASE_URL")
    await require_file(sqlite.path)

    def progress(table: str, rows: int) -> None:
        click.echo(f"  {table:<20} {rows:>12,}")

    click.echo(f"Copying {sqlite.shown} to {postgres.shown}:")
    try:
        copied = await copy_to_postgres(sqlite.path, postgres.url, progress)
    except TargetNotEmpty:
        raise Refusal(f"{postgres.shown} holds data already; copy into an empty database") from None
    except StoreUnusable as error:
        raise Refusal(str(error)) from None
    click.echo(f"Copied {sum(copied.values()):,} rows in {len(copied)} tables.")


@admin.command()
async def doctor() -> None:
    """Check every setting, then reach Slack (both tokens), the model API and the
    browser service. Exit status 0 when all is well, 1 otherwise."""
    # Imported here: only doctor reaches the services (the model API's client alone takes
    # longer to load than the other commands take to run).
    from admin.doctor import examine

    findings = await examine(os.environ)
    click.echo("\n".join(finding.line() for finding in findings))
    if not all(finding.ok for finding in findings):
        raise click.exceptions.Exit(EXIT_FAILED)


def _show_settings(slack_id: str, found: Sequence[tuple[str, str, StoredSettings]]) -> bool:
    """Print what is stored for `slack_id`; False when nothing is."""
    if not found:
        click.echo(f"No settings stored for {slack_id}.")
        return False
    click.echo(f"Settings stored for {slack_id}:")
    click.echo("\n".join(settings_lines(found)))
    return True


async def _confirm(question: str) -> None:
    # In a thread of its own: the event loop (and the store's connection) is not held
    # while the operator reads. On stderr, so stdout holds the result alone.
    if not await click.prompt(
        f"{question} [y/N]",
        type=click.BOOL,
        default=False,
        show_default=False,
        prompt_suffix=" ",
        err=True,
        blocking=False,
    ):
        raise Refusal("nothing was changed")


def _month_start() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)
