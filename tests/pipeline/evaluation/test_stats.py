"""The scores agree with the libraries and formulas they stand in for."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index
from sklearn.metrics import normalized_mutual_info_score, roc_auc_score

from pipeline.evaluation import stats
from pipeline.evaluation.reference import normalized_mutual_information

RNG = np.random.default_rng(7)


def test_auc_equals_scikit_learn_with_ties() -> None:
    y = RNG.integers(0, 2, 300)
    p = np.round(RNG.random(300) + 0.3 * y, 1)  # many ties
    assert stats.auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    with pytest.raises(ValueError):
        stats.auc(np.ones(5), RNG.random(5))


def test_wilson_interval_matches_the_formula() -> None:
    low, high = stats.wilson(0, 120)
    assert low == 0 and high == pytest.approx(3.8415 / (120 + 3.8415), rel=1e-3)  # z^2 / (n + z^2) at p = 0
    low, high = stats.wilson(30, 100)
    assert low == pytest.approx(0.2189, abs=1e-3) and high == pytest.approx(0.3958, abs=1e-3)
    assert stats.wilson(0, 0) == (None, None)


def test_calibration_of_well_calibrated_and_overconfident_predictions() -> None:
    logit = RNG.normal(0, 1.5, 20_000)
    p = 1 / (1 + np.exp(-logit))
    y = (RNG.random(p.size) < p).astype(int)
    assert stats.calibration_slope(y, p) == pytest.approx(1.0, abs=0.06)
    assert stats.calibration_intercept(y, p) == pytest.approx(0.0, abs=0.05)
    overconfident = 1 / (1 + np.exp(-2 * logit))
    assert stats.calibration_slope(y, overconfident) == pytest.approx(0.5, abs=0.04)


def test_uno_c_equals_harrell_c_without_censoring() -> None:
    time = RNG.exponential(10, 400)
    risk = -time + RNG.normal(0, 5, 400)
    event = np.ones(400, dtype=int)
    harrell = concordance_index(time, -risk, event)
    assert stats.harrell_c(time, event, risk) == pytest.approx(harrell)
    assert stats.uno_c(time, event, risk, tau_quantile=1.0) == pytest.approx(harrell, abs=1e-9)


def test_integrated_brier_score_rewards_informative_curves() -> None:
    hazard = np.exp(RNG.normal(0, 1, 1000))
    time_to_event, censor = RNG.exponential(1 / hazard), RNG.exponential(2.0, 1000)
    time, event = np.minimum(time_to_event, censor), (time_to_event <= censor).astype(int)
    informative = stats.RiskToSurvival(time, event, np.log(hazard))
    blind = stats.RiskToSurvival(time, event, RNG.normal(0, 1, 1000))
    grid, g = stats.brier_grid(time), stats.censoring_survival(time, event)
    good = stats.integrated_brier(time, event, informative.survival(np.log(hazard), grid), grid, g)
    bad = stats.integrated_brier(time, event, blind.survival(RNG.normal(0, 1, 1000), grid), grid, g)
    assert 0 < good < bad < 0.3


def test_bootstrap_interval_covers_the_value_and_is_seeded() -> None:
    y = RNG.integers(0, 2, 200)
    p = RNG.random(200) + 0.5 * y
    first, second = stats.bootstrap(stats.auc, (y, p), 100, 3), stats.bootstrap(stats.auc, (y, p), 100, 3)
    assert first == second and first["ci_low"] < first["value"] < first["ci_high"] and first["n"] == 200
    assert stats.bootstrap(stats.auc, (np.ones(10), p[:10]), 50, 0)["value"] is None


def test_normalized_mutual_information_equals_scikit_learn() -> None:
    a = RNG.integers(0, 4, 500)
    b = (a + RNG.integers(0, 2, 500)) % 5
    assert normalized_mutual_information(a, b) == pytest.approx(normalized_mutual_info_score(a, b))


def test_js_divergence_is_zero_for_equal_predictions_and_one_for_opposite_certainties() -> None:
    p = RNG.random(50)
    assert stats.js_divergence_pairs(p, p) == pytest.approx(0.0, abs=1e-12)
    assert stats.js_divergence_pairs(np.zeros(5), np.ones(5)) == pytest.approx(1.0)


def test_a_groups_integrated_brier_score_is_the_mean_of_its_rows_shares() -> None:
    """What lets a subgroup's bootstrap of the IBS cost a mean per resample: the same value as the full formula."""
    import numpy as np

    from pipeline.evaluation import stats

    rng = np.random.default_rng(0)
    time, event = rng.exponential(20, 400), (rng.random(400) < 0.6).astype(int)
    grid, g = stats.brier_grid(time), stats.censoring_survival(time, event)
    curves = np.exp(-np.outer(rng.random(400) + 0.2, grid) / 20)
    shares = stats.brier_contributions(time, event, curves, grid, g)
    for rows in (np.arange(400), rng.choice(400, 150), np.flatnonzero(event == 1)):
        expected = stats.integrated_brier(time[rows], event[rows], curves[rows], grid, g)
        assert abs(shares[rows].mean() - expected) < 1e-12


def test_every_auc_resample_at_once_equals_one_at_a_time() -> None:
    """The vectorized bootstrap of the AUC gives each resample's AUC exactly (ties and copies included)."""
    import numpy as np

    from pipeline.evaluation import stats

    rng = np.random.default_rng(1)
    y, p = (rng.random(300) < 0.3).astype(int), np.round(rng.random(300), 2)  # rounded: many ties
    draws = [rng.integers(0, 300, size=300) for _ in range(50)]
    expected = [stats.auc(y[d], p[d]) for d in draws]
    assert np.allclose(stats._auc_resamples(y, p, draws), expected, atol=1e-12)
    assert stats._auc_resamples(np.zeros(5, dtype=int), p[:5], [np.arange(5)]) == []  # one class: left out
