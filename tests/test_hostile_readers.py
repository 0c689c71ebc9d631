"""Every hostile file and page of tests/hostile.py, read in a child process limited as the pool's
workers are (1 GiB of address space, 20 s of CPU), ends with the clear note it expects.

A reader that needs the process to be killed fails here: the pool's limits are the last line
of defence, not the plan. The few cases no reader of ours can stop (`beyond_reader`) are
expected to be killed, and say why.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.hostile import CORPUS, PAGES, HostileFile, read_in_child

BUILDERS = CORPUS.builders + PAGES.builders


@pytest.mark.parametrize("builder", BUILDERS, ids=[builder.__name__ for builder in BUILDERS])
def test_hostile_file_ends_with_a_clear_note(builder: Callable[[], HostileFile]) -> None:
    case = builder()
    outcome = read_in_child(case)
    if case.beyond_reader:
        assert outcome.killed, f"read within bounds now ({outcome.told}): drop beyond_reader"
        pytest.xfail(case.beyond_reader)
    assert not outcome.killed, f"{case.name} needed the process limits: {outcome.told}"
    assert case.expect in outcome.told
