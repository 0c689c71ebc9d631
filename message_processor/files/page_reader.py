"""Web pages whose links are pasted in a message: fetched under the link policy, read in a
worker process (the HTML is never parsed here), remembered with the thread.

A page's main content and title go to the model like a document's text. The text is kept
with the thread under the page's link, so follow-ups read it from the database, and a
link the thread has read before is not fetched again.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from message_processor.files.attachments import Attachments
from message_processor.files.image_reader import shown_name
from message_processor.files.link_policy import LinkRefused
from message_processor.files.links import NOT_A_PAGE, LinkFetcher, may_hold_links, page_links
from message_processor.memory import ThreadMemory
from slack_client import IncomingMessage
from storage import StoredDocument
from untrusted.budget import ByteBudget, OnWait
from untrusted.pages import MAX_PAGE_BYTES
from untrusted.pool import UnreadableInput
from untrusted.readers import ReadPage, UntrustedReaders

logger = logging.getLogger(__name__)

# Pages read per message: each may take a fetch's 10 s and a worker, and its text
# goes to the model with the question.
MAX_PAGES_PER_MESSAGE = 3
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
# A page is stored under its link: longer links are not read (no real page needs one,
# and a database key should stay small).
MAX_PAGE_LINK_CHARS = 2_000
LINK_TOO_LONG = f"the link is longer than {MAX_PAGE_LINK_CHARS:,} characters"


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def is_page(document: StoredDocument) -> bool:
    """Whether a stored document was read from a page (kept under its link) rather than
    from a file attached in Slack (kept under the file's id)."""
    return document.file_id.startswith(("http://", "https://"))


def page_block(url: str, title: str, text: str, cuts: list[str]) -> str:
    """How a page appears to the model: labelled with its title and address, cuts stated."""
    label = f"{title} — {url}" if title else url
    note = "".join(f"\n[Left out: {cut}]" for cut in cuts)
    return f"[Web page: {label}]{note}\n{text}\n[End of web page]"


class PageReader:
    def __init__(self, links: LinkFetcher, readers: UntrustedReaders, budget: ByteBudget) -> None:
        self._links = links
        self._readers = readers
        self._budget = budget

    async def read(
        self, message: IncomingMessage, memory: ThreadMemory, on_wait: OnWait | None = None
    ) -> Attachments:
        """The pages `message` links to, as blocks for the model; what cannot be read is
        named with its reason. Pages read are kept in `memory` for follow-ups."""
        read = Attachments()
        links = page_links(message.text) if may_hold_links(message.text) else []
        read.past_the_limit(len(links), MAX_PAGES_PER_MESSAGE, "link", "pages")
        links = links[:MAX_PAGES_PER_MESSAGE]
        # Read for an earlier message of the thread: the model has it there already.
        earlier = {
            document.file_id: document
            for document in memory.documents
            if float(document.message_ts) < float(message.ts)
        }
        fresh = [url for url in links if url not in earlier]
        results = await asyncio.gather(*(self._one(url, on_wait) for url in fresh))
        found = dict(zip(fresh, results, strict=True))
        for url in links:
            if url in earlier:
                read.sources.append((url, earlier[url].name))
                continue
            result = found[url]
            if isinstance(result, str):
                read.unread.append(f"{shown_name(url)}: {result}")
                continue
            block = page_block(url, result.title, result.text, result.cuts)
            read.documents.append(block)
            read.sources.append((url, result.title or url))
            read.partly_read += [f"{shown_name(url)}: {cut}" for cut in result.cuts]
            memory.add_document(StoredDocument(url, message.ts, result.title or url, block))
        return read

    async def _one(self, url: str, on_wait: OnWait | None) -> ReadPage | str:
        if len(url) > MAX_PAGE_LINK_CHARS:
            return LINK_TOO_LONG
        try:
            # A page's size is not known before it is fetched: it holds the most.
            async with self._budget.hold(MAX_PAGE_BYTES, on_wait):
                fetched = await self._links.fetch(
                    url, content_types=PAGE_TYPES, max_bytes=MAX_PAGE_BYTES, otherwise=NOT_A_PAGE
                )
                return await self._readers.page(
                    fetched.data, fetched.content_type, fetched.charset, on_wait
                )
        except (LinkRefused, UnreadableInput) as error:
            # The host, not the link: a link's path and query are the message's words.
            logger.info("page not read: host=%s reason=%s", _host(url), error)
            return str(error)
