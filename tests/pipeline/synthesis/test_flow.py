"""The flow's training budget: fewer epochs over a registry-sized cohort, all of them on a small one."""

from __future__ import annotations


def test_the_flow_trains_fewer_epochs_over_a_registry_sized_cohort_never_on_a_small_one() -> None:
    from pipeline.synthesis.flow import MAX_STEPS, _epochs_within

    assert _epochs_within(60, 14_294, 512, MAX_STEPS) == 60  # the largest default cohort: every epoch
    assert _epochs_within(60, 100_000, 512, MAX_STEPS) == 60
    assert _epochs_within(60, 700_000, 512, MAX_STEPS) == 8  # 1,368 steps an epoch: 10,944 steps
    assert _epochs_within(60, 50_000_000, 512, MAX_STEPS) == 1  # at least one pass
    assert _epochs_within(60, 700_000, 512, None) == 60  # no budget: as asked
