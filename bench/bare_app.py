"""The floor for bench/burst.py: a bare Bolt AsyncApp that posts one reply per mention.

No model, no storage, no streaming: what any Socket Mode bot must spend per event.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


async def main() -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token=os.environ["SLACK_BOT_TOKEN"],
            base_url=os.environ["SLACK_API_URL"],
            session=session,
        )
        app = AsyncApp(client=client)

        @app.event("app_mention")
        async def reply(event: dict[str, Any]) -> None:
            await client.chat_postMessage(
                channel=event["channel"],
                thread_ts=event.get("thread_ts") or event["ts"],
                text=f"Answer to: {event['text']}",
            )

        @app.event("message")
        async def ignore() -> None:
            pass

        handler = AsyncSocketModeHandler(app, os.environ["SLACK_APP_TOKEN"])
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await stop.wait()
        await handler.close_async()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    asyncio.run(main())
