"""Subgroups of every protected attribute and of every pair of them (intersections).

(fairlearn's ``MetricFrame`` computed the groups' scores until it cost 2 s of a 15 s evaluation in pandas
group-by overhead on support2: every judged group's score is bootstrapped here anyway, so the groups are
taken with one pandas group-by and scored directly; fairlearn still computes the parity differences.)

Per group: rows, events, the task's score (AUC, or Harrell's C-index for survival) and the Brier score
(the integrated Brier score for survival, censoring-aware through IPCW weights of the whole test split),
calibration in the large (mean predicted minus observed rate), each with a bootstrap interval for the
judged groups: at least ``min_rows`` rows and ``min_events`` events (and, for binary tasks, as many
non-events). Per attribute (binary tasks): fairlearn's demographic-parity and equalized-odds differences
of the decisions at the task's threshold between its judged groups, with bootstrap intervals (see
:mod:`pipeline.evaluation.fairness`). Per judged group, ``expected``: the AUC or C-index its own spread of
predictions leads one to expect (model-based concordance, :mod:`pipeline.evaluation.casemix`). And the
worst judged group: the largest gap of its score below that expectation, with the gap's interval (the
expectation minus the group's interval ends); a group cut by a predictor the model uses (an age band)
ranks less well than the whole split by its case mix alone, which is not a gap.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from pipeline.evaluation import stats
from pipeline.evaluation.casemix import expected_auc, expected_c_index, expected_macro_auc
from pipeline.evaluation.fairness import fairness_entry
from pipeline.evaluation.performance import Scored
from pipeline.evaluation.tasks import BINARY, MULTICLASS, SURVIVAL, Task
from pipeline.subgroups import subgroup_labels

SEPARATOR = "&"


def _metrics(task: Task, scored: Scored, grid: np.ndarray | None, g: Any) -> dict[str, Callable[[np.ndarray], float]]:
    """Metrics of a set of row indices (fairlearn passes the indices as y_true)."""
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


def expected_score(task: Task, scored: Scored, members: np.ndarray) -> float | None:
    """The group's model-based AUC or C-index (None when it cannot be computed)."""
    p = scored.prediction[members]
    if task.kind == SURVIVAL:
        if scored.survival is None:
            return None
        return stats._safe(expected_c_index, (scored.survival.log_hazard(p),))
    if task.kind == MULTICLASS:
        return stats._safe(expected_macro_auc, (p, scored.y[members]))
    return stats._safe(expected_auc, (p,))


def _worst(groups: list[dict[str, Any]], target: str) -> dict[str, Any] | None:
    """The judged group furthest below its expected score, the gap and the gap's interval."""
    judged = [g for g in groups if g["judged"] and g[target]["value"] is not None and g.get("expected") is not None]
    worst = max(judged, key=lambda g: g["expected"] - g[target]["value"], default=None)
    if worst is None:
        return None
    score, expected = worst[target], worst["expected"]
    known = score["ci_low"] is not None and score["ci_high"] is not None
    return {"attribute": worst["attribute"], "group": worst["group"], "n": worst["n"], **score,
            "expected": expected, "gap": round(expected - score["value"], 6),
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
) -> dict[str, Any]:
    """The subgroups block of the output contract; ``rows`` are the scored test rows (same order)."""
    present = [a for a in attributes if a in rows.columns and rows[a].drop_nulls().n_unique() >= 2]
    labels = {a: subgroup_labels(rows, a, train).to_numpy() for a in present}
    grid = stats.brier_grid(scored.time) if task.kind == SURVIVAL else None
    g = stats.censoring_survival(scored.time, scored.y) if task.kind == SURVIVAL else None
    metrics = _metrics(task, scored, grid, g)
    target = task.target
    overall = stats._safe(metrics[target], (np.arange(len(scored.y)),))
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
            if judged:
                expected = expected_score(task, scored, members)
                row["expected"] = None if expected is None else round(expected, 6)
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
