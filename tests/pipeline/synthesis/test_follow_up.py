"""Synthetic patients are observed as the study observed its own: no death after its last one."""

from __future__ import annotations

import polars as pl

from pipeline.synthesis.follow_up import censor_beyond_follow_up, follow_up_limits


def test_late_deaths_and_times_beyond_follow_up_are_censored() -> None:
    real = pl.DataFrame({"survival_months": [10.0, 50.0, 80.0, 100.0], "vital_status_event": [1, 1, 0, 0]})
    assert follow_up_limits(real) == (50.0, 100.0)
    synthetic = pl.DataFrame(
        {"survival_months": [20.0, 60.0, 90.0, 130.0, 120.0], "vital_status_event": [1, 1, 0, 1, 0]}
    )
    observed, changed = censor_beyond_follow_up(synthetic, follow_up_limits(real))
    assert changed == 3
    assert observed["survival_months"].to_list() == [20.0, 60.0, 90.0, 100.0, 100.0]
    assert observed["vital_status_event"].to_list() == [1, 0, 0, 0, 0]
    assert observed.schema == synthetic.schema


def test_a_cohort_without_outcomes_is_left_alone() -> None:
    frame = pl.DataFrame({"age_at_diagnosis": [50, 60]})
    assert follow_up_limits(frame) is None
    assert censor_beyond_follow_up(frame, None) == (frame, 0)


def test_a_sample_conditioned_on_the_event_keeps_it_and_moves_late_deaths_inside() -> None:
    limits = (50.0, 100.0)
    deaths = pl.DataFrame({"survival_months": [20.0, 70.0, 130.0], "vital_status_event": [1, 1, 1]})
    observed, changed = censor_beyond_follow_up(deaths, limits, event_fixed=True)
    assert changed == 2
    assert observed["vital_status_event"].to_list() == [1, 1, 1]
    assert observed["survival_months"].to_list() == [20.0, 50.0, 50.0]
