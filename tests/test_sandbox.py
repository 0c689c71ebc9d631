"""End to end: `python main.py sandbox` used through its page in headless Chromium.

The bot runs as a person would start it, with no Slack token and no model key (the
offline demo model answers); Playwright drives Debian's Chromium against the page.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect
from yarl import URL

from sandbox.demo import DEMO_LABEL
from tests.botproc import BotProcess
from tests.fakes.browser_service import FakeBrowserService
from tests.fakes.mcp_server import FakeMcpServer
from tests.pictures import picture

CHROMIUM = "/usr/bin/chromium"
REBOUND = "rebound.example"
# Without these, Chromium keeps trying to reach Google's hosts from a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A name of an attacker's that resolves to loopback, as after DNS rebinding.
    f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1",
]
ANSWER_SECONDS = 30_000  # Playwright counts in milliseconds
LABEL = DEMO_LABEL.strip("_").split(":")[0]  # "Offline demo model"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sandbox_env(workdir: Path, **extra: str) -> dict[str, str]:
    """Nothing from the developer's shell: no Slack token, no model key."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONUNBUFFERED": "1",
        "SANDBOX_DATABASE_PATH": str(workdir / "sandbox.db"),
        "LOG_LEVEL": "INFO",
        **extra,
    }


def printed_address(process: BotProcess) -> str:
    """The page's address as the sandbox printed it, key included."""
    found = re.search(r"Sandbox: open (\S+)", process.log)
    assert found is not None, process.log
    return found.group(1)


@contextlib.asynccontextmanager
async def running_sandbox(workdir: Path, port: int, **extra: str) -> AsyncIterator[BotProcess]:
    """`python main.py sandbox --port PORT`, connected; stopped with Ctrl-C, cleanly."""
    env = sandbox_env(workdir, **extra)
    process = BotProcess(env, cwd=workdir, args=("sandbox", "--port", str(port)))
    await process.start()
    try:
        await process.wait_for_output("Sandbox: open", timeout=30)
        # The bot connected over Socket Mode with this run's tokens.
        await process.wait_for_output("connected to Slack", timeout=30)
        yield process
    finally:
        code = await process.stop(signal.SIGINT)
    assert code == 0, process.log
    assert "Traceback" not in process.log, process.log


@pytest.fixture(scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotProcess]:
    """The sandbox as a person starts it, with a .env-style BROWSER_SERVICE_URL it ignores."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("sandbox")
    async with running_sandbox(workdir, port, BROWSER_SERVICE_URL="http://127.0.0.1:9/") as process:
        assert printed_address(process).startswith(f"http://127.0.0.1:{port}/?key=")
        assert "127.0.0.1 only" in process.log
        assert "Browser service: none (add --browser-service URL to use one)" in process.log
        yield process


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@contextlib.asynccontextmanager
async def general_open(browser: Browser, sandbox: BotProcess) -> AsyncIterator[Page]:
    """The page opened with the printed address, in a browser of its own (fresh cookies),
    showing #general."""
    context = await browser.new_context()
    try:
        opened = await context.new_page()
        address = printed_address(sandbox)
        await opened.goto(address)
        assert opened.url == address.split("?")[0]  # the key left the address bar
        await opened.get_by_test_id("channel-general").click()
        yield opened
    finally:
        await context.close()


@pytest.fixture
async def page(browser: Browser, sandbox: BotProcess) -> AsyncIterator[Page]:
    async with general_open(browser, sandbox) as opened:
        yield opened


async def send(page: Page, text: str) -> None:
    await page.get_by_test_id("composer").fill(text)
    await page.get_by_test_id("composer").press("Enter")


async def answer_in_thread(page: Page, words: str) -> str:
    """Open the thread of the person's message that says `words`; the answer's text."""
    message = page.get_by_test_id("message").filter(has_text=words).last
    await message.get_by_test_id("open-thread").click(timeout=ANSWER_SECONDS)
    pane = page.get_by_test_id("thread-pane")
    answer = pane.get_by_test_id("message").filter(has_text=LABEL).filter(has_text=words).last
    await expect(answer).to_be_visible(timeout=ANSWER_SECONDS)
    await expect(answer).to_have_attribute("data-streaming", "false", timeout=ANSWER_SECONDS)
    return await answer.inner_text()


async def test_a_mention_is_answered_in_its_thread_as_it_streams(page: Page) -> None:
    await send(page, "@assistant hello from the sandbox")
    text = await answer_in_thread(page, "hello from the sandbox")
    assert "asked for gpt-5.4-mini" in text


