"""Fuzz run: generated files through the readers' worker pool, texts through the formatter.

Files are valid seeds of every kind the bot reads (Word, Excel, PDF, RTF, HTML, CSV,
JSON, text, PNG, JPEG, GIF) mutated by Hypothesis (bytes flipped, cut, repeated,
spliced with hostile fragments), each read by the production jobs in the worker pool
with short bounds. Every outcome must be an answer or an `UnreadableInput` reason, and
the pool must keep working after every kill. The first `--through-bot` of them are then
uploaded to the real bot over the fakes: every thread must be answered, none left held,
and the bot must stop cleanly. Message texts, generated the same way, go through
`markdown_to_mrkdwn` and `split_message`, and through `reply_parts` (markdown and table
blocks), whose blocks must pass the fake workspace's Block Kit checks. Prints the counts
of each outcome.

    .venv/bin/python bench/fuzz.py --files 1000 --texts 1000 --through-bot 200
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.workspace import FakeSlack, UploadedFile, check_message_blocks
from slack_client.output.parts import reply_parts
from slack_client.render.mrkdwn import markdown_to_mrkdwn, split_message
from tests.botproc import BotProcess, bot_environment, start_model_server
from tests.hostile import CORPUS
from tests.loopback import clear_proxies
from tests.seen import settled, thread_text
from untrusted.pool import UnreadableInput, WorkerLimits, WorkerPool
from untrusted.readers import UntrustedReaders

# A generated file: (name, mimetype, bytes).
Generated = tuple[str, str, bytes]
FRAGMENTS = [
    b'w:gridSpan="2000000000"', b'r="1000000000"', b"<!--", b"{\\field{\\*\\fldinst{",
    b"[" * 64, b"\x00" * 16, b"\xff\xfe", b"obj << /Type /XObject", b"PK\x03\x04",
    b"<<" * 32, b"\\u-1?", b"&#x10FFFF;", b"]]>",
]  # fmt: skip


def seeds() -> list[tuple[str, str, bytes]]:
    """(name, mimetype, bytes) of one small valid file of each kind, and the corpus."""
    import docx
    import openpyxl
    from PIL import Image

    out: list[tuple[str, str, bytes]] = []
    document = docx.Document()
    document.add_heading("Plan", 1)
    document.add_paragraph("Ship it on Tuesday.")
    document.add_table(rows=2, cols=2).cell(0, 0).text = "a"
    buffer = io.BytesIO()
    document.save(buffer)
    out.append(("plan.docx", "", buffer.getvalue()))
    book = openpyxl.Workbook()
    book.active.append(["name", "amount"])
    book.active.append(["tea", 3])
    buffer = io.BytesIO()
    book.save(buffer)
    out.append(("book.xlsx", "", buffer.getvalue()))
    for kind, name in (("PNG", "a.png"), ("JPEG", "a.jpg"), ("GIF", "a.gif")):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), "teal").save(buffer, kind)
        out.append((name, f"image/{kind.lower()}", buffer.getvalue()))
    out += [
        ("memo.rtf", "", b"{\\rtf1\\ansi{\\fonttbl\\f0 Arial;}\\f0 Hello \\b world\\b0\\par}"),
        ("page.html", "", b"<html><body><h1>T</h1><p>x <b>y</b></p><table><tr><td>1"),
        ("t.csv", "", b"a,b\n1,2\n3,4\n"),
        ("d.json", "", b'{"a": [1, 2, {"b": null}]}'),
        ("n.txt", "", "héllo wörld\n".encode()),
    ]
    from tests.test_attachments import text_pdf

    out.append(("r.pdf", "", text_pdf("Travel 4200 EUR", "Food 900 EUR")))
    out += [(h.name, h.mimetype, h.data) for h in CORPUS if len(h.data) < 2**20]
    return out


def mutated(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, position, value in edits:
        at = position % (len(out) + 1)
        if kind == 0 and out:  # flip a byte
            out[at % len(out)] ^= value or 1
        elif kind == 1:  # cut
            del out[at:]
        elif kind == 2:  # repeat a stretch
            out[at:at] = out[at : at + 64] * (value % 50 + 1)
        else:  # a hostile fragment
            out[at:at] = FRAGMENTS[value % len(FRAGMENTS)]
    return bytes(out)


async def read(readers: UntrustedReaders, name: str, mime: str, data: bytes) -> str:
    try:
        if mime.startswith("image/"):
            await readers.fit_image(data)
        else:
            await readers.document(name, mime, data)
    except UnreadableInput as error:
        return f"{type(error).__name__}"
    return "read"


def fuzz_files(count: int, outcomes: Counter[str], kept: list[Generated], keep: int) -> None:
    pool = WorkerPool(2, WorkerLimits(cpu_seconds=5, wall_seconds=15, memory_bytes=2**30))
    readers = UntrustedReaders(pool)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(pool.start())
    kinds = seeds()
    edit = st.tuples(st.integers(0, 3), st.integers(0, 2**20), st.integers(0, 255))

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from(kinds), st.lists(edit, max_size=6))
    def one(seed: tuple[str, str, bytes], edits: list[tuple[int, int, int]]) -> None:
        name, mime, data = seed
        data = mutated(data, edits)
        if len(kept) < keep:
            kept.append((name, mime, data))
        outcomes[loop.run_until_complete(read(readers, name, mime, data))] += 1

    try:
        one()
    finally:
        outcomes["workers killed"] = pool.kills
        loop.run_until_complete(pool.close())
        loop.close()


def answered(slack: FakeSlack, channel: str, root: str) -> bool:
    # The status lines ("Queued…", "Waiting to read…") are settled too: wait for the answer.
    return settled(slack, channel, root) and "Seen it." in thread_text(slack, channel, root)


async def answering_now(slack: FakeSlack) -> str:
    envelope = await slack.slash_command("UFUZZ", "CSTATUS", "status")
    await slack.wait_for(lambda: bool(slack.responses.get(envelope)), what="/ai status")
    status = slack.responses[envelope][-1].text
    found = re.search(r"Answering now:\* (\d+)", status)
    return found.group(1) if found else f"unknown ({status!r})"


async def through_bot(files: list[Generated]) -> str:
    """The generated files uploaded to the real bot, each in a thread of its own: every
    thread must be answered, none left held, and the bot must stop cleanly."""
    slack = FakeSlack()
    await slack.start()
    # Parsing 200 requests of document text must not keep the fake Slack from
    # answering the bot's pings.
    model, model_url = await start_model_server(0)
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    env = bot_environment(
        slack_api_url=slack.api_url,
        openai_base_url=model_url,
        database_path=workdir / "bot.db",
        LOG_LEVEL="WARNING",
        USER_MESSAGES_PER_MINUTE="0",
        FILE_READ_SECONDS="5",
    )
    bot = BotProcess(env, cwd=workdir)
    await bot.start()
    await slack.wait_connected(1, timeout=60)
    threads = []
    for index, (name, mime, data) in enumerate(files):
        channel = f"CF{index:05d}"
        upload = UploadedFile(name, mime or "application/octet-stream", data)
        text = "<@UBOT> what is this? [reply:Seen it.]"
        threads.append(
            (channel, await slack.post_user_message(channel, "UFUZZ", text, files=[upload]))
        )
    await slack.wait_for(
        lambda: all(answered(slack, *thread) for thread in threads),
        timeout=60 + 10 * len(files),
        what="every fuzzed file answered",
    )
    # The last answer shown may still be storing itself: a thread left held stays held.
    for _ in range(10):
        held = await answering_now(slack)
        if held == "0":
            break
        await asyncio.sleep(1)
    code = await bot.stop()
    await slack.stop()
    model.terminate()
    await model.wait()
    clean = code == 0 and "Traceback" not in bot.log
    if not clean:
        print(f"the bot exited with {code}; its log:\n{bot.log[-5000:]}")
    return (
        f"through the bot: {len(threads)} files, every thread answered, "
        f"threads still being answered at the end: {held}, "
        f"stopped cleanly: {'yes' if clean else 'NO'}"
    )


def fuzz_texts(count: int, outcomes: Counter[str]) -> None:
    alphabet = st.sampled_from([*"*_~[]()<>&`#|-!:\\ \n\tab1あ中", "https://x.org/a_(b)"])

    @settings(max_examples=count, deadline=None, database=None)
    @given(st.lists(alphabet, max_size=400).map("".join))
    def one(text: str) -> None:
        parts = split_message(markdown_to_mrkdwn(text))
        assert all(len(part) <= 3_900 for part in parts)
        for reply in reply_parts(text, feedback=True):
            check_message_blocks(reply.blocks or [])
        outcomes["formatted"] += 1

    one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--through-bot", type=int, default=200, help="files also sent to the bot")
    args = parser.parse_args()
    clear_proxies()
    started = time.monotonic()
    files: Counter[str] = Counter()
    kept: list[Generated] = []
    fuzz_files(args.files, files, kept, args.through_bot)
    texts: Counter[str] = Counter()
    fuzz_texts(args.texts, texts)
    took = time.monotonic() - started
    print(
        f"files: {sum(v for k, v in files.items() if k != 'workers killed')} read through the pool"
    )
    for outcome, count in files.most_common():
        print(f"  {outcome}: {count}")
    print(f"texts: {texts['formatted']} formatted and split, none failed")
    if kept:
        print(asyncio.run(through_bot(kept)))
    print(f"in {took:.0f} s")


if __name__ == "__main__":
    main()
