"""Downloading the files people attach, from Slack's own file host only.

The bot token opens every file the bot can see, so it is sent to Slack's file host and
nowhere else: a file URL on any other host is refused before a byte is sent, and a
redirect is followed only while it stays on Slack's hosts.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from slack_client.handover import SharedFile
from slack_client.transport.errors import SlackUnreachable, slack_error

logger = logging.getLogger(__name__)

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
DOWNLOAD_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 3
READ_CHUNK_BYTES = 64 * 1024


class FileDownloadError(Exception):
    """A file could not be fetched; the message is the reason, fit to show a user."""


class SlackFiles:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        api_url: str,
        client: AsyncWebClient,
    ) -> None:
        self._session = session
        self._token = token
        self._client = client
        # In production the API lives on slack.com and files on files.slack.com; a
        # Slack-compatible server (the test fakes) serves both from one host.
        api = urlsplit(api_url)
        self._hosts = SLACK_FILE_HOSTS | {api.netloc}
        self._insecure_host = api.netloc if api.scheme == "http" else None

    async def upload_image(
        self, channel: str, thread_ts: str, data: bytes, *, title: str, alt_text: str
    ) -> str:
        """Posts a PNG into the thread (files_upload_v2); returns its file id."""
        return await self._upload(channel, thread_ts, data, "image.png", title, alt_text)

    async def upload_text(
        self, channel: str, thread_ts: str | None, text: str, *, filename: str, title: str
    ) -> str:
        """Posts text as a file snippet (into the thread, if any); returns its file id."""
        return await self._upload(channel, thread_ts, text.encode(), filename, title, None)

    async def _upload(
        self,
        channel: str,
        thread_ts: str | None,
        data: bytes,
        filename: str,
        title: str,
        alt_text: str | None,
    ) -> str:
        # Sharing the file posts a message: files.completeUploadExternal takes its turn
        # in the channel's posting budget like any post (slack_client.transport.scheduler).
        try:
            response = await self._client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                content=data,
                filename=filename,
                title=title,
                alt_txt=alt_text,
            )
        except SlackApiError:
            raise  # a refused call: SlackRefused, from the client
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            # The upload URL answered something else than 200 (slack-sdk's
            # SlackRequestError), or nothing. The type only: aiohttp's errors carry the
            # request's headers, token included.
            raise SlackUnreachable(
                f"Slack did not take the file ({type(error).__name__})"
            ) from None
        files = response.get("files") or [response.get("file") or {}]
        return str(files[0]["id"])

    async def shared_file(self, file_id: str) -> SharedFile | None:
        """A file as Slack describes it now (files.info), e.g. to download it again."""
        try:
            response = await self._client.files_info(file=file_id)
        except SlackApiError as error:
            logger.info("files.info failed: file=%s error=%s", file_id, slack_error(error))
            return None
        found = parse_files([response.get("file")])
        return found[0] if found else None

    def is_slack_host(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme == "https":
            return parts.netloc in self._hosts
        return parts.scheme == "http" and parts.netloc == self._insecure_host

    async def download(self, file: SharedFile, *, max_bytes: int) -> bytes:
        if file.size > max_bytes:
            raise FileDownloadError(f"it is larger than {max_bytes // 2**20} MB")
        url = file.url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                if not self.is_slack_host(url):
                    raise FileDownloadError("it is not hosted by Slack")
                async with self._session.get(
                    url,
                    headers={"Authorization": f"Bearer {self._token}"},
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT_SECONDS),
                ) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = urljoin(url, response.headers.get("Location", ""))
                        continue
                    return await _read_file(response, file, max_bytes)
        except (aiohttp.ClientError, TimeoutError) as error:
            # The type only: aiohttp's errors carry the request's headers, token included.
            logger.info("file download failed: file=%s error=%s", file.id, type(error).__name__)
            raise FileDownloadError("Slack did not deliver it") from error
        raise FileDownloadError("Slack redirected it too many times")


async def _read_file(response: aiohttp.ClientResponse, file: SharedFile, max_bytes: int) -> bytes:
    if response.status != 200:
        raise FileDownloadError(f"Slack answered HTTP {response.status}")
    if response.content_type == "text/html" and file.mimetype != "text/html":
        # Slack's answer to a request it does not authorise is a login page, with 200.
        raise FileDownloadError("Slack refused it (the app may lack the files:read scope)")
    data = await read_at_most(response, max_bytes)
    if data is None:
        raise FileDownloadError(f"it is larger than {max_bytes // 2**20} MB")
    return data


async def read_at_most(response: aiohttp.ClientResponse, max_bytes: int) -> bytes | None:
    """The body, or None as soon as it is known to be larger than `max_bytes`."""
    if (response.content_length or 0) > max_bytes:
        return None
    data = bytearray()
    async for chunk in response.content.iter_chunked(READ_CHUNK_BYTES):
        data += chunk
        if len(data) > max_bytes:
            return None
    return bytes(data)


def parse_files(raw: object) -> tuple[SharedFile, ...]:
    """The downloadable files of a message; deleted or hidden ones carry no URL and drop out."""
    if not isinstance(raw, list):
        return ()
    files: list[SharedFile] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        url = item.get("url_private_download") or item.get("url_private")
        file_id, name = item.get("id"), item.get("name") or item.get("title") or "file"
        if not (isinstance(url, str) and isinstance(file_id, str) and isinstance(name, str)):
            continue
        size = item.get("size")
        files.append(
            SharedFile(
                id=file_id,
                name=name,
                mimetype=str(item.get("mimetype") or ""),
                filetype=str(item.get("filetype") or ""),
                size=size if isinstance(size, int) and size >= 0 else 0,
                url=url,
            )
        )
    return tuple(files)
