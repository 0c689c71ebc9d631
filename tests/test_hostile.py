"""End to end: hostile files and texts, sent to the real bot, cannot hang, stall or kill it.

Each hostile file gets a clear note in its thread, and people elsewhere are answered
while the files are being read: the parsing happens in worker processes that are killed
past their bounds, never in the bot's own process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, UploadedFile
from tests.botproc import BotProcess
from tests.conftest import running_bot
from tests.hostile import CORPUS, HostileFile, drawing_bomb_pdf
from tests.seen import settled, wait_for_text
from tests.test_attachments import text_pdf

BOT = "<@UBOT>"
# Short bounds, so the files that need the kill are killed within a test's patience, yet
# twice the CPU the costliest corpus file takes to be read in full (1.2 s to 2.3 s,
# depending on the machine).
READ_SECONDS = "5"
# The fake model otherwise echoes the whole document back: a short answer keeps the
# thread to what the person is told about the file.
SHORT_ANSWER = "what is this? [reply:Seen it.]"
# What the pool's limits tell a person (untrusted.pool).
LIMIT_REASONS = ("took too long to read", "needs too much memory to read", "looks damaged")


@pytest.fixture(scope="module")
async def hostile_bot(
    slack: FakeSlack, model: FakeOpenAI, bot_dir: Path
) -> AsyncIterator[BotProcess]:
    async with running_bot(
        slack,
        model,
        bot_dir,
        FILE_READ_SECONDS=READ_SECONDS,
        FILE_READERS="2",
        USER_MESSAGES_PER_MINUTE="0",
    ) as process:
        yield process


async def test_every_hostile_file_gets_a_clear_note_while_others_are_answered(
    slack: FakeSlack,
    model: FakeOpenAI,
    hostile_bot: BotProcess,
    new_id: Callable[[str], str],
) -> None:
    user = new_id("U")
    bomb_channel = new_id("C")
    bomb = UploadedFile("drawing.pdf", "application/pdf", drawing_bomb_pdf())
    bomb_root = await slack.post_user_message(bomb_channel, user, f"{BOT} read this", files=[bomb])
    # An ordinary PDF right behind it is read as ever: nothing is held for the bomb.
    pdf_channel = new_id("C")
    pdf = UploadedFile(
        "budget.pdf", "application/pdf", text_pdf("Travel costs were 4200 EUR in total")
    )
    pdf_root = await slack.post_user_message(pdf_channel, user, f"{BOT} sum up", files=[pdf])
    threads = []
    for hostile in CORPUS:
        channel = new_id("C")
        upload = UploadedFile(hostile.name, hostile.mimetype, hostile.data)
        root = await slack.post_user_message(channel, user, f"{BOT} {SHORT_ANSWER}", files=[upload])
        threads.append((hostile, channel, root))

    # Someone else, elsewhere, while every worker is busy with the files above.
    other, asker = new_id("C"), new_id("U")
    question = await slack.post_user_message(other, asker, f"{BOT} is the bot alive?")
    await wait_for_text(slack, other, question, "is the bot alive?", timeout=15)
    assert not settled(slack, bomb_channel, bomb_root), (
        "the question was answered only after the file that needs the kill was done"
    )

    text = await wait_for_text(slack, bomb_channel, bomb_root, "took too long to read", timeout=60)
    assert "drawing.pdf" in text
    shown = await wait_for_text(slack, pdf_channel, pdf_root, "sum up", timeout=60)
    assert any("Travel costs were 4200 EUR" in str(r.body) for r in model.requests), shown
    missing = []
    for hostile, channel, root in threads:
        shown = await wait_for_text(slack, channel, root, "Seen it.", timeout=60)
        if not _told(hostile, shown, model):
            missing.append(f"{hostile.name}: expected {hostile.expect!r}, saw {shown!r}")
    assert not missing, "\n".join(missing)

    # The workers that were killed were replaced: an ordinary file is read as ever.
    channel = new_id("C")
    note = UploadedFile("note.txt", "text/plain", b"The launch is on Tuesday.")
    root = await slack.post_user_message(channel, user, f"{BOT} when?", files=[note])
    await wait_for_text(slack, channel, root, "when?")
    assert any("The launch is on Tuesday." in str(r.body) for r in model.requests)
    assert "Traceback" not in hostile_bot.log


async def test_thousands_of_mentions_cost_a_bounded_number_of_lookups(
    slack: FakeSlack, hostile_bot: BotProcess, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    before = len(slack.calls_to("users.info"))
    named = " ".join(f"<@{new_id('U')}>" for _ in range(2_000))
    root = await slack.post_user_message(channel, user, f"{BOT} who is here? {named}")
    await wait_for_text(slack, channel, root, "who is here?")
    first = len(slack.calls_to("users.info")) - before
    # The asker, and at most 20 of the people they named.
    assert 1 <= first <= 21
    # A follow-up reads the whole thread again: still at most 20 new people looked up.
    more = " ".join(f"<@{new_id('U')}>" for _ in range(2_000))
    await slack.post_user_message(channel, user, f"and these? {more}", thread_ts=root)
    await wait_for_text(slack, channel, root, "and these?")
    assert len(slack.calls_to("users.info")) - before - first <= 20


def _told(hostile: HostileFile, shown: str, model: FakeOpenAI) -> bool:
    """Whether the thread tells the person what the corpus expects of this file (a reason
    or a cut), or, for a file read in full, whether its text reached the model."""
    if hostile.beyond_reader and any(reason in shown for reason in LIMIT_REASONS):
        return True  # the worker's limits, not the reader, ended it: as designed
    if hostile.expect in shown:
        return True
    return "Not read" not in shown and any(hostile.expect in str(r.body) for r in model.requests)
