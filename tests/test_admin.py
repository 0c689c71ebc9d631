"""`python main.py admin …` as an operator runs it: a child process over a real database,
filled by the real bot answering through the fakes, while it runs or once it stopped."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import socket
import sqlite3
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import pytest

from config import config_problems, load_config
from sandbox.model import FakeOpenAI, ImageReply, ModelReply, ModelRequest, responses_prompt
from sandbox.workspace import FakeSlack
from settings import ScopeRef
from storage import (
    Claim,
    JobRun,
    PendingApproval,
    Store,
    StoredDocument,
    StoredMessage,
    ThreadImage,
    TurnRecord,
    UsageKind,
)
from storage.postgres import PostgresStore
from storage.sqlite import SQLiteStore
from tests.botproc import APP_TOKEN, BOT_TOKEN, MAIN, OPENAI_KEY
from tests.fakes.browser_service.server import FakeBrowserService
from tests.fakes.mcp_server import FakeMcpServer
from tests.fakes.scripted_model import ScriptedAnswers
from tests.inproc import InProcessBot, bot_in_process
from tests.seen import settled, wait_for_text

BOT = "<@UBOT>"
MODEL = "gpt-4.1-mini"
# A price that makes cost a plain figure: one dollar a input token, two an output token.
PRICES = f"{MODEL}=1000000/2000000"
SERVICE_TOKEN = "browser-secret-token"
MCP_TOKEN = "mcp-doctor-token-5"
DAY = 24 * 3600.0


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


async def admin(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, answer: str = ""
) -> Ran:
    """`python main.py admin ARGS` with no token in its environment unless `env` has one,
    `answer` typed at its prompt."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(MAIN),
        "admin",
        *args,
        cwd=cwd,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(answer.encode())
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def figure(lines: list[str], label: str) -> str:
    """The value on the `stats` line labelled `label`."""
    [value] = [
        line.strip()[len(label) :].strip()
        for line in lines
        if line.strip().startswith(f"{label}  ")
    ]
    return value


