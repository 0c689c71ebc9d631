"""End to end: the bot in HTTP mode (SLACK_MODE=http), Slack's requests signed and
posted to it by the fake workspace, as behind a load balancer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from config import ConfigError, load_config
from sandbox.loopback import free_port
from sandbox.manifest import HTTP_MANIFEST, load_manifest
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, blocks_text
from sandbox.workspace.http_delivery import sign
from tests.botproc import (
    APP_TOKEN,
    BOT_TOKEN,
    OPENAI_KEY,
    BotProcess,
    bot_environment,
    events_url,
)
from tests.inproc import InProcessBot, bot_in_process
from tests.seen import command, wait_for_text

SECRET = "8f14e45fceea167a5a36dedd4bea2543"
BOT = "<@UBOT>"


def http_env(port: int, **more: str) -> dict[str, str]:
    return {"SLACK_MODE": "http", "SLACK_SIGNING_SECRET": SECRET, "PORT": str(port), **more}


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
async def slack(port: int) -> AsyncIterator[FakeSlack]:
    """The workspace with the HTTP manifest installed, delivering to the bot's PORT."""
    fake = FakeSlack()
    fake.install(load_manifest(HTTP_MANIFEST))
    await fake.start()
    fake.use_http([events_url(port)], SECRET)
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def bot(
    slack: FakeSlack, model: FakeOpenAI, bot_dir: Path, port: int
) -> AsyncIterator[InProcessBot]:
    # METRICS_PORT is PORT: the health endpoints are served beside Slack's requests.
    overrides = http_env(port, METRICS_PORT=str(port))
    async with bot_in_process(slack, model, bot_dir, **overrides) as running:
        yield running


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def acked(slack: FakeSlack, envelope_id: str) -> None:
    await slack.wait_for(lambda: envelope_id in slack.acks, what=f"{envelope_id} acked")


