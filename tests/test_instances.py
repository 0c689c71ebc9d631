"""Several instances on one PostgreSQL behave, to every Slack user, as one bot.

Three bot processes (`python main.py`) share a database of their own on the tests'
PostgreSQL server (tests/postgres.py); the fake Slack spreads envelopes over their Socket
Mode connections in turn, as Slack spreads them over an app's connections. These tests
need PostgreSQL: without one they fail (under CI) or are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from message_processor.failures import BUSY, INTERRUPTED_BY_CRASH
from sandbox.manifest import load_manifest
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import BotProcess
from tests.conftest import make_bot
from tests.postgres import Server
from tests.seen import bot_texts, settled, wait_for_text

pytestmark = pytest.mark.postgres

BOT = "<@UBOT>"
INSTANCES = 3
# What a process logs for each message it answers (message_processor/processor.py).
ANSWERED = re.compile(r"\banswered channel=(\S+) thread=(\S+)")


@contextlib.asynccontextmanager
async def instances(
    slack: FakeSlack, model: FakeOpenAI, url: str, workdir: Path, count: int, **env: str
) -> AsyncIterator[list[BotProcess]]:
    """`count` bots on the database at `url`, each with a Socket Mode connection; on
    leaving, those still running must stop cleanly."""
    slack.spread_envelopes = True
    connected = slack.connection_count
    processes = []
    for number in range(count):
        folder = workdir / f"instance-{number}"
        folder.mkdir(parents=True)
        processes.append(make_bot(slack, model, folder, DATABASE_URL=url, **env))
    try:
        await asyncio.gather(*(process.start() for process in processes))
        await slack.wait_connected(connected + count, timeout=60)
        yield processes
    finally:
        codes = await asyncio.gather(
            *(process.stop() for process in processes), return_exceptions=True
        )
        slack.spread_envelopes = False
    for process, code in zip(processes, codes, strict=True):
        if process.process is not None and process.process.returncode not in (0, -9):
            raise AssertionError(f"an instance ended with {code}:\n{process.log}")
        assert "Traceback" not in process.log, process.log


@pytest.fixture(scope="module")
async def three(
    slack: FakeSlack,
    model: FakeOpenAI,
    postgres_server: Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[list[BotProcess]]:
    async with (
        postgres_server.database() as url,
        instances(slack, model, url, tmp_path_factory.mktemp("three"), INSTANCES) as running,
    ):
        yield running


async def logged(processes: list[BotProcess], check: Callable[[], bool]) -> None:
    """Wait until the instances' logs (read as they come) make `check` true."""
    async with asyncio.timeout(15):
        while not check():
            waits = [asyncio.create_task(p.next_output()) for p in processes]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()


def asked_model(model: FakeOpenAI, words: str) -> int:
    """How many requests carry `words`: the instance answering holds its thread."""
    return sum(words in json.dumps(request.body) for request in model.requests)


def answered_by(process: BotProcess) -> Counter[tuple[str, str]]:
    return Counter((match[1], match[2]) for match in ANSWERED.finditer(process.log))


def answers(slack: FakeSlack, channel: str, root: str) -> list[str]:
    return [text for text in bot_texts(slack, channel, root) if text.startswith("Answer to:")]


