"""The storage protocols, run against every store: a new store is a new param of the
`stores` fixture here (SQLite, and PostgreSQL: see tests/postgres.py).

What holds for one process holds across processes sharing the store: a second store
object opened on the same place stands in for another process that runs, and a child
process that opens the store and is killed stands for one that crashed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import pytest

from storage import (
    Claim,
    JobRun,
    Owner,
    PendingApproval,
    PersonUsage,
    Store,
    StoredDocument,
    StoredMessage,
    StoredSettings,
    StoreUnusable,
    ThreadImage,
    ThreadRecord,
    Totals,
    TurnRecord,
    UsageKind,
)
from storage.postgres import PostgresStore
from storage.sqlite import SQLiteStore
from storage.sqlite.migrations import BEFORE_NAMES, MIGRATIONS, migrate
from tests.botproc import REPO

CLAIM = Claim(channel="C1", ts="1.0", thread_ts="1.0", user_id="U1")

# How soon a PostgreSQL owner that stopped beating counts as gone here, and how often
# the stores and children of these tests beat: a crash is seen within a second or so.
OWNER_TIMEOUT = 1.0
BEAT = 0.1

# A process of its own that opens the store, takes on the message at `ts` and starts its
# reply, then waits to be killed (renewing its heartbeat, as the bot does, meanwhile).
CHILD = """
import asyncio, sys
from storage import Claim

async def opened(kind, place):
    if kind == "sqlite":
        from storage.sqlite import SQLiteStore
        return await SQLiteStore.open(place)
    from storage.postgres import PostgresStore
    return await PostgresStore.open(place, max_size=2)

async def main(kind, place, ts):
    store = await opened(kind, place)
    await store.events.claim_event([f"event:{ts}"], Claim("C1", ts, ts, "U1"))
    await store.inflight.add_inflight("C1", ts + "1", ts, "U1", "writing")
    print("answering", flush=True)
    while True:
        await store.coordination.heartbeat()
        await asyncio.sleep(BEAT)

