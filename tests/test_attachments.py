"""End to end: documents attached in Slack threads are read, remembered and explained."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, UploadedFile
from tests.inproc import InProcessBot
from tests.pictures import picture
from tests.seen import wait_for_text

BOT = "<@UBOT>"


def text_pdf(*pages: str) -> bytes:
    """A small valid PDF with one line of Helvetica text per page."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{3 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
    ]
    font = 3 + 2 * count
    for i, text in enumerate(pages):
        stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R"
            f" /Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def last_request_with(model: FakeOpenAI, needle: str) -> str:
    return str(next(r for r in reversed(model.requests) if needle in str(r.body)).body)


async def test_a_pdf_is_read_and_stays_known_to_follow_ups(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    pdf = UploadedFile("budget.pdf", "application/pdf", text_pdf("Travel 4200 EUR", "Food 900 EUR"))
    root = await slack.post_user_message(channel, user, f"{BOT} sum this up", files=[pdf])
    await wait_for_text(slack, channel, root, "sum this up")
    sent = last_request_with(model, "sum this up")
    assert "[File: budget.pdf]" in sent
    assert "Travel 4200 EUR" in sent and "Food 900 EUR" in sent

    await slack.post_user_message(channel, user, "and the food line?", thread_ts=root)
    await wait_for_text(slack, channel, root, "and the food line?")
    assert "Food 900 EUR" in last_request_with(model, "and the food line?")
    [file_id] = [f for f, u in slack.hosted_files.items() if u.name == "budget.pdf"]
    assert len(slack.file_requests_for(file_id)) == 1


async def test_a_scanned_pdf_page_is_read_as_an_image(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    scan = picture("scan.pdf", 850, 1100, kind="PDF", colour="white")
    ts = await slack.post_user_message(dm, user, "what does the scan say?", files=[scan])
    text = await wait_for_text(slack, dm, ts, "what does the scan say?")
    assert "[saw 1 image(s):" in text


async def test_a_csv_becomes_a_table_the_model_reads(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    csv = UploadedFile("sales.csv", "text/csv", b"region;total\nnorth;120\nsouth;95\n")
    ts = await slack.post_user_message(dm, user, "which region leads?", files=[csv])
    await wait_for_text(slack, dm, ts, "which region leads?")
    sent = last_request_with(model, "which region leads?")
    assert "| north | 120 |" in sent


async def test_unreadable_and_unsupported_files_are_named_with_their_reasons(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    files = [
        UploadedFile("slides.pptx", "application/vnd.ms-powerpoint", b"PK\x03\x04 slides"),
        UploadedFile("broken.pdf", "application/pdf", b"%PDF-1.7 this is not a pdf"),
        UploadedFile("empty.txt", "text/plain", b""),
    ]
    ts = await slack.post_user_message(dm, user, "read these please", files=files)
    text = await wait_for_text(slack, dm, ts, "read these please")
    assert "slides.pptx: PowerPoint (.pptx) files are not supported" in text and "Excel" in text
    assert "broken.pdf: it looks damaged" in text
    assert "empty.txt: it is empty" in text


async def test_a_long_document_is_cut_and_the_answer_says_so(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    notes = UploadedFile("notes.txt", "text/plain", ("All work and no play. " * 9000).encode())
    ts = await slack.post_user_message(dm, user, "[reply:Dull.] the gist?", files=[notes])
    text = await wait_for_text(slack, dm, ts, "Dull.")
    assert "Partly read" in text and "notes.txt: first 150,000 characters of 198,000" in text
