"""End to end: people attach images in Slack and the model sees them (over the fakes)."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack, UploadedFile
from tests.fakes.slack_faults import attach_faults
from tests.inproc import InProcessBot
from tests.pictures import picture
from tests.seen import wait_for_text

BOT = "<@UBOT>"


async def test_an_attached_image_is_seen_by_the_model_at_a_size_it_accepts(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    image = picture("screenshot.png", 3000, 1000)
    ts = await slack.post_user_message(dm, user, "what is on this screen?", files=[image])
    text = await wait_for_text(slack, dm, ts, "what is on this screen?")
    assert "[saw 1 image(s): 2048x683 PNG]" in text
    [file_id] = slack.hosted_files
    assert [r.authorized for r in slack.file_requests_for(file_id)] == [True]


async def test_several_images_and_an_unreadable_file_in_one_mention(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    files = [
        picture("before.png", 400, 300),
        picture("after.jpg", 640, 480, kind="JPEG"),
        UploadedFile("notes.bin", "application/octet-stream", b"\x00\x01"),
    ]
    ts = await slack.post_user_message(channel, user, f"{BOT} compare these", files=files)
    text = await wait_for_text(slack, channel, ts, "compare these")
    assert "[saw 2 image(s): 400x300 PNG, 640x480 JPEG]" in text
    assert "notes.bin: I can't read this kind of file" in text and "WebP" in text
    request = next(r for r in model.requests if "compare these" in str(r.body))
    assert "notes.bin" in str(request.body)  # the model is told what it could not see


async def test_a_follow_up_still_sees_the_threads_image_without_fetching_it_again(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    root = await slack.post_user_message(
        channel, user, f"{BOT} here is the chart", files=[picture("chart.png", 800, 600)]
    )
    await wait_for_text(slack, channel, root, "here is the chart")
    follow_up = "what colour is it?"
    await slack.post_user_message(channel, user, follow_up, thread_ts=root)
    text = await wait_for_text(slack, channel, root, follow_up)
    assert "[thread images: 1]" in text
    [file_id] = [f for f, u in slack.hosted_files.items() if u.name == "chart.png"]
    assert len(slack.file_requests_for(file_id)) == 1


async def test_an_image_slack_fails_to_deliver_is_named_and_the_rest_answered(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    attach_faults(slack).fail_next_file(500)
    ts = await slack.post_user_message(
        dm, user, "and this one?", files=[picture("lost.png", 50, 50)]
    )
    text = await wait_for_text(slack, dm, ts, "and this one?")
    assert "lost.png: Slack answered HTTP 500" in text
    assert "[saw" not in text


async def test_a_corrupt_image_is_named_with_its_reason(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    broken = UploadedFile("broken.png", "image/png", b"\x89PNG\r\n\x1a\n not really")
    ts = await slack.post_user_message(dm, user, "can you see it?", files=[broken])
    text = await wait_for_text(slack, dm, ts, "can you see it?")
    assert "broken.png: it could not be read as an image" in text


async def test_an_image_link_to_a_local_address_is_refused_and_the_rest_answered(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    # The fake Slack itself listens on loopback: exactly what a hostile link would aim at.
    link = f"{slack.base_url}/files-pri/T1-F1/secret.png"
    requests_before = len(slack.file_requests)
    ts = await slack.post_user_message(dm, user, f"what is in <{link}|this picture>?")
    text = await wait_for_text(slack, dm, ts, "this picture")
    assert f"{link}: it points to a private or local address" in text
    assert len(slack.file_requests) == requests_before
