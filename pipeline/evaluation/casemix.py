"""Model-based concordance: the AUC or C-index a group would show if the model's own predictions were true.

A group cut by a strong predictor (an age band of a model that uses age) holds patients whose risks are
alike, so any model ranks them less well than the whole split: comparing a group's AUC with the whole
split's calls that restriction of range a performance gap. The model-based concordance (van Klaveren,
Gönen, Steyerberg & Vergouwe, Stat Med 2016) is the concordance expected from the group's own spread of
predictions, with outcomes drawn from them; the gap ``expected - observed`` is the loss of discrimination
beyond the group's case mix.

- binary: each pair (i, j) is an (event, non-event) pair with probability p_i (1 - p_j); the expected AUC
  is the concordant share of that weight (O(n log n) by sorting);
- multiclass: the binary one per class (one-vs-rest, the class's probability), averaged over the classes
  present, like :func:`pipeline.evaluation.stats.macro_auc`;
- survival: Gönen and Heller's concordance probability of a proportional-hazards score, the mean over
  pairs of 1 / (1 + exp(-|lp_i - lp_j|)), on log hazard ratios.

The expectation takes the predictions at their word, so they are first recalibrated on the whole test
split (:func:`recalibrated`: logistic recalibration a + b logit(p) per class; a one-covariate Cox model of
the risk for survival): a model too confident everywhere would otherwise expect more than it delivers in
every group. What remains is a group's loss of discrimination beyond its case mix and beyond the model's
overall calibration. It cannot see a group whose predictions the model flattens (it expects little there
and gets little), so :mod:`pipeline.evaluation.subgroups` uses it only for bands of the clinical attributes,
where a narrower case mix is expected, and compares every other group with the whole split.
"""

from __future__ import annotations

import numpy as np

from pipeline.evaluation import stats

PAIR_BLOCK = 512  # rows per block of the survival pairs (memory: block x n)


def expected_auc(p: np.ndarray) -> float:
    """Model-based AUC of probabilities ``p`` (ties count half)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    order = np.argsort(p, kind="stable")
    sorted_p, q = p[order], 1.0 - p[order]
    values, first = np.unique(sorted_p, return_index=True)
    tie_q = np.add.reduceat(q, first)  # each tie block's sum of (1 - p)
    below = np.concatenate([[0.0], np.cumsum(tie_q)[:-1]])  # (1 - p) of the strictly smaller predictions
    block = np.repeat(np.arange(len(values)), np.diff(np.append(first, len(p))))
    numerator = float((sorted_p * (below[block] + 0.5 * (tie_q[block] - q))).sum())
    denominator = float(sorted_p.sum() * q.sum() - (sorted_p * q).sum())
    if denominator <= 0:
        raise ValueError("no event / non-event weight")
    return numerator / denominator


def expected_macro_auc(p: np.ndarray, y: np.ndarray) -> float:
    """Model-based one-vs-rest AUC averaged over the classes present in ``y`` (class indices)."""
    values = [expected_auc(p[:, k]) for k in range(p.shape[1]) if 0 < (y == k).sum() < len(y)]
    if not values:
        raise ValueError("one class only")
    return float(np.mean(values))


def expected_c_index(log_hazard: np.ndarray) -> float:
    """Gönen and Heller's concordance probability of log hazard ratios (ties count half)."""
    lp = np.asarray(log_hazard, dtype=float)
    n = len(lp)
    if n < 2:
        raise ValueError("fewer than two rows")
    total = 0.0
    for start in range(0, n, PAIR_BLOCK):
        gaps = np.abs(lp[start : start + PAIR_BLOCK, None] - lp[None, :])
        total += float((1.0 / (1.0 + np.exp(-gaps))).sum())
    total -= n * 0.5  # each row against itself
    return total / (n * (n - 1))


def _recalibrate(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Probabilities ``p`` after the logistic recalibration logit(y) ~ a + b logit(p) fitted on these rows."""
    if len(np.unique(y)) < 2:
        return p
    logit = stats._logit(p)
    a, b = stats._logistic_fit(np.column_stack([np.ones(len(p)), logit]), y.astype(float), np.zeros(len(p)))
    return 1.0 / (1.0 + np.exp(-np.clip(a + b * logit, -30, 30)))


def recalibrated(kind: str, y: np.ndarray, prediction: np.ndarray, time: np.ndarray | None = None) -> np.ndarray:
    """The whole test split's predictions recalibrated on it: binary probabilities, multiclass probabilities
    (each class one-vs-rest), or survival log hazard ratios (a Cox model of the risk on these rows)."""
    if kind == "survival":
        return stats.RiskToSurvival(time, y, prediction).log_hazard(prediction)
    if prediction.ndim == 2:
        columns = range(prediction.shape[1])
        return np.column_stack([_recalibrate((y == k).astype(int), prediction[:, k]) for k in columns])
    return _recalibrate(y, prediction)
