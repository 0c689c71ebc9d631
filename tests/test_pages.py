"""End to end: web pages whose links are pasted are read, and answers end with their sources.

The real bot runs with 127.0.0.2 standing in for the internet (tests/internet.py), where
a site serves an article (inside menus and a footer), pages too large or not pages at all,
and redirects. A canary on this machine's own loopback counts every request that reaches
it. What is asserted is what a person sees in the thread, and what the model was sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

import pytest
from aiohttp import web

from message_processor.files.attachments import Attachments
from message_processor.files.link_policy import PRIVATE_ADDRESS
from message_processor.files.links import NOT_A_PAGE
from message_processor.files.page_reader import MAX_PAGES_PER_MESSAGE
from sandbox.model import FakeOpenAI
from sandbox.workspace import FakeSlack
from slack_client.render.sources import (
    MAX_SOURCES_SHOWN,
    shown_sources,
    sources_markdown,
    sources_mrkdwn,
)
from tests.inproc import InProcessBot, bot_reaching
from tests.internet import INTERNET, Server, internet_stand_in, serve_site
from tests.seen import wait_for_text

LOOPBACK = "127.0.0.1"
TITLE = "Otters of the North"
ARTICLE = (
    "Sea otters hold hands while they sleep, so that the current does not carry them "
    "apart. They rest in groups called rafts, sometimes of more than a hundred otters."
)
SECOND = (
    "They crack shellfish open with stones they keep in a pouch of loose skin under "
    "their forearms, which makes them one of the few mammals that use tools."
)
MENU = "Shop our otter plushies"
FOOTER = "Copyright Otter Weekly, all rights reserved"
ARTICLE_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{TITLE}</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/shop">{MENU}</a></li>
<li><a href="/about">About us</a></li></ul></nav>
<main><article><h1>{TITLE}</h1><p>{ARTICLE}</p><p>{SECOND}</p></article></main>
<footer><p>{FOOTER}</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""
# A title that would mention the whole channel, and link elsewhere, if it were not escaped.
LOUD_TITLE = "<!channel> read <https://elsewhere.example|this>"
LOUD_PAGE = f"""<html><head><title>{LOUD_TITLE.replace("<", "&lt;").replace(">", "&gt;")}
</title></head><body><article><p>{ARTICLE}</p><p>{SECOND}</p></article></body></html>"""
HUGE_MB = 6


async def _article(request: web.Request) -> web.Response:
    return web.Response(text=ARTICLE_PAGE, content_type="text/html", charset="utf-8")


async def _loud(request: web.Request) -> web.Response:
    return web.Response(text=LOUD_PAGE, content_type="text/html")


async def _notes(request: web.Request) -> web.Response:
    return web.Response(text=f"Field notes.\n\n{ARTICLE}", content_type="text/plain")


async def _huge(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    await response.write(b"<html><body><p>")
    for _ in range(HUGE_MB):
        await response.write(b"otter " * (2**20 // 6))
    return response


async def _binary(request: web.Request) -> web.Response:
    return web.Response(body=b"\x00\x01" * 64, content_type="application/octet-stream")


async def _go(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[Server]:
    routes = [
        web.get("/article", _article),
        web.get("/loud", _loud),
        web.get("/notes", _notes),
        web.get("/huge", _huge),
        web.get("/data.bin", _binary),
        web.get("/go", _go),
    ]  # anything else answers 404
    async for server in serve_site(str(INTERNET), routes):
        yield server


@pytest.fixture(scope="module")
async def canary() -> AsyncIterator[Server]:
    """This machine's loopback, serving the article to anything that reaches it."""
    async for server in serve_site(LOOPBACK, [web.get("/{path:.*}", _article)]):
        yield server


@pytest.fixture(scope="module")
async def page_bot(
    slack: FakeSlack,
    model: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
    site: Server,
    canary: Server,
) -> AsyncIterator[InProcessBot]:
    workdir = tmp_path_factory.mktemp("page-bot")
    # The canary's port is allowed: only the address checks stand between it and a link.
    env = {"LINK_FETCH_PORTS": f"80,443,{site.port},{canary.port}"}
    async with bot_reaching(slack, model, workdir, internet_stand_in, env) as running:
        yield running


