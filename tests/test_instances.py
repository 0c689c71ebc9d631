"""Several instances on one PostgreSQL behave, to every Slack user, as one bot.

Three bot processes (`python main.py`) share a database of their own on the tests'
PostgreSQL server (tests/postgres.py); the fake Slack spreads envelopes over their Socket
Mode connections in turn, as Slack spreads them over an app's connections, or posts them
in HTTP mode to the instances' request URLs in turn, as a load balancer does. These tests
need PostgreSQL: without one they fail (under CI) or are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from message_processor.failures import BUSY, INTERRUPTED_BY_CRASH
from sandbox.loopback import free_port
from sandbox.manifest import HTTP_MANIFEST, load_manifest
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.botproc import BotProcess, events_url
from tests.conftest import make_bot
from tests.fakes.browser_service import FakeBrowserService
from tests.postgres import Server
from tests.seen import approval_in, bot_texts, settled, wait_for_text

pytestmark = pytest.mark.postgres

BOT = "<@UBOT>"
INSTANCES = 3
# Small pools: the tests' three workers share one server's 100 connections.
POOL = {"DATABASE_POOL_SIZE": "4"}
# Each person's answered messages a minute, counted across the instances.
PER_MINUTE = 12
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
        processes.append(make_bot(slack, model, folder, DATABASE_URL=url, **POOL, **env))
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
        instances(
            slack,
            model,
            url,
            tmp_path_factory.mktemp("three"),
            INSTANCES,
            USER_MESSAGES_PER_MINUTE=str(PER_MINUTE),
        ) as running,
    ):
        yield running


async def logged(processes: list[BotProcess], check: Callable[[], bool]) -> None:
    """Wait until the instances' logs (read as they come) make `check` true."""
    try:
        async with asyncio.timeout(60):
            while not check():
                waits = [asyncio.create_task(p.next_output()) for p in processes]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for wait in waits:
                        wait.cancel()
    except TimeoutError:
        tails = "\n---\n".join("\n".join(p.output[-30:]) for p in processes)
        raise AssertionError(f"the logs never said it; their ends:\n{tails}") from None


def asked_model(model: FakeOpenAI, words: str) -> int:
    """How many requests carry `words`: the instance answering holds its thread."""
    return sum(words in json.dumps(request.body) for request in model.requests)


def answered_by(process: BotProcess) -> Counter[tuple[str, str]]:
    return Counter((match[1], match[2]) for match in ANSWERED.finditer(process.log))


def answers(slack: FakeSlack, channel: str, root: str) -> list[str]:
    return [text for text in bot_texts(slack, channel, root) if text.startswith("Answer to:")]