asyncio.run(main(*sys.argv[1:]))
""".replace("BEAT", repr(BEAT))


@dataclass
class Stores:
    """Stores opened on one shared place (a SQLite file, a PostgreSQL database); all
    closed at the end. A PostgreSQL store opened here beats as a running bot does."""

    kind: str
    place: str
    opened: list[Store]
    children: list[asyncio.subprocess.Process]
    beating: list[asyncio.Task[None]]

    async def open(self, owner: Owner | None = None) -> Store:
        store: Store
        if self.kind == "sqlite":
            store = await SQLiteStore.open(self.place, owner)
        else:
            store = await PostgresStore.open(
                self.place, owner, max_size=3, owner_timeout=OWNER_TIMEOUT
            )
            self.beating.append(asyncio.create_task(_beat(store)))
        self.opened.append(store)
        return store

    async def answering_elsewhere(self, ts: str) -> asyncio.subprocess.Process:
        """Another process, answering the message at `ts`."""
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            self.kind,
            self.place,
            ts,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
        )
        self.children.append(child)
        assert child.stdout is not None
        assert await child.stdout.readline() == b"answering\n"
        return child

    async def crashed(self, child: asyncio.subprocess.Process) -> None:
        """`child` is killed, and others can tell: at once with SQLite (its lock is
        dropped), once its heartbeat is too old with PostgreSQL."""
        child.kill()
        await child.wait()
        if self.kind == "postgres":
            await asyncio.sleep(OWNER_TIMEOUT + 2 * BEAT)


async def _beat(store: Store) -> None:
    """Until the store is closed."""
    with contextlib.suppress(StoreUnusable):
        while True:
            await store.coordination.heartbeat()
            await asyncio.sleep(BEAT)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Which store, and where: a file, or a database of this test's own."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "bot.db")
    return "postgres", str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def stores(place: tuple[str, str]) -> AsyncIterator[Stores]:
    opened = Stores(*place, [], [], [])
    yield opened
    for child in opened.children:
        if child.returncode is None:
            child.kill()
            await child.wait()
    for store in opened.opened:
        await store.close()
    for beating in opened.beating:
        beating.cancel()


async def test_an_event_is_claimed_once_across_reopening(stores: Stores) -> None:
    store = await stores.open()
    assert await store.events.claim_event(["msg:C1:1.0", "event:Ev1"], CLAIM)
    assert not await store.events.claim_event(["msg:C1:1.0", "event:Ev2"], CLAIM)
    await store.close()
    again = await stores.open()
    assert not await again.events.claim_event(["event:Ev1"], CLAIM)
    assert await again.events.claim_event(["event:Ev3"], CLAIM)


async def test_concurrent_claims_are_decided_one_by_one(stores: Stores) -> None:
    """Claims committed together still let exactly one delivery of each message win."""
    events = (await stores.open()).events
    assert await events.claim_event(["event:Ev0"], CLAIM)
    claims = [[f"msg:C1:{i}.0", f"event:Ev{i}"] for i in range(40)]
    redeliveries = [[f"msg:C1:{i}.0", f"event:Ev{i}b"] for i in range(40)]
    won = await asyncio.gather(*(events.claim_event(keys, CLAIM) for keys in claims + redeliveries))
    assert won[:40] == [False] + [True] * 39
    assert won[40:] == [False] * 40


async def test_two_processes_racing_for_one_event_let_one_win(stores: Stores) -> None:
    first, second = await stores.open(), await stores.open(Owner.new())
    won = await asyncio.gather(
        first.events.claim_event(["event:Race"], CLAIM),
        second.events.claim_event(["event:Race"], CLAIM),
    )
    assert sorted(won) == [False, True]


async def test_a_cancelled_writer_does_not_cancel_the_others(stores: Stores) -> None:
    threads = (await stores.open()).threads
    writes = [
        asyncio.create_task(threads.add_message("C1", "1.0", f"{i}.0", "user", "U1", f"m{i}"))
        for i in range(10)
    ]
    await asyncio.sleep(0)
    writes[3].cancel()
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(results[3], asyncio.CancelledError)
    assert [r for i, r in enumerate(results) if i != 3] == [None] * 9
    stored = (await threads.load_thread("C1", "1.0")).messages
    assert [m.text for m in stored] == [f"m{i}" for i in range(10)]


async def test_context_notice_is_claimed_once(stores: Stores) -> None:
    threads = (await stores.open()).threads
    await threads.join_thread("C1", "1.0")
    assert await threads.has_joined_thread("C1", "1.0")
    assert not await threads.has_joined_thread("C1", "2.0")
    assert await threads.claim_context_notice("C1", "1.0")
    assert not await threads.claim_context_notice("C1", "1.0")


async def test_a_thread_keeps_its_turns_documents_and_numbered_images(
    stores: Stores,
) -> None:
    threads = (await stores.open()).threads
    assert await threads.load_thread("C1", "1.0") == ThreadRecord()
    await threads.add_message("C1", "1.0", "1.0", "user", "U1", "hi", outside=False)
    second = ThreadImage("F3", "3.0", "assistant", "a cat")
    await threads.record_turn(
        "C1",
        "1.0",
        TurnRecord(
            documents=[StoredDocument("F1", "1.0", "a.txt", "text of a")],
            images=[second],
            answer=StoredMessage("1.0", "assistant", None, "hello", outside=True),
        ),
    )
    # A later answer: an image posted earlier joins the list, one listed already does not
    # move, a document read again replaces its text.
    await threads.record_turn(
        "C1",
        "1.0",
        TurnRecord(
            documents=[StoredDocument("F1", "1.0", "a.txt", "text of a, again")],
            images=[ThreadImage("F2", "2.0", "user", "b.png (attached)"), second],
        ),
    )
    record = await threads.load_thread("C1", "1.0")
    assert [(m.role, m.text, m.outside) for m in record.messages] == [
        ("user", "hi", False),
        ("assistant", "hello", True),
    ]
    assert await threads.answered_in_thread("C1", "1.0", "U1")
    assert not await threads.answered_in_thread("C1", "1.0", "U2")
    assert [d.text for d in record.documents] == ["text of a, again"]
    # Numbered in the order posted; one listed twice keeps its place.
    assert [i.file_id for i in record.images] == ["F2", "F3"]
    assert await threads.load_thread("C1", "2.0") == ThreadRecord()


async def test_a_dm_conversation_starts_after_its_reset(stores: Stores) -> None:
    threads = (await stores.open()).threads
    for ts in ("1.0", "2.0", "3.0", "4.0"):
        await threads.add_message("D1", ts, ts, "user", "U1", f"q{ts}")
    await threads.reset_conversation("D1", "U1", "1.5")
    since = await threads.conversation_since("D1", "U1", "4.0", limit=10)
    assert [m.text for m in since] == ["q2.0", "q3.0"]
    assert [m.text for m in await threads.conversation_since("D1", "U1", "4.0", limit=1)] == [
        "q3.0"
    ]


async def test_usage_is_counted_by_model_and_kind(stores: Stores) -> None:
    usage = (await stores.open()).usage
    await usage.record_usage("U1", "small", 10, 5, cost=0.5)
    await usage.record_usage("U1", "large", 100, 50)
    await usage.record_usage("U2", "small", 1, 1, cost=0.25)
    for kind in (UsageKind.IMAGE_GENERATION, UsageKind.IMAGE_EDIT):
        await usage.record_image(
            "U1", "painter", kind, cost=0.1, channel="C1", question_ts="1.0", at=time.time()
        )
    mine = await usage.usage_by_model("U1", since=0)
    assert [(u.model, u.kind, u.answers) for u in mine] == [
        ("large", UsageKind.ANSWER, 1),
        ("small", UsageKind.ANSWER, 1),
        ("painter", UsageKind.IMAGE_GENERATION, 1),
        ("painter", UsageKind.IMAGE_EDIT, 1),
    ]
    assert mine[0].cost is None and mine[1].cost == 0.5
    everyone = await usage.usage_by_model(None, since=0)
    assert [u.input_tokens for u in everyone if u.model == "small"] == [11]
    assert await usage.images_since("U1", 0) == 2
    assert await usage.images_since("U2", 0) == 0


async def test_settings_people_and_feedback(stores: Stores) -> None:
    store = await stores.open()
    await store.settings.save_settings("user", "U1", '{"model": "a"}', "U1")
    await store.settings.save_settings("user", "U1", '{"model": "b"}', "UADMIN")
    stored = await store.settings.all_settings()
    assert stored[("user", "U1")].overrides == '{"model": "b"}'
    assert stored[("user", "U1")].updated_by == "UADMIN"
    assert await store.people.first_contact("U1")
    assert not await store.people.first_contact("U1")
    await store.feedback.record_feedback("C1", "1.0", "U1", "good")
    await store.feedback.record_feedback("C1", "1.0", "U1", "bad")
    await store.feedback.record_feedback("C1", "1.0", "U2", "bad")
    assert await store.feedback.feedback_counts(since=0) == {"bad": 2}


async def test_only_what_gone_processes_left_is_recovered_and_only_once(
    stores: Stores,
) -> None:
    """The claims and replies of a process that crashed are taken over by exactly one of
    the processes that run, never those of a process still running nor its own."""
    running = await stores.answering_elsewhere("1.0")
    await stores.crashed(await stores.answering_elsewhere("2.0"))
    me, neighbour = await stores.open(), await stores.open(Owner.new())
    assert await me.events.claim_event(["event:3.0"], Claim("C1", "3.0", "3.0", "U1"))
    await me.inflight.add_inflight("C1", "3.01", "3.0", "U1", "writing")

    adopted = await asyncio.gather(me.inflight.adopt_orphans(), neighbour.inflight.adopt_orphans())
    assert sorted(c.ts for found in adopted for c in found.claims) == ["2.0"]
    assert [(r.message_ts, r.shows) for found in adopted for r in found.replies] == [
        ("2.01", "writing")
    ]
    for store, found in zip((me, neighbour), adopted, strict=True):
        await store.inflight.release(found)
    assert (await me.inflight.adopt_orphans()).claims == []

    # Once it has crashed too, what it left is recovered, and nothing of ours.
    await stores.crashed(running)
    assert [c.ts for c in (await neighbour.inflight.adopt_orphans()).claims] == ["1.0"]


async def test_what_a_process_took_over_goes_on_to_another_if_it_dies_before_reporting(
    stores: Stores,
) -> None:
    await stores.crashed(await stores.answering_elsewhere("1.0"))
    first = await stores.open(Owner.new())
    assert [c.ts for c in (await first.inflight.adopt_orphans()).claims] == ["1.0"]
    second = await stores.open()
    assert (await second.inflight.adopt_orphans()).claims == []  # the first runs
    await first.close()  # as the first dies, having reported nothing
    assert [c.ts for c in (await second.inflight.adopt_orphans()).claims] == ["1.0"]


async def test_a_finished_reply_and_a_closed_process_leave_no_orphans(stores: Stores) -> None:
    other = await stores.open(Owner.new())
    assert await other.events.claim_event(["event:a"], Claim("C1", "1.0", "1.0", "U1"))
    await other.inflight.add_inflight("C1", "1.1", "1.0", "U1", "status")
    await other.inflight.reply_finished("C1", "1.0", "1.0")
    assert await other.events.claim_event(["event:b"], Claim("C1", "2.0", "2.0", "U1"))
    await other.events.settle_claim("C1", "2.0")
    await other.close()
    me = await stores.open()
    orphans = await me.inflight.adopt_orphans()
    assert orphans.claims == [] and orphans.replies == []


async def test_approvals_outlive_a_restart_and_are_taken_once(stores: Stores) -> None:
    store = await stores.open()
    approval = PendingApproval(
        "A1", "U1", "C1", "1.0", "2.0", "send_message", '{"text": "hi"}', "POST /send", 99.0
    )
    await store.approvals.add_approval(approval)
    await store.close()
    one, two = await stores.open(), await stores.open(Owner.new())
    assert await one.approvals.approval("A1") == approval
    assert await two.approvals.pending_approvals() == [approval]
    taken = await asyncio.gather(
        one.approvals.take_approval("A1"), two.approvals.take_approval("A1")
    )
    assert sorted(taken) == [False, True]
    assert await one.approvals.approval("A1") is None


async def test_a_job_keeps_its_latest_run_for_every_process(stores: Stores) -> None:
    one = await stores.open()
    await one.jobs.record_job_run(JobRun("retention", 86400.0, 10.0, 0.5, "ok"))
    latest = JobRun("retention", 86400.0, 20.0, 0.1, "failed: OperationalError")
    await one.jobs.record_job_run(latest)
    await one.jobs.record_job_run(JobRun("watchdog", 30.0, 21.0, 0.0, "ok"))
    two = await stores.open(Owner.new())
    assert [run.name for run in await two.jobs.job_runs()] == ["retention", "watchdog"]
    assert (await two.jobs.job_runs())[0] == latest


async def test_a_closed_store_does_not_answer_a_ping(stores: Stores) -> None:
    store = await stores.open()
    await store.ping()
    await store.close()
    with pytest.raises(StoreUnusable):
        await store.ping()


async def test_an_operator_sees_what_is_held_and_spent_since_a_time(stores: Stores) -> None:
    store = await stores.open()
    await store.threads.join_thread("C1", "1.0")
    await store.threads.add_message("C1", "1.0", "1.0", "user", "U1", "q", outside=False)
    await store.threads.record_turn(
        "C1", "1.0", TurnRecord(answer=StoredMessage("1.0", "assistant", None, "a", False))
    )
    for person in ("U1", "U2"):
        await store.people.first_contact(person)
    await store.usage.record_image(
        "U2",
        "painter",
        UsageKind.IMAGE_GENERATION,
        cost=8.0,
        channel="C1",
        question_ts="0.5",
        at=time.time() - 3600,
    )
    since = time.time() - 60
    await store.usage.record_usage("U2", "small", 10, 5, cost=0.5)
    await store.usage.record_usage("U1", "small", 1, 1)
    await store.usage.record_usage("U1", "large", 100, 50, cost=1.0)
    await store.usage.record_image(
        "U1",
        "painter",
        UsageKind.IMAGE_EDIT,
        cost=0.25,
        channel="C1",
        question_ts="1.0",
        at=time.time(),
    )
    assert await store.admin.totals(since) == Totals(
        threads=1,
        messages=2,
        people=2,
        answers=3,
        images=1,
        input_tokens=111,
        output_tokens=56,
        cost=1.75,
    )
    assert await store.admin.usage_by_person(since) == [
        PersonUsage("U1", "large", 100, 50, 1.0),
        PersonUsage("U1", "painter", 0, 0, 0.25),
        PersonUsage("U1", "small", 1, 1, None),
        PersonUsage("U2", "small", 10, 5, 0.5),
    ]
    assert (await store.admin.totals(time.time() + 60)).cost is None


async def test_settings_are_deleted_by_scope_and_only_those(stores: Stores) -> None:
    store = await stores.open()
    for scope, key in (("user", "U1"), ("channel", "C1"), ("thread", "C1/1.0"), ("user", "U2")):
        await store.settings.save_settings(scope, key, '{"model": "a"}', "U1")
    removed = await store.admin.delete_settings(
        [("user", "U1"), ("thread", "C1/1.0"), ("user", "U9")]
    )
    assert removed == 2
    assert sorted(await store.settings.all_settings()) == [("channel", "C1"), ("user", "U2")]
    assert await store.admin.delete_settings([]) == 0


# --- SQLite's own: its file and the databases older versions wrote --------------------


async def test_settings_changed_through_another_process_are_caught_up_on(
    stores: Stores,
) -> None:
    mine, other = await stores.open(), await stores.open()
    await other.settings.save_settings("user", "U1", '{"model": "o3"}', "U1")
    version = await mine.settings.settings_version()
    assert (await mine.settings.settings_changed_since(version)).changed == {}
    await other.settings.save_settings("user", "U1", '{"model": "gpt-4.1"}', "U1")
    await other.settings.save_settings("channel", "C1", '{"web_search": true}', "UADMIN")
    await other.admin.delete_settings([("channel", "C1")])
    changes = await mine.settings.settings_changed_since(version)
    assert changes.changed == {
        ("user", "U1"): StoredSettings('{"model": "gpt-4.1"}', "U1"),
        ("channel", "C1"): None,
    }
    assert not changes.complete
    assert changes.version == await other.settings.settings_version() > version
    assert (await mine.settings.settings_changed_since(changes.version)).changed == {}


async def test_leases_and_counts_are_shared_by_processes_alive(stores: Stores) -> None:
    """PostgreSQL decides for every instance; SQLite, one process's store, grants all."""
    one, two = (await stores.open()).coordination, (await stores.open()).coordination
    first = await one.take_lease("thread:C1/1.0", 1)
    assert first is not None
    second = await two.take_lease("thread:C1/1.0", 1)
    waits = [await (one, two)[i % 2].spend("messages:U1", 3) for i in range(4)]
    if stores.kind == "sqlite":
        assert second is not None and waits == [0.0] * 4
        return
    assert second is None
    assert await two.take_lease("thread:C1/2.0", 1) is not None
    await one.release_leases([first])
    assert await two.take_lease("thread:C1/1.0", 1) is not None
    # Three a minute, whichever process counts: the fourth waits most of a minute.
    assert waits[:3] == [0.0] * 3 and 50 < waits[3] <= 60
    # A lease whose release was lost is dropped once its holder says what it holds; one
    # just taken is kept (its holder may not know of it yet).
    kept = await one.take_lease("answers:U1", 2)
    lost = await one.take_lease("answers:U1", 2)
    assert kept and lost and await two.take_lease("answers:U1", 2) is None
    await one.keep_leases([kept])
    assert await two.take_lease("answers:U1", 2) is None
    await asyncio.sleep(OWNER_TIMEOUT * 3 + BEAT)
    await one.keep_leases([kept])
    assert await two.take_lease("answers:U1", 2) is not None
    assert await one.heartbeat() == 2


