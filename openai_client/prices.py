"""What an answer costs: US dollars per million tokens, by model.

The defaults are OpenAI's list prices for standard processing as published when this
table was written; `MODEL_PRICES` overrides or extends them (other providers, new
models, negotiated rates). A model with no known price is counted in tokens only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from openai_client.models import Usage


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.input_tokens * self.input_per_million
            + usage.output_tokens * self.output_per_million
        ) / 1_000_000


LIST_PRICES: dict[str, Price] = {
    "gpt-5.4-mini": Price(0.75, 4.50),
    "gpt-5.4-nano": Price(0.20, 1.25),
    "gpt-5.2": Price(1.75, 14.00),
    "gpt-5.1": Price(1.25, 10.00),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "o3": Price(2.00, 8.00),
    "o4-mini": Price(1.10, 4.40),
}


# Dollars per image by size, for the sizes the bot asks for. OpenAI's list prices
# ("Cost and latency" in https://platform.openai.com/docs/guides/image-generation, and
# https://openai.com/api/pricing/) at high quality: the bot leaves the quality to the
# model ("auto"), and high is the most that can cost. An edit's output is priced like a
# drawing of the larger sizes; its input image tokens are not counted.
IMAGE_LIST_PRICES: dict[str, dict[str, float]] = {
    "gpt-image-1": {"1024x1024": 0.167, "1024x1536": 0.25, "1536x1024": 0.25},
    "gpt-image-1-mini": {"1024x1024": 0.036, "1024x1536": 0.052, "1536x1024": 0.052},
    "gpt-image-1.5": {"1024x1024": 0.133, "1024x1536": 0.20, "1536x1024": 0.20},
}


def _family_of(model: str, names: list[str]) -> str | None:
    """`model` itself, or the family a dated snapshot ("gpt-4.1-2025-04-14") is of.
    `names` go longest first, so "gpt-5-mini" wins over "gpt-5" for "gpt-5-mini-2025-08-07"."""
    if model in names:
        return model
    for name in names:
        if model.startswith(name + "-") and model[len(name) + 1 : len(name) + 2].isdigit():
            return name
    return None


class PriceTable:
    def __init__(self, overrides: Mapping[str, Price]) -> None:
        self._prices = {**LIST_PRICES, **overrides}
        self._names = sorted(self._prices, key=len, reverse=True)
        self._image_names = sorted(IMAGE_LIST_PRICES, key=len, reverse=True)

    def price(self, model: str) -> Price | None:
        """The model's price; a dated snapshot takes its family's."""
        family = _family_of(model, self._names)
        return self._prices[family] if family else None

    def image_cost(self, model: str, size: str | None) -> float | None:
        """What one image of `size` costs (None: an edit, priced at the largest size);
        None when the image model's price is not known."""
        family = _family_of(model, self._image_names)
        if family is None:
            return None
        prices = IMAGE_LIST_PRICES[family]
        return prices.get(size, max(prices.values())) if size else max(prices.values())

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.price(model)
        return price.cost(usage) if price else None


def parse_prices(text: str) -> dict[str, Price]:
    """`model=input/output, …` in dollars per million tokens; ValueError says what is wrong."""
    prices: dict[str, Price] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        model, _, figures = entry.partition("=")
        first, _, second = figures.partition("/")
        try:
            price = Price(float(first), float(second))
        except ValueError:
            raise ValueError(f"{model.strip() or entry!r}: expected model=input/output") from None
        if not model.strip() or price.input_per_million < 0 or price.output_per_million < 0:
            raise ValueError(f"{entry!r}: expected model=input/output")
        prices[model.strip()] = price
    return prices
