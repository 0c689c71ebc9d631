"""Runs the tests' fake OpenAI-compatible server (it obeys the markers of
tests/fakes/scripted_model.py) alone, so that its CPU is not the client's.

.venv/bin/python bench/fake_model_server.py  # prints its base URL, runs until killed
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.scripted_model import scripted_model


async def main() -> None:
    server = scripted_model()
    server.latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    await server.start()
    print(server.base_url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
