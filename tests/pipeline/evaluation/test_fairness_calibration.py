"""A fairness difference is judged on an interval that does not call noise a difference.

The spread between groups (max minus min) is larger in bootstrap resamples than in the data, so its
percentile interval sits above the value: on data with no difference at all, a percentile interval
put the equalized-odds difference beyond 0.20 in 90% of seeds (6 groups of about 40 rows). The basic
interval used by :mod:`pipeline.evaluation.fairness` keeps that under 5% and still sees a real one.
"""

from __future__ import annotations

import numpy as np

from pipeline.evaluation import stats
from pipeline.evaluation.fairness import parity_differences

SEEDS, BOUND, GROUPS = 40, 0.2, 6


def _world(seed: int, shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 240
    codes, y = rng.integers(0, GROUPS, n), (rng.random(n) < 0.4).astype(int)
    score = 0.4 + 0.3 * (y - 0.4) + rng.normal(0, 0.2, n) + shift * (codes == 0)
    return y, (score > 0.45).astype(int), codes


def _beyond_bound(shift: float, basic: bool) -> float:
    hits = 0
    for seed in range(SEEDS):
        y, decisions, codes = _world(seed, shift)
        interval = stats.bootstrap(lambda a, d, c: parity_differences(a, d, c, GROUPS)[1], (y, decisions, codes),
                                   200, seed, basic=basic, limits=(0.0, 1.0))  # fmt: skip
        hits += interval["ci_low"] is not None and interval["ci_low"] > BOUND
    return hits / SEEDS


def test_no_difference_is_rarely_called_one() -> None:
    assert _beyond_bound(0.0, basic=True) <= 0.05
    assert _beyond_bound(0.0, basic=False) >= 0.5, "the percentile interval this replaces calls noise a difference"


def test_a_real_difference_is_still_seen() -> None:
    assert _beyond_bound(0.6, basic=True) >= 0.9
