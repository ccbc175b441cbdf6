"""Fairness differences of one attribute's decisions between its judged groups, with bootstrap 95% intervals.

fairlearn's two differences, counted with numpy: the demographic-parity difference (largest minus smallest
share flagged positive) and the equalized-odds difference (the larger of the true- and false-positive-rate
spreads) of the decisions at the task's threshold (fairlearn itself cost 0.2 s per attribute; it computes the
values of attributes not judged, and the tests check that both agree). The intervals are bootstraps over
the attribute's test rows (the evaluation's seed and ``bootstrap_small`` resamples; basic intervals: a
spread between groups is larger in resamples than in the data, so percentile intervals would sit above it
and call noise a difference), counted with the same numpy function. A resample
in which a group lacks rows, events or non-events is skipped.

Only the groups that :mod:`pipeline.evaluation.subgroups` judges (enough rows, events and non-events)
take part; the attribute is judged when at least two of its groups are, and the groups left out are
listed. An attribute that is not judged keeps fairlearn's value over all its groups, without an interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from pipeline.evaluation import stats

DIFFERENCES = ("demographic_parity_difference", "equalized_odds_difference")


def _spread(rates: np.ndarray) -> float:
    return float(rates.max() - rates.min())


def parity_differences(y: np.ndarray, decisions: np.ndarray, codes: np.ndarray, groups: int) -> tuple[float, float]:
    """(demographic-parity difference, equalized-odds difference) of 0/1 ``decisions`` between the groups
    ``codes`` (0 .. groups - 1); a ValueError when a group has no rows, events or non-events."""
    y, decisions = y.astype(float), decisions.astype(float)
    count = np.bincount(codes, minlength=groups)
    positives = np.bincount(codes, weights=y, minlength=groups)
    flagged = np.bincount(codes, weights=decisions, minlength=groups)
    true_positives = np.bincount(codes, weights=decisions * y, minlength=groups)
    negatives = count - positives
    if (count == 0).any() or (positives == 0).any() or (negatives == 0).any():
        raise ValueError("a group without rows, events or non-events")
    selection = flagged / count
    tpr, fpr = true_positives / positives, (flagged - true_positives) / negatives
    return _spread(selection), max(_spread(tpr), _spread(fpr))


def _fairlearn(y: np.ndarray, decisions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {
        "demographic_parity_difference": float(demographic_parity_difference(y, decisions, sensitive_features=labels)),
        "equalized_odds_difference": float(
            np.nan_to_num(equalized_odds_difference(y, decisions, sensitive_features=labels))
        ),
    }


def fairness_entry(
    attribute: str, y: np.ndarray, decisions: np.ndarray, labels: np.ndarray, judged: list[str], *, reps: int, seed: int
) -> dict[str, Any]:
    """The fairness entry of one attribute (or intersection): ``labels`` names each row's group, ``judged``
    the groups with enough rows, events and non-events."""
    groups = sorted(set(labels.tolist()))
    excluded = [g for g in groups if g not in judged]
    entry: dict[str, Any] = {"attribute": attribute, "judged": len(judged) >= 2, "groups_judged": len(judged),
                             "groups_excluded": excluded}  # fmt: skip
    if not entry["judged"]:
        values = _fairlearn(y, decisions, labels)
        entry["n"] = len(y)
        for name in DIFFERENCES:
            entry[name], entry[f"{name}_ci_low"], entry[f"{name}_ci_high"] = round(values[name], 6), None, None
        return entry
    keep = np.isin(labels, judged)
    y, decisions, labels = y[keep], decisions[keep], labels[keep]
    codes = np.searchsorted(np.array(sorted(judged)), labels)
    values = dict(zip(DIFFERENCES, parity_differences(y, decisions, codes, len(judged)), strict=True))
    entry["n"] = len(y)
    for i, name in enumerate(DIFFERENCES):
        interval = stats.bootstrap(
            lambda a, d, c, i=i: parity_differences(a, d, c, len(judged))[i],
            (y, decisions, codes),
            reps,
            seed,
            basic=True,
            limits=(0.0, 1.0),
        )
        entry[name] = round(values[name], 6)
        entry[f"{name}_ci_low"], entry[f"{name}_ci_high"] = interval["ci_low"], interval["ci_high"]
    return entry
