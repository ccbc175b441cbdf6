"""Subgroups of every protected attribute and of every pair of them (intersections).

(fairlearn's ``MetricFrame`` computed the groups' scores until it cost 2 s of a 15 s evaluation in pandas
group-by overhead on support2: every judged group's score is bootstrapped here anyway, so the groups are
taken with one pandas group-by and scored directly; :mod:`pipeline.evaluation.fairness` counts the parity
differences with fairlearn's definitions.)

Per group: rows, events, the task's score (AUC, or Harrell's C-index for survival) and the Brier score
(the integrated Brier score for survival, censoring-aware through IPCW weights of the whole test split),
calibration in the large (mean predicted minus observed rate), each with a bootstrap interval for the
judged groups: at least ``min_rows`` rows and ``min_events`` events (and, for binary tasks, as many
non-events). Per attribute (binary tasks): fairlearn's demographic-parity and equalized-odds differences
of the decisions at the task's threshold between its judged groups, with bootstrap intervals (see
:mod:`pipeline.evaluation.fairness`). Per judged group, ``expected``: the score it is compared with
(``compared_with``): the whole split's; or, for a band of a clinical attribute (age), the AUC or C-index
its own recalibrated predictions lead one to expect (model-based concordance,
:mod:`pipeline.evaluation.casemix`), since an age band of a model that uses age ranks less well than the
whole split by its narrower case mix alone, which is not a gap. And the worst judged group: the largest
gap of its score below that, with the gap's interval (that score minus the group's interval ends).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from pipeline.evaluation import stats
from pipeline.evaluation.casemix import expected_auc, expected_c_index, expected_macro_auc, recalibrated
from pipeline.evaluation.fairness import fairness_entry
from pipeline.evaluation.performance import Scored
from pipeline.evaluation.tasks import BINARY, MULTICLASS, SURVIVAL, Task
from pipeline.subgroups import subgroup_labels

SEPARATOR = "&"


def _metrics(task: Task, scored: Scored, grid: np.ndarray | None, g: Any) -> dict[str, Callable[[np.ndarray], float]]:
    """Metrics of a set of row indices."""
    y, p, time = scored.y, scored.prediction, scored.time
    if task.kind == SURVIVAL:
        curves = scored.survival.survival(p, grid) if scored.survival is not None else None
        metrics = {"c_index": lambda i: stats.harrell_c(time[i], y[i], p[i])}
        if curves is not None:  # every row's share once; a group's score (and each resample's) is their mean
            shares = stats.brier_contributions(time, y, curves, grid, g)
            metrics["integrated_brier_score"] = lambda i: float(shares[i].mean())
        return metrics
    if task.kind == MULTICLASS:
        return {
            "auc": lambda i: stats.macro_auc(y[i], p[i]),
            "brier": lambda i: stats.brier(y[i], p[i]),
            "accuracy": lambda i: float((p[i].argmax(axis=1) == y[i]).mean()),
        }
    return {
        "auc": lambda i: stats.auc(y[i], p[i]),
        "brier": lambda i: stats.brier(y[i], p[i]),
        "calibration_in_the_large": lambda i: float(p[i].mean() - y[i].mean()),
    }


def _events(task: Task, y: np.ndarray) -> int | None:
    """Events among a group's labels (binary and survival; None for multiclass)."""
    return None if task.kind == MULTICLASS else int(y.sum())


def enough_events(task: Task, y: np.ndarray, min_events: int) -> bool:
    """A group's score can be judged: ``min_events`` events (binary: and non-events; multiclass: rows of
    every class)."""
    if task.kind == MULTICLASS:
        return bool((np.bincount(y.astype(int), minlength=len(task.classes)) >= min_events).all())
    events = int(y.sum())
    return events >= min_events and (task.kind != BINARY or len(y) - events >= min_events)


def expected_score(task: Task, calibrated: np.ndarray, y: np.ndarray, members: np.ndarray) -> float | None:
    """The group's model-based AUC or C-index from the recalibrated predictions (None when it cannot be
    computed)."""
    if task.kind == SURVIVAL:
        return stats._safe(expected_c_index, (calibrated[members],))
    if task.kind == MULTICLASS:
        return stats._safe(expected_macro_auc, (calibrated[members], y[members]))
    return stats._safe(expected_auc, (calibrated[members],))