async def burst(
    slack: FakeSlack, new_id: Callable[[str], str], words: str
) -> list[tuple[str, str]]:
    """600 questions in 60 channels at once, each answered once: their (channel, ts)."""
    channels = [new_id("C") for _ in range(60)]
    asked = await asyncio.gather(
        *(
            slack.post_user_message(channel, new_id("U"), f"{BOT} {words} {n} in {channel}")
            for channel in channels
            for n in range(10)
        )
    )
    # In the order asked: ten in each channel.
    roots = [(channels[i // 10], ts) for i, ts in enumerate(asked)]
    await slack.wait_for(
        lambda: all(settled(slack, channel, ts) for channel, ts in roots),
        # A hang guard: three instances, the database and the fakes share this machine's
        # cores with the other tests' workers.
        timeout=240,
        what="every question answered",
    )
    for channel, ts in roots:
        question = slack.get_message(channel, ts)
        assert question is not None
        said = answers(slack, channel, ts)
        asked_text = question.text.removeprefix(BOT).strip()
        assert len(said) == 1 and said[0].endswith(f": {asked_text}"), bot_texts(slack, channel, ts)
    return roots


async def answered_once_by_each(processes: list[BotProcess], roots: list[tuple[str, str]]) -> None:
    """Every instance took its share, and no message was answered by two."""
    mine = set(roots)

    def counts() -> list[Counter[tuple[str, str]]]:
        return [
            Counter({k: n for k, n in answered_by(process).items() if k in mine})
            for process in processes
        ]

    await logged(processes, lambda: sum(sum(c.values()) for c in counts()) >= len(roots))
    assert all(counts()), [sum(c.values()) for c in counts()]
    total = sum(counts(), Counter())
    assert sum(total.values()) == len(roots)
    assert max(total.values()) == 1


@pytest.mark.timeout(300)
async def test_a_burst_spread_over_three_instances_is_answered_once_each(
    slack: FakeSlack, three: list[BotProcess], new_id: Callable[[str], str]
) -> None:
    roots = await burst(slack, new_id, "question")
    await answered_once_by_each(three, roots)


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


def reactions(slack: FakeSlack, channel: str, ts: str) -> dict[str, list[str]]:
    message = slack.get_message(channel, ts)
    return message.reactions if message else {}


async def test_a_persons_messages_a_minute_are_counted_across_the_instances(
    slack: FakeSlack, three: list[BotProcess], new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    dm = slack.dm_channel(user)
    sent = []
    for n in range(PER_MINUTE + 3):
        sent.append(await slack.post_user_message(dm, user, f"count me {n}"))
        await slack.wait_for(
            lambda: settled(slack, dm, sent[-1]) or bool(reactions(slack, dm, sent[-1])),
            what=f"message {n} answered or turned away",
        )
    turned_away = [ts for ts in sent if "no_entry_sign" in reactions(slack, dm, ts)]
    # Each instance saw a third of them, under the limit: only a count shared by all of
    # them turns the last three away.
    assert turned_away == sent[PER_MINUTE:]
    for ts in sent[:PER_MINUTE]:
        assert len(answers(slack, dm, ts)) == 1
    notices = [e.text for e in slack.ephemerals_for(user, dm) if "last minute" in e.text]
    assert notices and all(f"sent me {PER_MINUTE} messages" in n for n in notices)


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
        # (20 s without a heartbeat, then a recovery turn every 10 s).
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


async def test_a_rolling_restart_loses_nothing(
    own_slack: FakeSlack,
    model: FakeOpenAI,
    postgres_server: Server,
    tmp_path: Path,
    new_id: Callable[[str], str],
) -> None:
    slack = own_slack
    metrics_port = free_port()
    async with (
        postgres_server.database() as url,
        instances(slack, model, url, tmp_path, 2) as two,
        contextlib.AsyncExitStack() as stack,
    ):
        # A third instance, the one restarted, with its readiness served.
        leaving = make_bot(
            slack, model, tmp_path, DATABASE_URL=url, METRICS_PORT=str(metrics_port), **POOL
        )
        # Whatever happens below, it does not outlive the test.
        stack.push_async_callback(leaving.kill)
        connected = slack.connection_count
        await leaving.start()
        await slack.wait_connected(connected + 1, timeout=60)
        # Six people, so that no one's limit of answers in flight holds a question back:
        # all six are under way at once, the leaving instance's among them, when it stops.
        users = [new_id("U") for _ in range(6)]
        dms = [new_id("D") for _ in users]
        first = [
            (dm, await slack.post_user_message(dm, user, f"[delay:5] before {n}"))
            for n, (dm, user) in enumerate(zip(dms, users, strict=True))
        ]
        await model.wait_for(lambda: asked_model(model, "[delay:5] before") >= len(first))
        assert leaving.process is not None
        leaving.process.send_signal(signal.SIGTERM)
        await leaving.wait_for_output("shutting down: draining")
        # Not ready from the first moment of the drain: a balancer sends nothing more.
        ready = f"http://127.0.0.1:{metrics_port}/readyz"
        async with aiohttp.ClientSession() as session, session.get(ready) as response:
            assert (response.status, await response.text()) == (503, "not ready: draining\n")
        # Meanwhile, questions keep coming: the instances still running take them.
        later = [
            (dm, await slack.post_user_message(dm, user, f"during {n}"))
            for n, (dm, user) in enumerate(zip(dms, users, strict=True))
        ]
        assert await leaving.wait() == 0, leaving.log
        for dm, ts in first + later:
            await wait_for_text(slack, dm, ts, "Answer to:")
            texts = bot_texts(slack, dm, ts)
            assert len(answers(slack, dm, ts)) == 1, texts
            assert not any("restarting" in text for text in texts), texts
        assert "draining" in leaving.log
        # It finished what it held, and took nothing new.
        assert any(f"answered channel={dm} thread={ts}" in leaving.log for dm, ts in first)
        assert not any(f"thread={ts}" in leaving.log for _, ts in later)
        assert all(p.process and p.process.returncode is None for p in two)


SECRET = "5b3f0c0d9e2a4c7f8a1b6d4e3c2f1a0b"


@dataclass
class OverHttp:
    slack: FakeSlack
    service: FakeBrowserService
    processes: list[BotProcess]
    urls: list[str]


@pytest.fixture(scope="module")
async def over_http(
    model: FakeOpenAI, postgres_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[OverHttp]:
    """Three instances in HTTP mode behind the fake's round-robin, with the browser
    service, on one PostgreSQL database."""
    slack = FakeSlack()
    slack.install(load_manifest(HTTP_MANIFEST))
    service = FakeBrowserService(token="svc-token-7")
    await slack.start()
    await service.start()
    ports = [free_port() for _ in range(INSTANCES)]
    urls = [events_url(port) for port in ports]
    slack.use_http(urls, SECRET)
    workdir = tmp_path_factory.mktemp("over-http")
    processes = []
    try:
        async with postgres_server.database() as url:
            for number, port in enumerate(ports):
                folder = workdir / f"instance-{number}"
                folder.mkdir()
                process = make_bot(
                    slack,
                    model,
                    folder,
                    DATABASE_URL=url,
                    **POOL,
                    SLACK_MODE="http",
                    SLACK_SIGNING_SECRET=SECRET,
                    PORT=str(port),
                    BROWSER_SERVICE_URL=service.base_url,
                    BROWSER_SERVICE_TOKEN="svc-token-7",
                    BROWSER_SERVICE_ACTIONS="GET *, send_chat_message",
                    BROWSER_SERVICE_USERS="*",
                    BROWSER_SERVICE_CHANNELS="*",
                )
                processes.append(process)
            await asyncio.gather(*(process.start() for process in processes))
            await asyncio.gather(
                *(p.wait_for_output("serving Slack's requests") for p in processes)
            )
            yield OverHttp(slack, service, processes, urls)
            codes = await asyncio.gather(*(process.stop() for process in processes))
            assert codes == [0] * INSTANCES, [p.log for p in processes]
            assert not any("Traceback" in p.log for p in processes)
    finally:
        for process in processes:
            await process.kill()
        await service.stop()
        await slack.stop()


@pytest.mark.timeout(300)
async def test_a_burst_over_http_to_three_instances_is_answered_once_each(
    over_http: OverHttp, new_id: Callable[[str], str]
) -> None:
    slack, processes = over_http.slack, over_http.processes
    roots = await burst(slack, new_id, "over http")
    # Slack's retries of some of them, to other instances, answer nothing twice.
    for _, ts in roots[:30]:
        await slack.redeliver(slack.envelopes_for_ts[ts][0])
    await answered_once_by_each(processes, roots)
    for channel, ts in roots:
        assert len(answers(slack, channel, ts)) == 1, bot_texts(slack, channel, ts)


async def test_an_approval_asked_by_one_instance_runs_once_when_clicked_on_others(
    over_http: OverHttp, new_id: Callable[[str], str]
) -> None:
    slack, service = over_http.slack, over_http.service
    user, channel = new_id("U"), new_id("C")
    call = '[tool:browser_send_chat_message:{"chat_id": "c1", "message": "See you at 4pm"}]'
    slack.http.aim(over_http.urls[0])
    try:
        root = await slack.post_user_message(channel, user, f"{BOT} {call} tell Alice")
        await wait_for_text(slack, channel, root, "needs the person's approval")
    finally:
        slack.http.aim(None)
    approval = approval_in(slack, channel, root)
    assert service.sent == []
    # A double click, its two clicks reaching the two other instances.
    slack.http.route(over_http.urls[1:])
    try:
        clicks = await asyncio.gather(
            slack.click(user, message=approval, action_id="browser_approve"),
            slack.click(user, message=approval, action_id="browser_approve"),
        )
    finally:
        slack.http.route(over_http.urls)
    reached = {slack.http.deliveries_of(click)[0].url for click in clicks}
    assert reached == set(over_http.urls[1:])
    await slack.wait_for(
        lambda: "done" in (slack.get_message(channel, approval.ts) or approval).text,
        what="the approved action",
    )
    await slack.wait_for(
        lambda: any("already handled" in e.text for e in slack.ephemerals_for(user, channel)),
        what="the second click answered",
    )
    assert service.sent == [("c1", "See you at 4pm")]
