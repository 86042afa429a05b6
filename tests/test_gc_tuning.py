"""The collector tuning of a running gateway: start-up heap frozen, then handed back."""

from __future__ import annotations

import gc

from gateway.gc_tuning import tuned_gc


def test_the_start_up_heap_is_frozen_and_handed_back_on_exit() -> None:
    before = gc.get_threshold()
    with tuned_gc(enabled=True, gen0_threshold=12_345):
        assert gc.get_freeze_count() > 1_000  # the modules and objects alive now
        assert gc.get_threshold() == (12_345, before[1], before[2])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_turned_off_it_changes_nothing() -> None:
    before = gc.get_threshold()
    with tuned_gc(enabled=False, gen0_threshold=12_345):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before