def _texts(value: object) -> list[str]:
    """Every string in a request body, in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def _sent(model: FakeOpenAI, needle: str) -> str:
    """What the model read in the latest request that carries `needle`."""
    sent = ("\n".join(_texts(request.body)) for request in reversed(model.requests))
    return next(text for text in sent if needle in text)


async def test_a_pasted_article_is_read_with_its_title_and_address_not_its_menus(
    slack: FakeSlack,
    model: FakeOpenAI,
    page_bot: InProcessBot,
    site: Server,
    new_id: Callable[[str], str],
) -> None:
    dm, user = new_id("D"), new_id("U")
    link = f"{site.url}/article"
    asked = await slack.post_user_message(dm, user, f"what does <{link}|this> say about sleep?")
    answer = await wait_for_text(slack, dm, asked, "say about sleep?")

    sent = _sent(model, "say about sleep?")
    assert f"[Web page: {TITLE} — {link}]" in sent and "[End of web page]" in sent
    assert ARTICLE in sent and SECOND in sent
    assert MENU not in sent and FOOTER not in sent and "Privacy policy" not in sent
    # The person sees where the answer comes from (a DM's answer streams natively, in
    # Markdown), and that it was read as a step.
    assert "Sources:" in answer and f"[{TITLE}]({link})" in answer
    tasks = [task for m in slack.bot_replies(dm, asked) for task in m.tasks.values()]
    assert [task["sources"] for task in tasks if task.get("sources")] == [
        [{"type": "url", "url": link, "text": TITLE}]
    ]

    # A follow-up in the thread reads the page from the thread's memory, not the site.
    await slack.post_user_message(dm, user, "and what about tools?", thread_ts=asked)
    await wait_for_text(slack, dm, asked, "and what about tools?")
    assert SECOND in _sent(model, "and what about tools?")
    assert site.seen.count("/article") == 1


async def test_a_plain_text_page_is_read_and_its_address_names_it(
    slack: FakeSlack,
    model: FakeOpenAI,
    page_bot: InProcessBot,
    site: Server,
    new_id: Callable[[str], str],
) -> None:
    dm, user = new_id("D"), new_id("U")
    link = f"{site.url}/notes"
    asked = await slack.post_user_message(dm, user, f"summarise <{link}>")
    answer = await wait_for_text(slack, dm, asked, "summarise")
    sent = _sent(model, "summarise")
    assert f"[Web page: {link}]" in sent and "Field notes." in sent
    assert f"[{link}]({link})" in answer.split("Sources:")[1]


async def test_a_pages_title_cannot_mention_or_link_anyone(
    slack: FakeSlack, page_bot: InProcessBot, site: Server, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    link = f"{site.url}/loud"
    asked = await slack.post_user_message(dm, user, f"who wrote <{link}>? [reply:No one says.]")
    answer = await wait_for_text(slack, dm, asked, "Sources:")
    sources = answer.split("Sources:")[1]
    assert f"[!channel read https://elsewhere.example|this]({link})" in sources
    assert "<!channel>" not in answer and "<https://elsewhere.example" not in answer


@pytest.mark.parametrize("redirected", [False, True], ids=["pasted", "redirected"])
async def test_a_page_on_this_machine_is_refused_before_any_request(
    slack: FakeSlack,
    model: FakeOpenAI,
    page_bot: InProcessBot,
    site: Server,
    canary: Server,
    new_id: Callable[[str], str],
    redirected: bool,
) -> None:
    dm, user = new_id("D"), new_id("U")
    target = f"http://{LOOPBACK}:{canary.port}/admin"
    link = f"{site.url}/go?to={quote(target, safe='')}" if redirected else target
    asked = await slack.post_user_message(dm, user, f"what is on <{link}>?")
    answer = await wait_for_text(slack, dm, asked, "Not read")
    assert f"{link}: {PRIVATE_ADDRESS}" in answer
    assert f"[Attachment not readable: {link}: {PRIVATE_ADDRESS}]" in _sent(model, "what is on")
    assert "Sources:" not in answer
    assert canary.seen == []


async def test_pages_that_cannot_be_read_are_named_and_the_rest_is_answered(
    slack: FakeSlack, page_bot: InProcessBot, site: Server, new_id: Callable[[str], str]
) -> None:
    dm, user = new_id("D"), new_id("U")
    huge, binary, missing = f"{site.url}/huge", f"{site.url}/data.bin", f"{site.url}/gone"
    beyond = [f"{site.url}/article?beyond={n}" for n in range(50)]
    # A message's permalink is Slack's, not a page to fetch: neither read nor named.
    permalink = "https://acme.slack.com/archives/C0123ABCD/p1700000000000100"
    pasted = " ".join(f"<{link}>" for link in beyond)
    text = f"compare <{huge}>, <{binary}>, <{missing}> and <{permalink}> {pasted} for me"
    asked = await slack.post_user_message(dm, user, text)
    answer = await wait_for_text(slack, dm, asked, "Not read")
    assert "Answer to:" in answer and "for me" in answer
    assert f"{huge}: it is larger than 5 MB" in answer
    assert f"{binary}: {NOT_A_PAGE}" in answer
    assert f"{missing}: {NOT_A_PAGE}" in answer
    # However many links are beyond the first pages, one line says so.
    beyond_line = f"50 more links: only the first {MAX_PAGES_PER_MESSAGE} pages of a message"
    footer = answer.split("Not read")[1]
    assert footer.count(beyond_line) == 1
    assert "slack.com" not in footer
    # What the site answered is in the log, not the thread: it would map ports.
    assert "404" not in answer and "octet-stream" not in answer
    await page_bot.wait_for_output(f"host={INTERNET} status=404")
    assert not any("beyond" in path for path in site.seen)


def test_sources_are_shown_once_each_and_a_few_at_most() -> None:
    pages = [(f"https://example.com/{i}", f"Page\n{i}") for i in range(MAX_SOURCES_SHOWN + 2)]
    footer = sources_mrkdwn([*pages, (pages[0][0], "Again")])
    assert footer is not None
    lines = footer.splitlines()
    assert lines[1] == "• <https://example.com/0|Page 0>"
    assert len(lines) == 1 + MAX_SOURCES_SHOWN + 1 and lines[-1] == "• _and 2 more_"
    assert "Again" not in footer
    assert sources_mrkdwn([]) is None and sources_markdown([]) is None


def test_sources_in_the_native_stream_are_markdown_links_nothing_can_break() -> None:
    hostile = [
        ("https://example.com/a b)c", "[Click](https://evil.example) <!channel> *x*"),
        ("https://example.com/slash", "ends in a backslash \\"),
        ("https://example.com/entity", "&lt;!here&gt; _now_"),
        ("https://example.com/empty", "<>*"),
        ("javascript:alert(1)", "Run me"),
    ]
    assert sources_markdown(hostile) == "\n".join(
        [
            "_:link: Sources:_",
            "• [(Click)(https://evil.example) !channel x](https://example.com/a%20b%29c)",
            "• [ends in a backslash](https://example.com/slash)",
            "• [&amp;lt;!here&amp;gt;  now](https://example.com/entity)",
            "• [https://example.com/empty](https://example.com/empty)",
            "• Run me",
        ]
    )
    # As a task chunk takes them: web addresses only, once each, no < or > in a title.
    assert shown_sources([*hostile, (hostile[0][0], "again")]) == [
        ("https://example.com/a b)c", "[Click](https://evil.example) !channel *x*"),
        ("https://example.com/slash", "ends in a backslash \\"),
        ("https://example.com/entity", "&lt;!here&gt; _now_"),
        ("https://example.com/empty", "*"),
    ]


def test_what_is_past_a_messages_limit_is_one_line_however_much() -> None:
    attached = Attachments()
    attached.past_the_limit(3, 3, "link", "pages")
    attached.past_the_limit(5_000, 10, "image", "images")
    attached.past_the_limit(4, 3, "link", "pages")
    assert attached.unread == [
        "4990 more images: only the first 10 images of a message are read",
        "1 more link: only the first 3 pages of a message are read",
    ]


async def test_an_answer_finished_in_blocks_ends_with_mrkdwn_links(
    slack: FakeSlack, page_bot: InProcessBot, site: Server, new_id: Callable[[str], str]
) -> None:
    """A table is shown only as a table block, so this answer ends in section blocks,
    which take mrkdwn: its sources are `<url|title>` links there."""
    dm, user = new_id("D"), new_id("U")
    link = f"{site.url}/article"
    table = "| Habit | Hours |\n|---|--:|\n| Sleep | 8 |\n\nDone."
    asked = await slack.post_user_message(dm, user, f"tabulate <{link}|this> [reply:{table}]")
    await wait_for_text(slack, dm, asked, "Done.")
    [reply] = slack.bot_replies(dm, asked)
    blocks = json.dumps(reply.blocks)
    assert '"type": "table"' in blocks
    assert f"<{link}|{TITLE}>" in blocks and f"[{TITLE}]({link})" not in blocks