async def test_mention_and_dm_over_signed_http_are_answered_in_their_threads(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, dm, user = new_id("C"), new_id("D"), new_id("U")
    root = await slack.post_user_message(channel, user, f"{BOT} mentioned over HTTP")
    direct = await slack.post_user_message(dm, user, "a direct message over HTTP")

    assert "Answer to:" in await wait_for_text(slack, channel, root, "mentioned over HTTP")
    assert "Answer to:" in await wait_for_text(slack, dm, direct, "a direct message over HTTP")
    assert all(m.thread_ts == root for m in slack.bot_replies(channel, root))
    # Over HTTP only: the bot never opened a Socket Mode connection.
    assert slack.connection_count == 0
    assert not slack.calls_to("apps.connections.open")
    sent = [d for e in slack.envelopes_for_ts[direct] for d in slack.http.deliveries_of(e)]
    assert [d.status for d in sent] == [200]


async def test_url_verification_is_answered_with_the_challenge(
    slack: FakeSlack, bot: InProcessBot
) -> None:
    challenge, status, body = await slack.http.verify_url()
    assert status == 200
    assert json.loads(body) == {"challenge": challenge}


def forged_event(slack: FakeSlack, dm: str, user: str, text: str) -> tuple[str, str]:
    """An event_callback for a DM, as Slack would send it; (its body, its ts)."""
    ts = slack.next_ts()
    event = {"type": "message", "channel": dm, "channel_type": "im", "user": user}
    event |= {"text": text, "ts": ts, "event_ts": ts}
    body: dict[str, Any] = {"type": "event_callback", "team_id": slack.team_id}
    body |= {"api_app_id": "A0TEST", "event_id": "EvFORGED" + ts[-6:], "event": event}
    return json.dumps(body), ts


async def test_a_bad_or_stale_signature_is_refused_and_nothing_is_answered(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, port: int, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    body, ts = forged_event(slack, dm, user, "forged request")
    now = int(time.time())
    wrong_secret = {
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign("not-the-secret", str(now), body),
    }
    stale = slack.http.signed_headers(body, timestamp=now - 600)
    garbled = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    statuses = []
    async with aiohttp.ClientSession() as session:
        for headers in (wrong_secret, stale, garbled, {}):
            sent = {"Content-Type": "application/json", **headers}
            async with session.post(events_url(port), data=body, headers=sent) as response:
                statuses.append(response.status)
    assert statuses == [401, 401, 401, 401]

    # A signed message in the same conversation afterwards is answered; the forged one never.
    after = await slack.post_user_message(dm, user, "a genuine message")
    await wait_for_text(slack, dm, after, "a genuine message")
    assert slack.bot_replies(dm, ts) == []
    assert not any("forged request" in str(r.body) for r in model.requests)
    assert "forged request" not in bot.log and SECRET not in bot.log
    assert "refused a request whose Slack signature does not verify" in bot.log


async def test_a_retry_of_a_delivered_event_is_acked_and_answered_once(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "answer me once")
    await wait_for_text(slack, dm, ts, "answer me once")
    [first] = slack.envelopes_for_ts[ts]

    retries = [await slack.redeliver(first)]
    retries.append(await slack.redeliver(retries[-1]))
    for retry in retries:
        await acked(slack, retry)
    [one, two] = [slack.http.deliveries_of(r)[0] for r in retries]
    assert (one.retry_num, two.retry_num) == (1, 2)
    # Another message afterwards: once it is answered, a second answer would have shown.
    later = await slack.post_user_message(dm, user, "and then this")
    await wait_for_text(slack, dm, later, "and then this")
    assert len(slack.bot_replies(dm, ts)) == 1
    event_id = slack.envelopes[first]["payload"]["event_id"]
    assert bot.log.count(f"event_id={event_id}") == 1


async def test_a_retry_after_a_failed_first_delivery_is_answered(
    slack: FakeSlack, bot: InProcessBot, port: int, new_id: Callable[[str], str]
) -> None:
    """The first delivery went to an instance that is gone; Slack's retry reaches this one."""
    gone = events_url(free_port())
    slack.http.route([gone, events_url(port)])
    try:
        dm, user = new_id("D"), new_id("U")
        ts = await slack.post_user_message(dm, user, "lost the first time")
        [first] = slack.envelopes_for_ts[ts]
        await slack.wait_for(lambda: slack.http.answered(first), what="the first failure")
        assert first not in slack.acks
        retry = await slack.redeliver(first)
        await wait_for_text(slack, dm, ts, "lost the first time")
    finally:
        slack.http.route([events_url(port)])
    [delivery] = slack.http.deliveries_of(retry)
    assert (delivery.retry_num, delivery.status) == (1, 200)
    assert slack.envelopes[retry]["retry_reason"] == "connection_failed"


async def test_slash_command_and_button_click_over_http(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    help_text = await command(slack, user, channel, "help")
    assert "/ai settings" in help_text

    root = await slack.post_user_message(channel, user, f"{BOT} rate this answer")
    await wait_for_text(slack, channel, root, "rate this answer")
    answer = slack.bot_replies(channel, root)[-1]
    assert "Good answer" in blocks_text(answer.blocks or [])
    click = await slack.click(user, message=answer, action_id="answer_feedback", value="good")
    await slack.wait_for(
        lambda: any("Thanks" in e.text for e in slack.ephemerals_for(user, channel)),
        what="the thanks",
    )
    await acked(slack, click)
    assert [d.status for d in slack.http.deliveries_of(click)] == [200]


async def test_the_ack_goes_out_before_the_answer_is_written(
    slack: FakeSlack, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "[delay:1] take your time")
    await wait_for_text(slack, dm, ts, "take your time")
    [envelope] = slack.envelopes_for_ts[ts]
    # The calls that wrote the answer (it quotes the question).
    writes = [c.at for c in slack.calls if c.channel == dm and "take your time" in str(c.params)]
    assert writes and slack.acks[envelope] < min(writes)
    assert slack.acks[envelope] - slack.sent_at[envelope] < 1.0


async def test_readyz_and_metrics_are_served_beside_slacks_requests(
    slack: FakeSlack, bot: InProcessBot, port: int, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    ts = await slack.post_user_message(dm, user, "count me")
    await wait_for_text(slack, dm, ts, "count me")
    base = f"http://127.0.0.1:{port}"
    assert await get(f"{base}/readyz") == (200, "ready\n")
    assert await get(f"{base}/healthz") == (200, "ok\n")
    status, metrics = await get(f"{base}/metrics")
    assert status == 200
    assert 'slackbot_events_received_total{type="message"}' in metrics
    assert 'slackbot_events_acked_total{type="message"}' in metrics


async def test_a_draining_bot_answers_new_requests_503_and_is_not_ready(
    model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    own = FakeSlack()
    own.install(load_manifest(HTTP_MANIFEST))
    await own.start()
    port = free_port()
    own.use_http([events_url(port)], SECRET)
    try:
        async with bot_in_process(own, model, tmp_path, **http_env(port)) as running:
            dm, user = new_id("D"), new_id("U")
            slow = await own.post_user_message(dm, user, "[delay:2] a slow one")
            await own.wait_for(lambda: "a slow one" in str(model.requests), what="the model")
            draining = asyncio.create_task(running.bot.drain())
            await asyncio.sleep(0.1)
            refused = await own.post_user_message(dm, user, "too late")
            [envelope] = own.envelopes_for_ts[refused]
            await own.wait_for(lambda: own.http.answered(envelope), what="the refusal")
            assert [d.status for d in own.http.deliveries_of(envelope)] == [503]
            assert await running.bot.readiness() == "draining"
            await draining
            # The answer under way was let finish.
            await wait_for_text(own, dm, slow, "a slow one")
    finally:
        await own.stop()


async def test_two_instances_behind_round_robin_both_answer(
    model: FakeOpenAI, tmp_path: Path, new_id: Callable[[str], str]
) -> None:
    own = FakeSlack()
    own.install(load_manifest(HTTP_MANIFEST))
    await own.start()
    ports = [free_port(), free_port()]
    own.use_http([events_url(p) for p in ports], SECRET)
    bots = []
    try:
        for p in ports:
            env = bot_environment(
                slack_api_url=own.api_url,
                openai_base_url=model.base_url,
                database_path=tmp_path / "shared.db",
                **http_env(p),
            )
            del env["SLACK_APP_TOKEN"]  # not needed in HTTP mode
            bots.append(BotProcess(env, cwd=tmp_path))
        for process in bots:
            await process.start()
            await process.wait_for_output("serving Slack's requests")
        user = new_id("U")
        dms = [new_id("D") for _ in range(4)]
        sent = [await own.post_user_message(dm, user, f"instance check {dm}") for dm in dms]
        for dm, ts in zip(dms, sent, strict=True):
            await wait_for_text(own, dm, ts, f"instance check {dm}")
            assert len(own.bot_replies(dm, ts)) == 1
        targets = [own.http.deliveries_of(own.envelopes_for_ts[ts][0])[0].url for ts in sent]
        assert sorted(targets) == sorted(events_url(p) for p in ports for _ in range(2))

        # One instance goes away: what Slack sends it fails, and its retries reach the other.
        assert await bots[0].stop() == 0
        own.http.retry_delays = (0.0, 0.0, 0.0)
        later = [await own.post_user_message(dm, user, f"after the stop {dm}") for dm in dms[:2]]
        for dm, ts in zip(dms[:2], later, strict=True):
            await wait_for_text(own, dm, ts, f"after the stop {dm}")
            assert len(own.bot_replies(dm, ts)) == 1
        failed = [d for d in own.http.deliveries if d.failure]
        assert failed and {d.failure for d in failed} == {"connection_failed"}
    finally:
        codes = [await process.stop() for process in bots if process.process is not None]
        await own.stop()
    assert codes == [0, 0]
    for process in bots:
        assert "Traceback" not in process.log, process.log
    # Each instance answered what was sent to it (logged once each answer is done).
    assert [b.log.count("answered channel=") for b in bots] == [2, 4]


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ({"SLACK_MODE": "http"}, "configuration error: SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_MODE": "webhooks"}, "configuration error: SLACK_MODE must be 'socket' or 'http'"),
    ],
)
async def test_http_mode_without_a_signing_secret_exits_naming_it(
    tmp_path: Path, setting: dict[str, Any], line: str
) -> None:
    env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        openai_base_url="http://127.0.0.1:9/v1",
        database_path=tmp_path / "bot.db",
        PORT="3000",
        **setting,
    )
    del env["SLACK_APP_TOKEN"]
    process = BotProcess(env, cwd=tmp_path)
    await process.start()
    assert await process.wait() == 2
    assert process.output == [line]
    assert not any(token in process.log for token in (BOT_TOKEN, APP_TOKEN, OPENAI_KEY))


def test_http_settings_are_read_in_http_mode_only() -> None:
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "OPENAI_API_KEY": OPENAI_KEY}
    http = load_config({**base, **http_env(8080)})
    assert (http.slack_mode, http.port, http.slack_signing_secret) == ("http", 8080, SECRET)
    assert SECRET in http.secrets and SECRET not in repr(http)
    # No app token, or .env.example's, is needed in HTTP mode; PORT defaults to 3000.
    unfilled = {**base, "SLACK_APP_TOKEN": "xapp-your-app-level-token"}
    defaults = load_config({**unfilled, "SLACK_MODE": "HTTP", "SLACK_SIGNING_SECRET": SECRET})
    assert (defaults.slack_mode, defaults.port) == ("http", 3000)
    # Socket Mode stays the default, and leaves a host's PORT alone.
    socket_mode = load_config({**base, "SLACK_APP_TOKEN": APP_TOKEN, "PORT": "web"})
    assert (socket_mode.slack_mode, socket_mode.slack_signing_secret) == ("socket", "")
    with pytest.raises(ConfigError, match=r"^PORT must be a port number from 1 to 65535$"):
        load_config({**base, **http_env(8080), "PORT": "web"})
