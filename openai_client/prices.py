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


class PriceTable:
    def __init__(self, overrides: Mapping[str, Price]) -> None:
        self._prices = {**LIST_PRICES, **overrides}
        # Longest name first, so "gpt-5-mini" wins over "gpt-5" for "gpt-5-mini-2025-08-07".
        self._names = sorted(self._prices, key=len, reverse=True)

    def price(self, model: str) -> Price | None:
        """The model's price; a dated snapshot ("gpt-4.1-2025-04-14") takes its family's."""
        if model in self._prices:
            return self._prices[model]
        for name in self._names:
            if model.startswith(name + "-") and model[len(name) + 1 : len(name) + 2].isdigit():
                return self._prices[name]
        return None

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
