"""The bot-wide byte budget: files wait in order of arrival, and are told they wait."""

from __future__ import annotations

import asyncio

import pytest

from untrusted.budget import ByteBudget


async def test_what_fits_goes_at_once_and_the_rest_waits_in_order() -> None:
    budget = ByteBudget(100)
    order: list[str] = []
    told: list[str] = []

    async def hold(name: str, size: int, until: asyncio.Event) -> None:
        async def waiting() -> None:
            told.append(name)

        async with budget.hold(size, waiting):
            order.append(name)
            await until.wait()

    release = {name: asyncio.Event() for name in "abcd"}
    first = asyncio.create_task(hold("a", 80, release["a"]))
    await asyncio.sleep(0)
    # b is larger than what is left; c would fit, but does not overtake b.
    others = [
        asyncio.create_task(hold(name, size, release[name]))
        for name, size in (("b", 50), ("c", 10))
    ]
    await asyncio.sleep(0.01)
    assert (order, told, budget.waiting) == (["a"], ["b", "c"], 2)
    release["a"].set()
    await asyncio.sleep(0.01)
    assert order == ["a", "b", "c"] and budget.held == 60
    for event in release.values():
        event.set()
    await asyncio.gather(first, *others)
    assert budget.held == 0


async def test_a_file_larger_than_the_budget_holds_all_of_it() -> None:
    budget = ByteBudget(100)
    async with budget.hold(10_000):
        assert budget.held == 100


async def test_a_waiter_that_gives_up_leaves_nothing_held_and_lets_the_next_in() -> None:
    budget = ByteBudget(100)
    gate = asyncio.Event()

    async def holder() -> None:
        async with budget.hold(100):
            await gate.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            async with budget.hold(60):
                pass
    assert budget.waiting == 0
    gate.set()
    await held
    async with budget.hold(100):
        assert budget.held == 100
    assert budget.held == 0
