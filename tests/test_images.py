"""End to end: the model draws and edits images through tools; Slack shows the results."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from tests.inproc import InProcessBot
from tests.pictures import picture, size_of
from tests.seen import wait_for_text

BOT = "<@UBOT>"


async def test_asking_for_a_picture_draws_it_into_the_thread(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    call = '[tool:generate_image:{"prompt": "a red fox in snow", "size": "landscape"}]'
    ts = await slack.post_user_message(dm, user, f"{call} draw me a fox")
    text = await wait_for_text(slack, dm, ts, "Tool result:")
    assert "posted in the thread as image #1" in text
    [upload] = [u for u in slack.uploads if u.channel == dm]
    assert (upload.thread_ts, upload.title, upload.alt_text) == (
        ts,
        "a red fox in snow",
        "a red fox in snow",
    )
    assert size_of(upload.content) == (1536, 1024)
    # While it drew, the streamed reply showed it as a task, done since.
    tasks = [task for m in slack.bot_replies(dm, ts) for task in m.tasks.values()]
    assert tasks == [{"title": "Drawing your image", "status": "complete"}]


async def test_a_refused_prompt_is_explained(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    # \u005b and \u005d spell the image fake's [refuse] marker inside the tool marker.
    call = '[tool:generate_image:{"prompt": "\\u005brefuse\\u005d something forbidden"}]'
    ts = await slack.post_user_message(dm, user, f"{call} draw it")
    text = await wait_for_text(slack, dm, ts, "Tool result:")
    assert "refused this request under its content policy" in text
    assert not [u for u in slack.uploads if u.channel == dm]


async def test_make_it_blue_edits_the_attached_image_and_keeps_it_close(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    photo = picture("logo.png", 640, 480, colour="red")
    root = await slack.post_user_message(channel, user, f"{BOT} here is our logo", files=[photo])
    await wait_for_text(slack, channel, root, "here is our logo")

    call = '[tool:edit_image:{"prompt": "make it blue", "image": 1, "preserve_original": true}]'
    await slack.post_user_message(channel, user, f"{call} make it blue", thread_ts=root)
    text = await wait_for_text(slack, channel, root, "Tool result:")
    assert "edited image is posted in the thread as image #2" in text
    [edit] = [
        r
        for r in model.requests
        if r.path.endswith("/images/edits") and "make it blue" in str(r.body.get("prompt"))
    ]
    # The default image model takes no input_fidelity: the prompt asks instead.
    assert "input_fidelity" not in edit.body
    assert str(edit.body["prompt"]).startswith("Keep everything of the original image")
    assert [(i.width, i.height, i.format) for i in edit.images] == [(640, 480, "PNG")]
    [upload] = [u for u in slack.uploads if u.channel == channel]
    assert upload.thread_ts == root and size_of(upload.content) == (640, 480)


async def test_an_edit_of_an_image_that_is_not_there_is_explained(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    root = await slack.post_user_message(dm, user, "hello")
    await wait_for_text(slack, dm, root, "hello")
    call = '[tool:edit_image:{"prompt": "make it blue", "image": 3}]'
    await slack.post_user_message(dm, user, f"{call} and make it blue", thread_ts=root)
    text = await wait_for_text(slack, dm, root, "Tool result:")
    assert "there is no image #3 in this thread" in text


async def test_an_image_posted_before_the_bot_was_asked_can_be_edited(
    slack: FakeSlack, model: FakeOpenAI, bot: InProcessBot, new_id: Callable[[str], str]
) -> None:
    channel, user = new_id("C"), new_id("U")
    chart = picture("chart.png", 300, 200, colour="yellow")
    root = await slack.post_user_message(channel, user, "our chart", files=[chart])
    call = '[tool:edit_image:{"prompt": "make the bars green", "image": 1}]'
    await slack.post_user_message(channel, user, f"{BOT} {call} greener", thread_ts=root)
    text = await wait_for_text(slack, channel, root, "Tool result:")
    assert "edited image is posted in the thread as image #2" in text
    [upload] = [u for u in slack.uploads if u.channel == channel]
    assert size_of(upload.content) == (300, 200)
