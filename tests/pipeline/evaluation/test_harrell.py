"""Harrell's C-index in numpy blocks equals lifelines' on ties in times and scores, censoring at a death's time,
and sizes around the block size; it refuses what lifelines refuses."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index

from pipeline.evaluation.stats import harrell_c


@pytest.mark.parametrize(("n", "seed"), [(5, 0), (40, 1), (257, 2), (900, 3), (1500, 4), (2500, 5)])
def test_equal_to_lifelines(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 30, n).astype(float)  # many tied times
    event = (rng.random(n) < 0.6).astype(int)
    event[0], time[0] = 1, 0.5  # at least one comparable pair
    risk = np.round(rng.normal(size=n), 1)  # many tied scores
    assert harrell_c(time, event, risk) == pytest.approx(concordance_index(time, -risk, event), abs=1e-12)


def test_refuses_no_events_no_pairs_and_nan() -> None:
    with pytest.raises(ValueError, match="no events"):
        harrell_c(np.array([1.0, 2.0]), np.array([0, 0]), np.array([0.1, 0.2]))
    with pytest.raises(ZeroDivisionError):
        harrell_c(np.array([3.0, 3.0]), np.array([1, 1]), np.array([0.1, 0.2]))  # deaths at the same time only
    with pytest.raises(ValueError, match="NaN"):
        harrell_c(np.array([1.0, 2.0]), np.array([1, 0]), np.array([np.nan, 0.2]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_censoring_survival_equals_lifelines_kaplan_meier(seed: int) -> None:
    from lifelines import KaplanMeierFitter

    from pipeline.evaluation.stats import censoring_survival

    rng = np.random.default_rng(seed)
    time = rng.integers(0 if seed == 2 else 1, 25, 300).astype(float)  # ties; zeros in one case
    event = (rng.random(300) < 0.5).astype(int)
    fitter = KaplanMeierFitter().fit(time, 1 - event)
    grid = fitter.survival_function_.index.to_numpy()
    values = fitter.survival_function_.iloc[:, 0].to_numpy()
    probe = np.linspace(-1, 30, 125)
    position = np.searchsorted(grid, probe, side="left") - 1
    expected = np.maximum(np.where(position >= 0, values[np.clip(position, 0, None)], 1.0), 1e-3)
    assert np.allclose(censoring_survival(time, event)(probe), expected, atol=1e-12)


def test_the_resamples_at_once_equal_one_resample_at_a_time() -> None:
    from pipeline.evaluation.stats import _harrell_resamples, bootstrap

    rng = np.random.default_rng(7)
    n = 300
    time, event = rng.integers(1, 40, n).astype(float), (rng.random(n) < 0.4).astype(int)
    risk = np.round(rng.normal(size=n), 1)
    draws = [np.random.default_rng(s).integers(0, n, size=n) for s in range(30)]
    one_by_one = [harrell_c(time[i], event[i], risk[i]) for i in draws]
    assert np.allclose(_harrell_resamples(time, event, risk, draws), one_by_one, atol=1e-12)
    fast = bootstrap(harrell_c, (time, event, risk), 200, 3)
    slow = bootstrap(lambda t, e, r: harrell_c(t, e, r), (time, event, risk), 200, 3)  # the generic path
    assert fast == pytest.approx(slow, abs=1e-9)