def _array_or_none(compute: Callable[[], np.ndarray]) -> np.ndarray | None:
    """``compute()``, or None when a fit on these rows fails (one class only, no events)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return compute()
    except stats.FIT_ERRORS:
        return None


def _worst(groups: list[dict[str, Any]], target: str) -> dict[str, Any] | None:
    """The judged group furthest below the score it is compared with, the gap and the gap's interval."""
    judged = [g for g in groups if g["judged"] and g[target]["value"] is not None and g.get("expected") is not None]
    worst = max(judged, key=lambda g: g["expected"] - g[target]["value"], default=None)
    if worst is None:
        return None
    score, expected = worst[target], worst["expected"]
    known = score["ci_low"] is not None and score["ci_high"] is not None
    return {"attribute": worst["attribute"], "group": worst["group"], "n": worst["n"], **score,
            "expected": expected, "compared_with": worst["compared_with"], "gap": round(expected - score["value"], 6),
            "gap_ci_low": round(expected - score["ci_high"], 6) if known else None,
            "gap_ci_high": round(expected - score["ci_low"], 6) if known else None,
            "judged_groups": len(judged)}  # fmt: skip


def subgroup_scores(
    task: Task,
    scored: Scored,
    rows: pl.DataFrame,
    train: pl.DataFrame,
    attributes: list[str],
    *,
    min_rows: int,
    reps: int,
    seed: int,
    min_events: int = 10,
    clinical: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The subgroups block of the output contract; ``rows`` are the scored test rows (same order). A group of
    a ``clinical`` attribute (or an intersection with one) is compared with its case-mix expectation, every
    other group with the whole split's score."""
    present = [a for a in attributes if a in rows.columns and rows[a].drop_nulls().n_unique() >= 2]
    labels = {a: subgroup_labels(rows, a, train).to_numpy() for a in present}
    grid = stats.brier_grid(scored.time) if task.kind == SURVIVAL else None
    g = stats.censoring_survival(scored.time, scored.y) if task.kind == SURVIVAL else None
    metrics = _metrics(task, scored, grid, g)
    target = task.target
    overall = stats._safe(metrics[target], (np.arange(len(scored.y)),))
    calibrated = None
    if any(a in clinical for a in present):
        calibrated = _array_or_none(lambda: recalibrated(task.kind, scored.y, scored.prediction, scored.time))
    groups, fairness = [], []
    combos = [(a,) for a in present] + list(itertools.combinations(present, 2))
    for combo in combos:
        features = pd.DataFrame({a: labels[a] for a in combo})
        known = features.notna().all(axis=1).to_numpy()
        index = np.flatnonzero(known)
        if index.size == 0:
            continue
        name = SEPARATOR.join(combo)
        for key, positions in sorted(features.iloc[index].groupby(list(combo), sort=True).indices.items()):
            key = key if isinstance(key, tuple) else (key,)
            members = index[positions]
            n = len(members)
            judged = n >= min_rows and enough_events(task, scored.y[members], min_events)
            row: dict[str, Any] = {"attribute": name, "group": SEPARATOR.join(str(k) for k in key), "n": n,
                                   "events": _events(task, scored.y[members]), "judged": judged}  # fmt: skip
            for metric_name, metric in metrics.items():
                if judged and metric_name == "c_index":  # the same resamples, every one at once
                    arrays = (scored.time[members], scored.y[members], scored.prediction[members])
                    row[metric_name] = stats.bootstrap(stats.harrell_c, arrays, reps, seed)
                elif judged and metric_name == "auc" and task.kind == BINARY:  # likewise
                    arrays = (scored.y[members], scored.prediction[members])
                    row[metric_name] = stats.bootstrap(stats.auc, arrays, reps, seed)
                elif judged:
                    row[metric_name] = stats.bootstrap(metric, (members,), reps, seed)
                else:
                    row[metric_name] = stats.score(stats._safe(metric, (members,)), None, None, n)
            if judged and set(combo) & set(clinical):
                expected = None if calibrated is None else expected_score(task, calibrated, scored.y, members)
                row["expected"], row["compared_with"] = None if expected is None else round(expected, 6), "case mix"
            elif judged:
                row["expected"], row["compared_with"] = overall, "whole split"
            groups.append(row)
        if task.kind == BINARY:
            decisions = (scored.prediction[index] >= task.threshold).astype(int)
            sensitive = features.iloc[index].astype(str).agg(SEPARATOR.join, axis=1).to_numpy()
            judged_groups = [g["group"] for g in groups if g["attribute"] == name and g["judged"]]
            fairness.append(fairness_entry(name, scored.y[index], decisions, sensitive, judged_groups, reps=reps,
                                           seed=seed))  # fmt: skip
    return {
        "metric": target,
        "overall": None if overall is None else round(overall, 6),
        "groups": groups,
        "worst": _worst(groups, target),
        "fairness": fairness,
    }
