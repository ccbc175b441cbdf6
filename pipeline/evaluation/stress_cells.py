"""Stress cells: the task's score on each rare edge-case cell and upsampled subgroup against the common cells.

The common cells are the release's ``test`` split (realistic synthetic patients). A cell's ``gap`` is
the common score minus the cell's (positive: the model does worse on the cell). Each score has a
bootstrap interval; cells with fewer than ``min_rows`` labelled rows are listed but not judged. The
gap's 95% interval combines the two (independent samples): each side's half-width is the two scores'
half-widths on that side added in quadrature.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from pipeline.evaluation import stats
from pipeline.evaluation.tasks import BINARY, MULTICLASS, SURVIVAL, Task

MIN_CELL_ROWS = 10


def _metric(task: Task):
    if task.kind == SURVIVAL:
        return lambda y, p, t: stats.harrell_c(t, y, p)
    if task.kind == MULTICLASS:
        return lambda y, p, t: stats.macro_auc(y, p)
    return lambda y, p, t: stats.auc(y, p)


def gap_interval(common: dict[str, Any], cell: dict[str, Any]) -> tuple[float | None, float | None]:
    """95% interval of ``common - cell`` from the two scores' intervals (None when either lacks one)."""
    ends = (common["value"], common["ci_low"], common["ci_high"], cell["value"], cell["ci_low"], cell["ci_high"])
    if any(e is None for e in ends):
        return None, None
    c, c_low, c_high, x, x_low, x_high = ends
    gap = c - x
    below = math.hypot(c - c_low, x_high - x)  # the gap is smallest when common is low and the cell high
    above = math.hypot(c_high - c, x - x_low)
    return round(gap - below, 6), round(gap + above, 6)


def stress_scores(
    task: Task,
    common: dict[str, Any],
    cells: pl.DataFrame,
    y: np.ndarray,
    prediction: np.ndarray,
    time: np.ndarray | None,
    *,
    reps: int,
    seed: int,
    min_rows: int = MIN_CELL_ROWS,
) -> dict[str, Any]:
    """The stress block: ``cells`` has ``stress_type`` and ``stress_cell`` per labelled row of ``y``."""
    metric = _metric(task)
    time = time if time is not None else np.zeros(len(y))
    rows = []
    keys = cells.select("stress_type", "stress_cell").with_row_index("__i")
    for (kind, cell), group in keys.group_by("stress_type", "stress_cell", maintain_order=True):
        index = group["__i"].to_numpy()
        if task.kind == SURVIVAL:  # Harrell's C takes (time, event, risk): every resample at once
            result = stats.bootstrap(stats.harrell_c, (time[index], y[index], prediction[index]), reps, seed)
        else:
            result = stats.bootstrap(metric, (y[index], prediction[index], time[index]), reps, seed)
        judged = len(index) >= min_rows and result["value"] is not None and common["value"] is not None
        low, high = gap_interval(common, result) if judged else (None, None)
        row = {"type": kind, "cell": cell, "n": len(index), task.target: result, "judged": judged,
               "gap": round(common["value"] - result["value"], 6) if judged else None,
               "gap_ci_low": low, "gap_ci_high": high}  # fmt: skip
        if task.kind == BINARY:
            row["event_rate"] = round(float(y[index].mean()), 4)
            row["mean_prediction"] = round(float(prediction[index].mean()), 4)
        rows.append(row)
    rows.sort(key=lambda r: (r["type"], r["cell"]))
    return {"metric": task.target, "common": common, "cells": rows}
