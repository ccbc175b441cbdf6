"""Kaplan-Meier gaps compared where both curves rest on enough patients, with bootstrap intervals."""

from __future__ import annotations

import numpy as np
import polars as pl
from lifelines import KaplanMeierFitter

from pipeline.validation import survival


def test_the_product_limit_matches_lifelines() -> None:
    rng = np.random.default_rng(0)
    times = np.round(rng.exponential(30, 300))  # ties, as whole months give
    events = rng.random(300) < 0.6
    grid = np.linspace(0, times.max(), 57)
    ours, at_risk = survival.km_at(times, events, grid)
    expected = KaplanMeierFitter().fit(times, events).survival_function_at_times(grid).to_numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-12)
    assert at_risk[0] == 300 and at_risk[-1] == (times >= grid[-1]).sum()


def test_a_tail_of_two_patients_does_not_decide_the_gap() -> None:
    """The same cohort, except that the synthetic one kills its last two long survivors: the gap
    over the whole follow-up is 1 (one curve drops to 0), over the window with enough at risk 0."""
    times = np.r_[np.linspace(1, 60, 198), 100.0, 110.0]
    events = np.r_[np.ones(198), 0, 0]
    real = pl.DataFrame({"survival_months": times, "vital_status_event": events.astype(int)})
    synthetic = real.with_columns(pl.lit(1, dtype=pl.Int64).alias("vital_status_event"))
    synthetic = real.head(198).vstack(synthetic.tail(2))
    largest, _ = survival.km_distance(real, synthetic)
    assert largest == 0.0
    assert survival.comparison_window(times, times) == np.sort(times)[200 - 10]


def test_gap_metrics_carry_bootstrap_intervals_that_cover_noise() -> None:
    rng = np.random.default_rng(1)

    def cohort(n: int) -> pl.DataFrame:
        return pl.DataFrame(
            {"survival_months": rng.exponential(40, n), "vital_status_event": (rng.random(n) < 0.7).astype(int)}
        )

    from pipeline.validation.columns import column_kinds

    real, synthetic = cohort(300), cohort(300)
    metrics = survival.km_metrics(real, synthetic, column_kinds(real, synthetic), [], seed=0)
    gap = next(m for m in metrics if m.metric == "km_max_gap")
    assert 0 <= gap.lower < gap.value < gap.upper < 0.3
    again = survival.km_metrics(real, synthetic, column_kinds(real, synthetic), [], seed=0)
    assert again == metrics  # seeded