def closed_port() -> int:
    """A port nothing listens on: bound, then let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def ask(slack: FakeSlack, user: str, text: str, channel: str) -> str:
    """A question in a DM, or mentioning the bot in a channel; its ts."""
    if channel.startswith("D"):
        return await slack.post_user_message(channel, user, text)
    return await slack.post_user_message(channel, user, f"{BOT} {text}")


# --------------------------------------------------------------------- stats and usage


async def test_stats_and_usage_show_what_was_answered(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    alice, bob, channel = new_id("U"), new_id("U"), new_id("C")
    slack.add_user(alice, "alice")
    slack.add_user(bob, "bob")
    asked = [(alice, new_id("D"), f"alice asks {i} {alice}") for i in range(3)]
    asked += [(bob, channel, f"bob asks {i} {bob}") for i in range(2)]
    async with bot_in_process(slack, model, tmp_path, MODEL_PRICES=PRICES):
        for user, where, text in asked:
            ts = await ask(slack, user, text, where)
            await wait_for_text(slack, where, ts, text)
    database = str(tmp_path / "bot.db")

    # What the model reported for these questions, as the fake computes it.
    spent = {alice: [0, 0], bob: [0, 0]}
    for request in model.requests:
        prompt = responses_prompt(request.body)
        for user, _, text in asked:
            if text in prompt.last_user_text:
                spent[user][0] += prompt.input_tokens
                spent[user][1] += len(f"Answer to: {prompt.last_user_text}") // 4 + 1

    stats = await admin("--database", database, "stats", cwd=tmp_path)
    assert stats.code == 0, stats
    assert stats.lines[0].startswith(f"Database {database} (")
    assert figure(stats.lines, "Threads") == "5"  # each question starts a thread
    assert figure(stats.lines, "Messages") == "10"  # five questions, five answers
    assert figure(stats.lines, "People") == "2"
    assert any(line.startswith("This month (UTC, since ") for line in stats.lines)
    assert figure(stats.lines, "Answers") == "5"
    tokens_in = spent[alice][0] + spent[bob][0]
    tokens_out = spent[alice][1] + spent[bob][1]
    assert figure(stats.lines, "Input tokens") == f"{tokens_in:,}"
    assert figure(stats.lines, "Output tokens") == f"{tokens_out:,}"
    assert figure(stats.lines, "Cost") == f"${tokens_in + 2 * tokens_out:,.4f}"
    # The bot's retention job ran at its start, and is shown with its outcome.
    assert "Background jobs (latest run of each)" in stats.lines
    assert re.fullmatch(
        r"ok at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, took \d+\.\d\d s; runs every 1 day",
        figure(stats.lines, "retention"),
    )

    as_csv = await admin("--database", database, "usage", "--format", "csv", cwd=tmp_path)
    assert as_csv.code == 0, as_csv
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert as_csv.lines[0] == "user_id,model,input_tokens,output_tokens,cost"
    expected = [
        {
            "user_id": user,
            "model": MODEL,
            "input_tokens": str(spent[user][0]),
            "output_tokens": str(spent[user][1]),
            "cost": repr(float(spent[user][0] + 2 * spent[user][1])),
        }
        for user in sorted(spent)
    ]
    assert rows == expected

    as_json = await admin(
        "--database", database, "usage", "--since", "2000-01-01", "--format", "json", cwd=tmp_path
    )
    assert as_json.code == 0, as_json
    assert json.loads(as_json.out) == [
        {
            "user_id": user,
            "model": MODEL,
            "input_tokens": spent[user][0],
            "output_tokens": spent[user][1],
            "cost": float(spent[user][0] + 2 * spent[user][1]),
        }
        for user in sorted(spent)
    ]

    table = await admin("--database", database, "usage", cwd=tmp_path)
    assert table.lines[0].split() == [
        "person",
        "model",
        "input",
        "tokens",
        "output",
        "tokens",
        "cost",
    ]
    assert [line.split()[:2] for line in table.lines[1:]] == [[u, MODEL] for u in sorted(spent)]

    # From a day still to come: nothing.
    later = await admin("--database", database, "usage", "--since", "2999-01-01", cwd=tmp_path)
    assert later.lines == ["No usage since 2999-01-01 (UTC)."]


# -------------------------------------------------------------------- backup in a burst

HELD = "held back"


class HeldBack:
    """The tests' model, keeping answers to questions that say HELD until released."""

    def __init__(self) -> None:
        self.scripted = ScriptedAnswers()
        self.released = asyncio.Event()

    async def model_reply(self, request: ModelRequest) -> ModelReply:
        if HELD in request.prompt.last_user_text:
            await self.released.wait()
        return await self.scripted.model_reply(request)

    async def image_reply(self, prompt: str) -> ImageReply:
        return await self.scripted.image_reply(prompt)


def finished(slack: FakeSlack, running: InProcessBot, channel: str, ts: str) -> bool:
    """Shown whole in Slack, and stored: the bot stores an answer just after Slack shows
    it (ARCHITECTURE.md §1) and logs "answered" once it has."""
    logged = f"answered channel={channel} thread={ts} "
    return settled(slack, channel, ts) and any(logged in line for line in running.output)


