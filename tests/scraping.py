"""Reading what the bot serves on METRICS_PORT, as Prometheus would."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def get(url: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response,
    ):
        return response.status, await response.text()


async def scrape(base: str) -> Samples:
    """Every sample at `base`/metrics, by name and labels."""
    status, text = await get(f"{base}/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)