async def test_settings_changed_in_the_modal_apply_to_the_next_answer(page: Page) -> None:
    await send(page, "/ai settings")
    modal = page.get_by_test_id("modal")
    await expect(modal).to_be_visible(timeout=ANSWER_SECONDS)
    await modal.locator('select[data-action-id="model"]').select_option("gpt-4.1")
    # The model takes temperature, not reasoning effort: the modal is rebuilt for it.
    await expect(modal.locator('[data-action-id="temperature"]')).to_be_visible(
        timeout=ANSWER_SECONDS
    )
    await modal.get_by_test_id("modal-submit").click()
    await expect(modal).to_be_hidden(timeout=ANSWER_SECONDS)

    await send(page, "@assistant which model now?")
    assert "asked for gpt-4.1" in await answer_in_thread(page, "which model now?")


async def test_an_uploaded_picture_is_seen(page: Page, tmp_path: Path) -> None:
    shared = picture("kite.png", 320, 200)
    path = tmp_path / shared.name
    path.write_bytes(shared.content)
    await page.get_by_test_id("file-input").set_input_files(str(path))
    await send(page, "@assistant what is in this picture?")
    assert "320x200" in await answer_in_thread(page, "what is in this picture?")


async def test_the_demo_model_draws_an_image_into_the_thread(page: Page) -> None:
    await send(page, "@assistant draw a red kite over the sea")
    message = page.get_by_test_id("message").filter(has_text="draw a red kite").last
    await message.get_by_test_id("open-thread").click(timeout=ANSWER_SECONDS)
    image = page.get_by_test_id("thread-pane").get_by_test_id("file-image").first
    await expect(image).to_be_visible(timeout=ANSWER_SECONDS)
    width = await image.evaluate("img => img.naturalWidth")
    assert width > 0


async def test_a_message_over_the_rate_limit_shows_its_reaction(
    browser: Browser, tmp_path: Path
) -> None:
    # A sandbox of its own: with one message a minute, the other tests' would be turned away.
    async with (
        running_sandbox(tmp_path, free_port(), USER_MESSAGES_PER_MINUTE="1") as sandbox,
        general_open(browser, sandbox) as page,
    ):
        await send(page, "@assistant the first question")
        await send(page, "@assistant a second, too soon")
        second = page.get_by_test_id("message").filter(has_text="a second, too soon")
        reaction = second.get_by_test_id("reaction")
        await expect(reaction).to_have_text("🚫1", timeout=ANSWER_SECONDS)
        await expect(reaction).to_have_attribute("data-name", "no_entry_sign")
        first = page.get_by_test_id("message").filter(has_text="the first question")
        await expect(first.get_by_test_id("reaction")).to_have_count(0)
        # The private notice says what the mark means.
        notice = page.get_by_test_id("ephemeral").filter(has_text="marked 🚫")
        await expect(notice).to_contain_text("send them again in", timeout=ANSWER_SECONDS)


async def test_a_taken_port_is_refused_with_a_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        process = BotProcess(
            sandbox_env(tmp_path), cwd=tmp_path, args=("sandbox", "--port", str(port))
        )
        await process.start()
        assert await process.wait() == 2
    assert f"port {port} on 127.0.0.1 is taken" in process.log
    assert "Traceback" not in process.log


async def test_app_home_and_the_agents_messages_tab_open(page: Page) -> None:
    await page.get_by_test_id("nav-home").click()
    home = page.get_by_test_id("home-view")
    await expect(home).to_contain_text("Your settings", timeout=ANSWER_SECONDS)
    # Opened beside #general: the pinned prompts are about it.
    await page.get_by_test_id("channel-general").click()
    await page.get_by_test_id("nav-assistant").click()
    prompt = page.get_by_test_id("tab-prompt").first
    await expect(prompt).to_have_text("Summarise this channel", timeout=ANSWER_SECONDS)
    await prompt.click()
    await page.get_by_test_id("open-thread").last.click()
    pane = page.get_by_test_id("thread-pane")
    # The demo model read #general for it: the step shows, and the answer reports it.
    await expect(pane.get_by_test_id("task").first).to_contain_text(
        "Reading the conversation you have open", timeout=ANSWER_SECONDS
    )
    await expect(pane.get_by_test_id("message").filter(has_text=LABEL).last).to_contain_text(
        "read_open_conversation", timeout=ANSWER_SECONDS
    )


async def test_the_page_without_its_key_says_where_to_find_the_address(
    browser: Browser, sandbox: BotProcess
) -> None:
    context = await browser.new_context()
    try:
        opened = await context.new_page()
        await opened.goto(printed_address(sandbox).split("?")[0])
        await expect(opened.locator("body")).to_contain_text(
            "opens only from the address printed in the terminal"
        )
        await expect(opened.get_by_test_id("composer")).to_have_count(0)
    finally:
        await context.close()


