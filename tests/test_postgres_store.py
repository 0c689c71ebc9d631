"""The PostgreSQL store's own: many processes deciding at once, migrating at once, and
refusing what it cannot use in one line that never shows the password.

Each store object stands for an instance of the bot (on any host): they share nothing
but the database.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage import Claim, Owner, StoreUnusable
from storage.postgres import PostgresStore
from storage.postgres.migrations import MIGRATIONS
from tests.postgres import with_database

pytestmark = pytest.mark.postgres

PASSWORD = "pg-secret-Pa55word"
INSTANCES = 3
CLAIM = Claim("C1", "1.0", "1.0", "U1")


@pytest.fixture
async def instances(postgres_url: str) -> AsyncIterator[list[PostgresStore]]:
    """Three instances sharing one database, opened at once."""
    opened = await asyncio.gather(
        *(PostgresStore.open(postgres_url, max_size=3) for _ in range(INSTANCES))
    )
    yield list(opened)
    for store in opened:
        await store.close()


async def test_instances_opening_together_on_an_empty_database_migrate_it_once(
    postgres_url: str, instances: list[PostgresStore]
) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        names = [row[0] for row in await connection.fetch("SELECT name FROM schema_migrations")]
    finally:
        await connection.close()
    assert sorted(names) == sorted(step.__name__ for step in MIGRATIONS)
    for store in instances:
        await store.ping()


async def test_of_instances_claiming_the_same_events_at_once_exactly_one_wins_each(
    instances: list[PostgresStore],
) -> None:
    events = [f"Ev{i}" for i in range(30)]

    async def deliveries(store: PostgresStore) -> list[bool]:
        # Each instance gets every event, under keys that overlap in part.
        return await asyncio.gather(
            *(
                store.events.claim_event([f"msg:C1:{i}.0", f"event:{event}"], CLAIM)
                for i, event in enumerate(events)
            )
        )

    won = await asyncio.gather(*(deliveries(store) for store in instances))
    for i in range(len(events)):
        assert sum(one[i] for one in won) == 1
    # A key seen before makes a new claim lose, whichever instance it reaches.
    assert not await instances[0].events.claim_event(["event:new", "event:Ev3"], CLAIM)


async def test_instances_adopting_at_once_take_each_orphan_once(
    postgres_url: str, instances: list[PostgresStore]
) -> None:
    gone = await PostgresStore.open(postgres_url, Owner.new(), max_size=2)
    for i in range(40):
        ts = f"{i}.0"
        assert await gone.events.claim_event([f"event:{ts}"], Claim("C1", ts, ts, "U1"))
        await gone.inflight.add_inflight("C1", f"{i}.1", ts, "U1", "writing")
    await gone.close()

    adopted = await asyncio.gather(*(store.inflight.adopt_orphans() for store in instances))
    claims = [claim.ts for found in adopted for claim in found.claims]
    replies = [reply.message_ts for found in adopted for reply in found.replies]
    assert sorted(claims) == sorted(f"{i}.0" for i in range(40))
    assert sorted(replies) == sorted(f"{i}.1" for i in range(40))
    # Adopting again gives each only what it took itself, until it has reported it.
    again = await asyncio.gather(*(store.inflight.adopt_orphans() for store in instances))
    assert again == adopted


async def test_an_instance_that_stops_beating_is_taken_for_gone_and_comes_back(
    postgres_url: str,
) -> None:
    stalled = await PostgresStore.open(postgres_url, max_size=2, owner_timeout=0.5)
    alive = await PostgresStore.open(postgres_url, max_size=2, owner_timeout=0.5)
    try:
        assert await stalled.events.claim_event(["event:a"], Claim("C1", "1.0", "1.0", "U1"))
        await asyncio.sleep(0.2)
        await stalled.coordination.heartbeat()
        await alive.coordination.heartbeat()
        assert (await alive.inflight.adopt_orphans()).claims == []
        await asyncio.sleep(0.7)
        await alive.coordination.heartbeat()
        assert [c.ts for c in (await alive.inflight.adopt_orphans()).claims] == ["1.0"]
        # Beating again, it owns what it claims from then on.
        await stalled.coordination.heartbeat()
        assert await stalled.events.claim_event(["event:b"], Claim("C1", "2.0", "2.0", "U1"))
        assert [c.ts for c in (await alive.inflight.adopt_orphans()).claims] == ["1.0"]
    finally:
        await stalled.close()
        await alive.close()


async def test_a_database_of_a_newer_bot_is_refused(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url)
    await store.close()
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute("INSERT INTO schema_migrations (name) VALUES ('m999_future')")
    finally:
        await connection.close()
    with pytest.raises(StoreUnusable, match="written by a newer version of the bot"):
        await PostgresStore.open(postgres_url)


def _with_password(url: str, user: str) -> str:
    """`url` as `user` with PASSWORD."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{PASSWORD}@{rest.rpartition('@')[2]}"


async def test_a_server_that_refuses_or_does_not_answer_is_one_line_without_the_password(
    postgres_url: str,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = int(probe.getsockname()[1])
    database = postgres_url.rsplit("/", 1)[1]
    unknown_role = _with_password(postgres_url, "no_such_role")
    unknown_database = with_database(_with_password(postgres_url, "no_such_role"), "nowhere")
    unreachable = f"postgresql://bot:{PASSWORD}@127.0.0.1:{closed}/{database}?password={PASSWORD}"
    for url in (unknown_role, unknown_database, unreachable):
        with pytest.raises(StoreUnusable) as refused:
            await PostgresStore.open(url)
        message = str(refused.value)
        assert PASSWORD not in message and "no_such_role:" not in message
        assert len(message.splitlines()) == 1
        assert message.startswith("cannot connect to the database at postgresql://127.0.0.1:")


async def test_a_server_that_never_answers_is_given_up_on_in_time() -> None:
    """A port that takes connections and says nothing (a hung server, a proxy whose
    database is gone): opening ends within its bound, in one line."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(5):
            with pytest.raises(StoreUnusable) as refused:
                await PostgresStore.open(
                    f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/bot", connect_timeout=0.5
                )
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
    assert accepted
    assert str(refused.value) == (
        f"cannot connect to the database at postgresql://127.0.0.1:{port}/bot (no answer in time)"
    )