async def test_a_backup_taken_during_a_burst_holds_every_answer_finished_before_it(
    slack: FakeSlack, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    held_back = HeldBack()
    model = FakeOpenAI(held_back, api_key=OPENAI_KEY)
    await model.start()
    copy = tmp_path / "backup" / "copy.db"
    copy.parent.mkdir()
    try:
        async with bot_in_process(slack, model, tmp_path) as running:
            questions: list[tuple[str, str]] = []
            for i in range(60):
                dm, user = new_id("D"), new_id("U")
                # Half answer after a growing delay, half once released and streamed
                # over a few seconds: the bot goes on writing while the copy is taken.
                text = (
                    f"[delay:{0.05 * i:.2f}] burst {i}"
                    if i % 2 == 0
                    else f"[chunks:10][chunk_delay:0.2] {HELD} {i}"
                )
                questions.append((dm, await slack.post_user_message(dm, user, text)))
            for dm, ts in questions[0:20:2]:  # the ten quickest
                await wait_for_text(slack, dm, ts, "Answer to:")
                await running.wait_for_output(f"answered channel={dm} thread={ts} ")
            before = [(dm, ts) for dm, ts in questions if finished(slack, running, dm, ts)]

            taking = asyncio.create_task(
                admin("--database", str(tmp_path / "bot.db"), "backup", str(copy), cwd=tmp_path)
            )
            held_back.released.set()  # thirty answers are written while it copies
            taken = await taking
            for dm, ts in questions:
                await wait_for_text(slack, dm, ts, "Answer to:")
    finally:
        await model.stop()

    assert taken.code == 0, taken
    assert taken.lines[0].startswith(f"Backed up {tmp_path / 'bot.db'} to {copy} (")
    assert taken.lines[1] == "The copy opens and passes SQLite's integrity check."
    assert len(before) >= 10
    store = await SQLiteStore.open(str(copy))
    try:
        for dm, ts in before:
            answers = [
                m
                for m in (await store.threads.load_thread(dm, ts)).messages
                if m.role == "assistant"
            ]
            assert [m.ts for m in answers] == [ts], (dm, ts)
            assert answers[0].text.startswith("Answer to:")
    finally:
        await store.close()

    again = await admin("--database", str(tmp_path / "bot.db"), "backup", str(copy), cwd=tmp_path)
    assert again.code == 1
    assert again.err.splitlines() == [
        f"admin: {copy} exists already; name a new file for the backup"
    ]


# ------------------------------------------------------------------------------ purge


async def test_purge_removes_conversations_older_than_asked_and_asks_first(
    tmp_path: Path,
) -> None:
    database = tmp_path / "bot.db"
    store = await SQLiteStore.open(str(database))
    try:
        for thread in ("1.0", "2.0"):
            await store.threads.add_message("C1", thread, thread, "user", "U1", "q", outside=False)
            answer = StoredMessage(thread, "assistant", None, f"answer {thread}", outside=False)
            await store.threads.record_turn("C1", thread, TurnRecord(answer=answer))
    finally:
        await store.close()
    # The first conversation took place forty days ago.
    async with aiosqlite.connect(database) as db:
        await db.execute(
            "UPDATE messages SET created_at = created_at - ? WHERE thread_ts = '1.0'", (40 * DAY,)
        )
        await db.commit()

    declined = await admin(
        "--database", str(database), "purge", "--older-than", "30", cwd=tmp_path, answer="n\n"
    )
    assert declined.code == 1
    assert declined.out == ""
    assert declined.err.startswith("Delete conversations stored before ")
    assert declined.err.endswith("? [y/N] admin: nothing was changed\n")

    purged = await admin(
        "--database", str(database), "purge", "--older-than", "30", cwd=tmp_path, answer="y\n"
    )
    assert purged.code == 0, purged
    assert purged.lines == ["Removed 2 rows (turns, document text, images) older than 30 days."]

    store = await SQLiteStore.open(str(database))
    try:
        assert (await store.threads.load_thread("C1", "1.0")).messages == []
        kept = (await store.threads.load_thread("C1", "2.0")).messages
        assert [m.text for m in kept] == ["q", "answer 2.0"]
    finally:
        await store.close()

    nothing = await admin(
        "--database", str(database), "purge", "--older-than", "30", "--yes", cwd=tmp_path
    )
    assert nothing.lines == ["Removed 0 rows (turns, document text, images) older than 30 days."]


# ---------------------------------------------------------------------------- settings


async def test_settings_of_a_person_and_of_a_channel_are_shown_and_reset(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    saved = {
        ScopeRef.user("U0PERSON"): '{"model": "gpt-4.1"}',
        ScopeRef.user("U0OTHER"): '{"verbosity": "low"}',
        ScopeRef.channel("C0ROOM"): '{"web_search": false}',
        ScopeRef.thread("C0ROOM", "17.5"): '{"instructions": "be brief"}',
        ScopeRef.thread("C0ELSEWHERE", "18.5"): '{"instructions": "be long"}',
    }
    store = await SQLiteStore.open(str(database))
    try:
        for scope, overrides in saved.items():
            await store.settings.save_settings(scope.kind.value, scope.key, overrides, "U0ADMIN")
    finally:
        await store.close()
    where = ("--database", str(database), "settings")

    person = await admin(*where, "show", "U0PERSON", cwd=tmp_path)
    assert person.lines == [
        "Settings stored for U0PERSON:",
        '  user U0PERSON: {"model": "gpt-4.1"} (saved by U0ADMIN)',
    ]
    room = await admin(*where, "show", "C0ROOM", cwd=tmp_path)
    assert room.lines == [
        "Settings stored for C0ROOM:",
        '  channel C0ROOM: {"web_search": false} (saved by U0ADMIN)',
        '  thread C0ROOM/17.5: {"instructions": "be brief"} (saved by U0ADMIN)',
    ]

    reset_room = await admin(*where, "reset", "C0ROOM", "--yes", cwd=tmp_path)
    assert reset_room.code == 0, reset_room
    assert reset_room.lines[-2:] == [
        "Removed 2 stored settings of C0ROOM.",
        "Running bots apply this from their next message.",
    ]
    reset_person = await admin(*where, "reset", "U0PERSON", cwd=tmp_path, answer="y\n")
    assert reset_person.code == 0, reset_person
    assert "Removed 1 stored settings of U0PERSON." in reset_person.lines

    for gone in ("C0ROOM", "U0PERSON"):
        shown = await admin(*where, "show", gone, cwd=tmp_path)
        assert shown.lines == [f"No settings stored for {gone}."]
    assert (await admin(*where, "show", "U0OTHER", cwd=tmp_path)).lines[1:] == [
        '  user U0OTHER: {"verbosity": "low"} (saved by U0ADMIN)'
    ]
    assert len((await admin(*where, "show", "C0ELSEWHERE", cwd=tmp_path)).lines) == 2

    not_an_id = await admin(*where, "show", "general", cwd=tmp_path)
    assert not_an_id.code == 2
    assert "a Slack user or channel id, like U0123ABCD or C0123ABCD" in not_an_id.err


# ------------------------------------------------------------------------------ doctor


def doctor_environment(slack: FakeSlack, **settings: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "OPENAI_API_KEY": OPENAI_KEY,
        "SLACK_API_URL": slack.api_url,
        "OPENAI_MODEL": MODEL,
        **settings,
    }


async def test_doctor_names_each_problem_on_its_own_line(slack: FakeSlack, tmp_path: Path) -> None:
    model_port, service_port, mcp_port = closed_port(), closed_port(), closed_port()
    wrong = "xoxb-not-the-workspaces-token"
    env = doctor_environment(
        slack,
        SLACK_BOT_TOKEN=wrong,
        OPENAI_BASE_URL=f"http://127.0.0.1:{model_port}/v1",
        BROWSER_SERVICE_URL=f"http://127.0.0.1:{service_port}",
        BROWSER_SERVICE_TOKEN=SERVICE_TOKEN,
        MCP_SERVERS=f"docs=http://127.0.0.1:{mcp_port}/mcp",
        MCP_TOKEN_DOCS=MCP_TOKEN,
    )
    ran = await admin("doctor", cwd=tmp_path, env=env)
    assert ran.code == 1, ran
    assert ran.lines[0] == "ok   configuration: every setting is valid"
    assert "FAIL Slack bot token: refused (invalid_auth)" in ran.lines
    assert "ok   Slack app token: Socket Mode connections can be opened" in ran.lines
    assert (
        f"FAIL model API: cannot connect to 127.0.0.1:{model_port} (connection refused)"
        in ran.lines
    )
    assert (
        f"FAIL browser service: not reachable at http://127.0.0.1:{service_port}"
        " (connection refused)"
    ) in ran.lines
    assert "FAIL MCP server docs: cannot connect (connection refused)" in ran.lines
    assert len(ran.lines) == 6
    secrets = (wrong, APP_TOKEN, OPENAI_KEY, SERVICE_TOKEN, MCP_TOKEN, "xoxb-", "xapp-", "sk-")
    for secret in secrets:
        assert secret not in ran.out + ran.err


async def test_doctor_asks_for_no_socket_in_http_mode(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path
) -> None:
    env = doctor_environment(
        slack,
        OPENAI_BASE_URL=model.base_url,
        SLACK_MODE="http",
        SLACK_SIGNING_SECRET="doctor-signing-secret",
    )
    del env["SLACK_APP_TOKEN"]
    opened = len(slack.calls_to("apps.connections.open"))
    ran = await admin("doctor", cwd=tmp_path, env=env)
    assert "ok   Slack app token: not used in HTTP mode (SLACK_MODE=http)" in ran.lines, ran
    assert len(slack.calls_to("apps.connections.open")) == opened
    assert "doctor-signing-secret" not in ran.out + ran.err


async def test_doctor_lists_every_configuration_problem(tmp_path: Path) -> None:
    env = {
        "SLACK_APP_TOKEN": "not-an-app-token",
        "OPENAI_API_KEY": OPENAI_KEY,
        "MAX_CONCURRENT_REQUESTS": "none",
        "LOG_LEVEL": "LOUD",
    }
    ran = await admin("doctor", cwd=tmp_path, env=env)
    assert ran.code == 1
    assert ran.lines == [
        "FAIL configuration: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR",
        "FAIL configuration: SLACK_BOT_TOKEN is not set",
        "FAIL configuration: SLACK_APP_TOKEN must start with 'xapp-'",
        "FAIL configuration: MAX_CONCURRENT_REQUESTS must be a whole number",
        "skip Slack bot token: fix the configuration first",
        "skip Slack app token: fix the configuration first",
        "skip model API: fix the configuration first",
        "skip browser service: fix the configuration first",
    ]
    # The bot's own start still names the first of them, as it always did.
    assert config_problems(env)[0] == "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"
    with pytest.raises(Exception, match="LOG_LEVEL"):
        load_config(env)
    assert not ran.err


async def test_doctor_is_all_ok_against_working_services(
    slack: FakeSlack, model: FakeOpenAI, tmp_path: Path
) -> None:
    service = FakeBrowserService(token=SERVICE_TOKEN)
    await service.start()
    mcp = FakeMcpServer(token=MCP_TOKEN)
    await mcp.start()
    try:
        env = doctor_environment(slack, OPENAI_BASE_URL=model.base_url)
        with_service = {
            **env,
            "BROWSER_SERVICE_URL": service.base_url,
            "BROWSER_SERVICE_TOKEN": SERVICE_TOKEN,
            "MCP_SERVERS": f"docs={mcp.url}",
            "MCP_TOKEN_DOCS": MCP_TOKEN,
        }
        ran, without = await asyncio.gather(
            admin("doctor", cwd=tmp_path, env=with_service), admin("doctor", cwd=tmp_path, env=env)
        )
    finally:
        await service.stop()
        await mcp.stop()
    assert ran.code == 0, ran
    assert [line[:5] for line in ran.lines] == ["ok   "] * 6, ran.out
    assert "ok   MCP server docs: answers, 3 allowed tools" in ran.lines
    assert "ok   Slack bot token: works as @assistant in workspace Test Team" in ran.lines
    assert any(line.startswith("ok   model API: ") and MODEL in line for line in ran.lines)
    assert [r.authorization for r in service.requests if r.path == "/status"] == [
        f"Bearer {SERVICE_TOKEN}"
    ]
    assert without.code == 0, without
    assert without.lines[-1] == "skip browser service: BROWSER_SERVICE_URL not set"
    for secret in (BOT_TOKEN, APP_TOKEN, OPENAI_KEY, SERVICE_TOKEN, MCP_TOKEN):
        assert secret not in ran.out + ran.err + without.out


# ------------------------------------------------------------------ help and no database

COMMANDS = [
    [],
    ["stats"],
    ["usage"],
    ["backup"],
    ["purge"],
    ["settings"],
    ["settings", "show"],
    ["settings", "reset"],
    ["doctor"],
    ["migrate-to-postgres"],
]


async def test_every_command_has_help(tmp_path: Path) -> None:
    helped = await asyncio.gather(
        *(admin(*command, "--help", cwd=tmp_path) for command in COMMANDS)
    )
    for command, ran in zip(COMMANDS, helped, strict=True):
        assert ran.code == 0, ran
        assert ran.lines[0].startswith(" ".join(["Usage: python main.py admin", *command])), ran.out
        assert len(ran.lines) > 3


async def test_a_missing_database_is_one_line_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bot.db"
    runs = [
        ["stats"],
        ["usage", "--format", "csv"],
        ["backup", str(tmp_path / "copy.db")],
        ["purge", "--older-than", "9", "--yes"],
        ["settings", "show", "U0123ABCD"],
        ["settings", "reset", "C0123ABCD", "--yes"],
    ]
    results = await asyncio.gather(
        *(admin(*run, cwd=tmp_path, env={"DATABASE_PATH": str(missing)}) for run in runs)
    )
    for ran in results:
        assert ran.code == 2, ran
        assert ran.out == ""
        assert ran.err.splitlines() == [
            f"admin: no database at {missing} (set DATABASE_PATH or pass --database)"
        ]
    # The default, data/bot.db, from where the command runs.
    default = await admin("stats", cwd=tmp_path)
    assert default.err.splitlines() == [
        "admin: no database at data/bot.db (set DATABASE_PATH or pass --database)"
    ]
    assert not missing.parent.exists() and not (tmp_path / "data").exists()
    assert not (tmp_path / "copy.db").exists()


async def test_a_database_of_a_newer_bot_is_refused_in_one_line(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 999")
    ran = await admin("--database", str(newer), "stats", cwd=tmp_path)
    assert ran.code == 1
    [line] = ran.err.splitlines()
    assert line.startswith(f"admin: the database at {newer} has schema version 999, newer than")


# ------------------------------------------------------------------ on PostgreSQL

PG_PASSWORD = "pg-Pa55word-never-shown"


def _with_password(url: str) -> str:
    """`url` as root with PG_PASSWORD (the test server trusts local connections, so any
    password does: what matters is that no output shows it)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://root:{PG_PASSWORD}@{rest.rpartition('@')[2]}"


async def _fill(store: Store) -> None:
    """A bit of everything the bot keeps, written as the bot writes it."""
    threads = store.threads
    await threads.join_thread("C1", "1.0")
    await threads.add_assistant_thread("D1", "5.0")
    await threads.claim_context_notice("C1", "1.0")
    await threads.add_message("C1", "1.0", "1.0", "user", "U1", "what is it?", outside=False)
    await threads.record_turn(
        "C1",
        "1.0",
        TurnRecord(
            documents=[StoredDocument("F1", "1.0", "a.txt", "text of a")],
            images=[
                ThreadImage("F2", "2.0", "user", "b.png"),
                ThreadImage("F3", "3.0", "assistant", "c"),
            ],
            answer=StoredMessage("1.0", "assistant", None, "this", outside=True),
        ),
    )
    for ts in ("4.0", "6.0", "7.0"):
        await threads.add_message("D1", ts, ts, "user", "U2", f"dm {ts}", outside=False)
    await threads.reset_conversation("D1", "U2", "5.0")
    await store.settings.save_settings("user", "U1", '{"model": "a"}', "U1")
    await store.settings.save_settings("channel", "C1", '{"web_search": false}', "UADMIN")
    await store.people.first_contact("U1")
    await store.usage.record_usage("U1", MODEL, 10, 5, cost=0.5, channel="C1", question_ts="1.0")
    await store.usage.record_usage("U2", "other", 7, 3)
    await store.usage.record_image(
        "U1", "painter", UsageKind.IMAGE_EDIT, cost=0.25, channel="C1", question_ts="1.0", at=9.0
    )
    await store.feedback.record_feedback("C1", "1.0", "U1", "good")
    await store.approvals.add_approval(
        PendingApproval("A1", "U1", "C1", "1.0", "2.0", "send", "{}", "POST /send", 99.0)
    )
    await store.jobs.record_job_run(JobRun("retention", 86400.0, 10.0, 0.5, "ok"))
    # An answer under way when the SQLite bot stopped: reported after the move.
    assert await store.events.claim_event(["event:E8"], Claim("C1", "8.0", "8.0", "U1"))
    await store.inflight.add_inflight("C1", "8.1", "8.0", "U1", "writing")


async def _read(store: Store) -> tuple[object, ...]:
    """Everything `_fill` wrote, as the bot reads it back."""
    return (
        await store.threads.load_thread("C1", "1.0"),
        await store.threads.has_joined_thread("C1", "1.0"),
        await store.threads.is_assistant_thread("D1", "5.0"),
        await store.threads.claim_context_notice("C1", "1.0"),
        await store.threads.conversation_since("D1", "U2", "9.0", 10),
        await store.settings.all_settings(),
        await store.people.first_contact("U1"),
        await store.usage.usage_by_model(None, 0),
        await store.usage.images_since("U1", 0),
        await store.admin.totals(0),
        await store.admin.usage_by_person(0),
        await store.feedback.feedback_counts(0),
        await store.approvals.pending_approvals(),
        await store.jobs.job_runs(),
        await store.inflight.adopt_orphans(),
    )


@pytest.mark.postgres
async def test_a_sqlite_database_moved_to_postgres_reads_back_the_same(
    tmp_path: Path, postgres_url: str
) -> None:
    database = tmp_path / "bot.db"
    source = await SQLiteStore.open(str(database))
    try:
        await _fill(source)
    finally:
        await source.close()
    target = _with_password(postgres_url)

    moved = await admin(
        "migrate-to-postgres", "--from", str(database), "--to", target, cwd=tmp_path
    )
    assert moved.code == 0, moved
    assert PG_PASSWORD not in moved.out + moved.err
    counts = {line.split()[0]: line.split()[1] for line in moved.lines[1:-1]}
    assert counts["messages"] == "5" and counts["usage"] == "3" and counts["approvals"] == "1"
    assert moved.lines[-1] == f"Copied {sum(int(n) for n in counts.values())} rows in 15 tables."

    # Read on copies of one another: reading adopts orphans, which changes what is read.
    postgres = await PostgresStore.open(postgres_url)
    sqlite = await SQLiteStore.open(str(database))
    try:
        assert await _read(postgres) == await _read(sqlite)
        # New rows take ids after the copied ones.
        await postgres.threads.add_message("C1", "1.0", "9.0", "user", "U1", "more")
        assert (await postgres.threads.load_thread("C1", "1.0")).messages[-1].text == "more"
    finally:
        await postgres.close()
        await sqlite.close()

    # Into a database that holds data already: refused, and nothing is written.
    again = await admin(
        "--database",
        str(database),
        "migrate-to-postgres",
        cwd=tmp_path,
        env={"DATABASE_URL": target},
    )
    assert again.code == 1
    assert again.err.splitlines()[-1].endswith("holds data already; copy into an empty database")
    assert PG_PASSWORD not in again.out + again.err


@pytest.mark.postgres
async def test_admin_commands_work_on_postgres_and_backup_points_to_pg_dump(
    tmp_path: Path, postgres_url: str
) -> None:
    store = await PostgresStore.open(postgres_url)
    try:
        await _fill(store)
    finally:
        await store.close()
    env = {"DATABASE_URL": _with_password(postgres_url)}

    stats = await admin("stats", cwd=tmp_path, env=env)
    assert stats.code == 0, stats
    assert stats.lines[0].startswith(f"Database {postgres_url} (")
    assert figure(stats.lines, "Messages") == "5"
    usage = await admin("usage", "--since", "1970-01-01", "--format", "csv", cwd=tmp_path, env=env)
    assert usage.code == 0, usage
    assert len(list(csv.reader(io.StringIO(usage.out)))) == 4  # a header and three rows
    backup = await admin("backup", str(tmp_path / "copy.db"), cwd=tmp_path, env=env)
    assert backup.code == 2
    assert backup.err.splitlines() == [
        "admin: backup copies the SQLite file, and DATABASE_URL selects PostgreSQL:"
        " back it up with pg_dump"
    ]
    for ran in (stats, usage, backup):
        assert PG_PASSWORD not in ran.out + ran.err


async def test_a_database_url_of_another_kind_is_refused_in_one_line(tmp_path: Path) -> None:
    ran = await admin("stats", cwd=tmp_path, env={"DATABASE_URL": "mysql://u:secret@db/bot"})
    assert ran.code == 2
    assert ran.err.splitlines() == [
        "admin: DATABASE_URL must be a URL starting with postgresql:// or postgres://"
    ]