# A SQLite store grants every lease (one process decides): PostgreSQL only.
@pytest.mark.parametrize(
    "place", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_the_leases_of_a_process_gone_are_free_again(stores: Stores) -> None:
    gone, alive = await stores.open(), await stores.open()
    assert await gone.coordination.take_lease("thread:C1/1.0", 1) is not None
    assert await alive.coordination.take_lease("thread:C1/1.0", 1) is None
    # Its heartbeat stops (the store's beating task ends with it).
    stores.beating.pop(0).cancel()
    await asyncio.sleep(OWNER_TIMEOUT + 2 * BEAT)
    assert await alive.coordination.take_lease("thread:C1/1.0", 1) is not None
    assert await alive.coordination.heartbeat() == 1


async def test_a_database_of_the_old_numbering_is_carried_forward(tmp_path: Path) -> None:
    """Versions before schema 7 stood in for a reply without a message by the thread's
    ts; their rows are kept, without an owner, and recovered as orphans."""
    path = tmp_path / "bot.db"
    async with aiosqlite.connect(path, isolation_level=None) as old:
        await migrate(old, str(path), upto=BEFORE_NAMES[5])
        await old.execute("DROP TABLE _migrations")
        await old.execute("PRAGMA user_version = 5")
        await old.execute(
            "INSERT INTO inflight_replies (channel, message_ts, thread_ts, user_id, started_at)"
            " VALUES ('D1', '5.0', '5.0', 'U1', 1), ('D1', '6.0', '5.0', 'U1', 2)"
        )
    store = await SQLiteStore.open(str(path))
    try:
        orphans = await store.inflight.adopt_orphans()
        assert orphans.claims == [Claim("D1", "5.0", "5.0", "U1")]
        assert [(r.message_ts, r.shows) for r in orphans.replies] == [("6.0", "writing")]
    finally:
        await store.close()
    with sqlite3.connect(path) as after:
        assert after.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        names = [row[0] for row in after.execute("SELECT name FROM _migrations")]
    assert names == [step.__name__ for step in MIGRATIONS]


async def test_a_backup_taken_while_writing_is_a_sound_copy_of_one_moment(
    tmp_path: Path,
) -> None:
    store = await SQLiteStore.open(str(tmp_path / "bot.db"))
    try:
        for i in range(50):
            await store.threads.add_message("C1", "1.0", f"{i}.0", "user", "U1", f"before {i}")
        writes = [
            asyncio.create_task(
                store.threads.add_message("C1", "1.0", f"{i}.5", "user", "U1", f"during {i}")
            )
            for i in range(200)
        ]
        assert await store.backup(tmp_path / "copy.db") == "ok"
        await asyncio.gather(*writes)
        with pytest.raises(FileExistsError):
            await store.backup(tmp_path / "copy.db")
    finally:
        await store.close()
    copy = await SQLiteStore.open(str(tmp_path / "copy.db"))
    try:
        texts = [m.text for m in (await copy.threads.load_thread("C1", "1.0")).messages]
    finally:
        await copy.close()
    assert {f"before {i}" for i in range(50)} <= set(texts)
    # A moment's copy: the writes it holds are the first ones, none skipped.
    during = sorted(int(t.split()[1]) for t in texts if t.startswith("during"))
    assert during == list(range(len(during)))
    assert (tmp_path / "copy.db").stat().st_mode & 0o777 == 0o600