async def test_the_sandbox_tokens_are_its_own_not_fixed_strings(sandbox: BotProcess) -> None:
    api = printed_address(sandbox).split("?")[0] + "api/"
    async with aiohttp.ClientSession() as session:
        # The fixed tokens earlier versions had, which any web page could have used.
        for method, token in (
            ("auth.test", "xoxb-sandbox-bot"),
            ("apps.connections.open", "xapp-sandbox-app"),
        ):
            headers = {"Authorization": f"Bearer {token}"}
            async with session.post(api + method, headers=headers) as response:
                assert (await response.json())["error"] == "invalid_auth"
    assert "xoxb-" not in sandbox.log and "xapp-" not in sandbox.log


async def test_a_browser_service_is_used_only_when_given_on_the_command_line(
    tmp_path: Path,
) -> None:
    configured, given = FakeBrowserService(), FakeBrowserService()
    await configured.start()
    await given.start()
    env = sandbox_env(tmp_path, BROWSER_SERVICE_URL=configured.base_url)
    args = ("sandbox", "--port", str(free_port()), "--browser-service", given.base_url)
    process = BotProcess(env, cwd=tmp_path, args=args)
    await process.start()
    try:
        await process.wait_for_output("connected to Slack", timeout=30)
        assert f"Browser service: {given.base_url} (from --browser-service)" in process.log
        # The bot reads the named service's actions.
        await given.wait_for(lambda: bool(given.requests_to("/openapi.json")))
    finally:
        assert await process.stop(signal.SIGINT) == 0, process.log
        await configured.stop()
        await given.stop()
    assert configured.requests == []


async def test_mcp_servers_are_used_only_when_given_on_the_command_line(tmp_path: Path) -> None:
    async with FakeMcpServer() as configured, FakeMcpServer() as given:
        env = sandbox_env(
            tmp_path, MCP_SERVERS=f"docs={configured.url}", MCP_TOKEN_DOCS="env-mcp-token-1"
        )
        args = ("sandbox", "--port", str(free_port()), "--mcp-servers", f"docs={given.url}")
        process = BotProcess(env, cwd=tmp_path, args=args)
        await process.start()
        try:
            await process.wait_for_output("connected to Slack", timeout=30)
            origin = f"http://127.0.0.1:{given.port}"
            assert f"MCP servers: docs at {origin} (from --mcp-servers)" in process.log
            # The bot reads the named server's tools.
            await process.wait_for_output("mcp server=docs offers 3 allowed tools", timeout=30)
        finally:
            assert await process.stop(signal.SIGINT) == 0, process.log
    assert configured.authorizations == []
    # The token of .env's server is that server's alone.
    assert set(given.authorizations) == {None}


# Another web page the person has open: it tries to post in #general through the page's API
# with the person's cookie, as a text/plain "simple" request that needs no CORS preflight.
ATTACK = """<!DOCTYPE html><script>
window.attack = (target) => fetch(target + "sandbox/message", {
  method: "POST", mode: "no-cors", credentials: "include",
  headers: {"Content-Type": "text/plain"},
  body: JSON.stringify({channel: "C0GENERAL", text: "posted by another page"}),
});
</script>"""


@contextlib.asynccontextmanager
async def attacker_site() -> AsyncIterator[int]:
    """A web server of the attacker's on another port of 127.0.0.1; its port."""

    async def attack_page(request: web.Request) -> web.Response:
        return web.Response(text=ATTACK, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", attack_page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_other_pages_in_the_browser_cannot_post_or_read(
    page: Page, sandbox: BotProcess
) -> None:
    base = printed_address(sandbox).split("?")[0]
    async with attacker_site() as port:
        # Same site as the sandbox (127.0.0.1, another port: the cookie goes along), and
        # another site altogether.
        for origin in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"):
            other = await page.context.new_page()
            await other.goto(origin)
            # Resolves once the sandbox has answered (opaquely, to the attacker).
            await other.evaluate("target => attack(target).then(() => true)", base)
            await other.close()
    # A page of the attacker's name, rebound to 127.0.0.1, reads nothing.
    rebound = await page.context.new_page()
    await rebound.goto(str(URL(base).with_host(REBOUND) / "sandbox" / "state"))
    await expect(rebound.locator("body")).to_contain_text("answers only to 127.0.0.1")
    await rebound.close()
    # The person's own page still posts; the other pages' messages never arrived.
    await send(page, "my own message after the attack")
    general = page.get_by_test_id("message")
    await expect(general.filter(has_text="my own message after the attack")).to_have_count(1)
    await expect(general.filter(has_text="posted by another page")).to_have_count(0)