async def test_a_burst_spread_over_three_instances_is_answered_once_each(
    slack: FakeSlack, three: list[BotProcess], new_id: Callable[[str], str]
) -> None:
    channels = [new_id("C") for _ in range(60)]
    asked = await asyncio.gather(
        *(
            slack.post_user_message(channel, new_id("U"), f"{BOT} question {n} in {channel}")
            for channel in channels
            for n in range(10)
        )
    )
    # In the order asked: ten in each channel.
    roots = [(channels[i // 10], ts) for i, ts in enumerate(asked)]
    await slack.wait_for(
        lambda: all(settled(slack, channel, ts) for channel, ts in roots),
        timeout=120,
        what="every question answered",
    )
    for channel, ts in roots:
        question = slack.get_message(channel, ts)
        assert question is not None
        said = answers(slack, channel, ts)
        asked_text = question.text.removeprefix(BOT).strip()
        assert len(said) == 1 and said[0].endswith(f": {asked_text}"), said
    # Every instance took its share, and no message was answered by two.
    mine = set(roots)

    def counts() -> list[Counter[tuple[str, str]]]:
        return [
            Counter({k: n for k, n in answered_by(process).items() if k in mine})
            for process in three
        ]

    await logged(three, lambda: sum(sum(c.values()) for c in counts()) >= 600)
    assert all(counts()), [sum(c.values()) for c in counts()]
    total = sum(counts(), Counter())
    assert sum(total.values()) == 600
    assert max(total.values()) == 1


async def test_two_messages_of_one_thread_on_two_instances_get_one_answer_and_one_busy_reply(
    slack: FakeSlack, model: FakeOpenAI, three: list[BotProcess], new_id: Callable[[str], str]
) -> None:
    user, channel = new_id("U"), new_id("C")
    root = await slack.post_user_message(channel, user, f"{BOT} [delay:4] the first")
    await model.wait_for(lambda: bool(asked_model(model, "[delay:4] the first")))
    # The next envelope goes to the next instance's connection.
    await slack.post_user_message(channel, user, f"{BOT} the second", thread_ts=root)
    text = await wait_for_text(slack, channel, root, "[delay:4] the first", timeout=30)
    assert BUSY in text
    assert "the second" not in text
    await logged(
        three,
        lambda: (
            any(f"thread busy: channel={channel}" in p.log for p in three)
            and any(answered_by(p)[(channel, root)] for p in three)
        ),
    )
    handled = [answered_by(process)[(channel, root)] for process in three]
    assert sorted(handled) == [0, 0, 1]
    busy = [process for process in three if f"thread busy: channel={channel}" in process.log]
    assert len(busy) == 1
    assert handled[three.index(busy[0])] == 0


async def test_a_settings_change_saved_on_one_instance_applies_on_the_others(
    slack: FakeSlack, model: FakeOpenAI, three: list[BotProcess], new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    envelope = await slack.slash_command(user, dm, "settings")
    await slack.wait_for(
        lambda: envelope in slack.acks and bool(slack.open_modals(user)),
        what="the settings modal",
    )
    view = slack.open_modals(user)[-1]
    await slack.submit_view(user, view.id, {"instructions": "Answer like a pirate."})
    assert view.closed and not view.errors
    # Questions until each instance has answered one (envelopes go to them in turn).
    asked = 0
    while len([p for p in three if any(ch == dm for ch, _ in answered_by(p))]) < INSTANCES:
        assert asked < 3 * INSTANCES, "the questions did not reach every instance"
        ts = await slack.post_user_message(dm, user, f"which voice {asked}?")
        await wait_for_text(slack, dm, ts, f"which voice {asked}?")
        await logged(three, lambda: any((dm, ts) in answered_by(p) for p in three))  # noqa: B023
        asked += 1
    sent = [
        str(r.body.get("instructions"))
        for r in model.requests
        if any(f"which voice {n}?" in json.dumps(r.body) for n in range(asked))
    ]
    assert len(sent) == asked
    assert all("Answer like a pirate." in instructions for instructions in sent), sent


@pytest.fixture
async def own_slack() -> AsyncIterator[FakeSlack]:
    """A workspace of this test's own: no other instance is connected to it."""
    fake = FakeSlack()
    fake.install(load_manifest())
    await fake.start()
    yield fake
    await fake.stop()


async def test_an_instance_killed_mid_burst_leaves_every_question_answered_or_marked_once(
    own_slack: FakeSlack,
    model: FakeOpenAI,
    postgres_server: Server,
    tmp_path: Path,
    new_id: Callable[[str], str],
) -> None:
    slack = own_slack
    async with (
        postgres_server.database() as url,
        # Room for the model's long answers below.
        instances(slack, model, url, tmp_path, INSTANCES, OPENAI_TIMEOUT_SECONDS="30") as running,
    ):
        channels = [new_id("C") for _ in range(10)]
        asked = [
            (channel, await slack.post_user_message(channel, new_id("U"), f"{BOT} [delay:8] q{n}"))
            for channel in channels
            for n in range(3)
        ]
        # Every question acknowledged (its claim recorded) and being answered: the model
        # has them all, and answers none for a while.
        await model.wait_for(
            lambda: asked_model(model, "[delay:8] q") >= len(asked),
            what="every question with the model",
        )
        victim, survivors = running[0], running[1:]
        await victim.kill()
        # Its heartbeat stops; a survivor takes its questions over within the bound
        # (15 s without a heartbeat, then a recovery turn every 10 s).
        await slack.wait_for(
            lambda: all(settled(slack, channel, ts) for channel, ts in asked),
            timeout=45,
            what="every question answered or marked",
        )
        marked = 0
        for channel, ts in asked:
            texts = bot_texts(slack, channel, ts)
            complete = [
                t for t in texts if t.startswith("Answer to:") and INTERRUPTED_BY_CRASH not in t
            ]
            notices = [t for t in texts if INTERRUPTED_BY_CRASH in t]
            # One outcome each: the answer, or the notice where it stopped.
            assert len(complete) + len(notices) == 1, texts
            marked += len(notices)
        # The victim was killed while its answers waited on the model: it finished none,
        # and each of its questions was marked once, by one survivor; the survivors
        # answered the others.
        assert marked > 0
        assert not answered_by(victim)
        await logged(
            survivors,
            lambda: sum(sum(answered_by(p).values()) for p in survivors) == len(asked) - marked,
        )
        await logged(
            survivors, lambda: any("interrupted replies reported" in p.log for p in survivors)
        )
