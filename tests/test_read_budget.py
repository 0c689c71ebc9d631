"""End to end: files wait for the bot-wide byte budget, and their message says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, UploadedFile
from tests.conftest import running_bot
from tests.hostile import drawing_bomb_pdf
from tests.seen import thread_text, wait_for_text
from tests.test_hostile import BOT, READ_SECONDS


async def test_a_message_whose_files_must_wait_says_so(
    slack: FakeSlack, model: FakeOpenAI, bot_dir: Path, new_id: Callable[[str], str]
) -> None:
    user = new_id("U")
    first_channel, second_channel = new_id("C"), new_id("C")
    async with running_bot(
        slack, model, bot_dir, FILE_READ_SECONDS=READ_SECONDS, FILE_READ_BUDGET_MB="1"
    ):
        # Holds the whole byte budget until its worker is killed.
        heavy = UploadedFile("heavy.pdf", "application/pdf", drawing_bomb_pdf(padding=2**20))
        first = await slack.post_user_message(first_channel, user, f"{BOT} one", files=[heavy])
        await slack.wait_for(
            lambda: bool(slack.file_requests_for(_file_id(slack, "heavy.pdf"))),
            timeout=15,
            what="the first file being downloaded",
        )
        note = UploadedFile("small.txt", "text/plain", b"small and friendly")
        second = await slack.post_user_message(second_channel, user, f"{BOT} two", files=[note])
        await wait_for_text(slack, second_channel, second, "two", timeout=60)
        # What the reply's steps said meanwhile.
        shown = [
            task["title"]
            for reply in slack.bot_replies(second_channel, second)
            for task in reply.task_updates
        ]
        assert any("Waiting to read your files" in text for text in shown), shown
        assert any("small and friendly" in str(r.body) for r in model.requests)
        await wait_for_text(slack, first_channel, first, "took too long to read", timeout=60)
        assert "heavy.pdf" in thread_text(slack, first_channel, first)


def _file_id(slack: FakeSlack, name: str) -> str:
    return next(file_id for file_id, file in slack.hosted_files.items() if file.name == name)
