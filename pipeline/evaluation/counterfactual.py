"""Counterfactual twins: does the prediction change when only a protected attribute does?

Per changed attribute and mode (``pure``, ``consistent``): the pairs (a base row and one of its
twins), the flip rate (the decision differs: class 1 at the task's threshold, another arm, or a risk
on the other side of the test split's median) with a Wilson 95% interval, the mean absolute change
(of P(class 1); of the class probabilities as total variation; of the risk as a percentile of the
test split's risks), and the Jensen-Shannon divergence between base and twin predictions (mean over
pairs of their class distributions; for risks, between the histograms of their percentiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pipeline.evaluation import stats
from pipeline.evaluation.tasks import BINARY, MULTICLASS, Task
from pipeline.stress.tags import TWIN


@dataclass(frozen=True)
class Decisions:
    """How a task turns predictions into decisions and comparable values."""

    task: Task
    test_risks: np.ndarray | None = None  # survival: the test split's risks (median, percentiles)

    def decide(self, prediction: np.ndarray) -> np.ndarray:
        if self.task.kind == BINARY:
            return (prediction >= self.task.threshold).astype(int)
        if self.task.kind == MULTICLASS:
            return prediction.argmax(axis=1)
        return (prediction > np.median(self.test_risks)).astype(int)

    def comparable(self, prediction: np.ndarray) -> np.ndarray:
        """Values in [0, 1]: P(class 1), class probabilities, or the risk's percentile in the test split."""
        if self.task.kind == MULTICLASS or self.task.kind == BINARY:
            return prediction
        # rounded on the scale of the test risks, so float noise between batch sizes never moves a percentile
        scale = float(np.std(self.test_risks)) or 1.0
        ordered = np.sort(np.round(self.test_risks / scale, 9))
        return np.searchsorted(ordered, np.round(prediction / scale, 9), side="right") / max(len(ordered), 1)

    def change(self, base: np.ndarray, twin: np.ndarray) -> np.ndarray:
        a, b = self.comparable(base), self.comparable(twin)
        return 0.5 * np.abs(a - b).sum(axis=1) if a.ndim == 2 else np.abs(a - b)


def twin_pairs(suite: pl.DataFrame) -> pl.DataFrame:
    """The twin rows of a stress suite with, for each twin, the row number of its base."""
    rows = suite.filter(pl.col("stress_type") == TWIN).with_row_index("__row")
    base = rows.filter(pl.col("twin_role") == "base").select("pair_id", pl.col("__row").alias("__base_row"))
    return rows.join(base, on="pair_id", how="left")


def counterfactual_scores(
    pairs: pl.DataFrame, predictions: np.ndarray, decisions: Decisions, *, bins: int, max_cases: int
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], list[dict[str, Any]]]]:
    """Entries of the output contract, and per (attribute, mode) the flipped pairs with the largest change.

    ``predictions`` holds one output per row of ``pairs`` (in its ``__row`` order).
    """
    entries, cases = [], {}
    twins = pairs.filter(pl.col("twin_role") == "twin")
    decided = decisions.decide(predictions)
    for (attribute, mode), group in twins.group_by("changed_attribute", "twin_mode", maintain_order=True):
        twin_rows, base_rows = group["__row"].to_numpy(), group["__base_row"].to_numpy()
        base, twin = predictions[base_rows], predictions[twin_rows]
        flipped = decided[base_rows] != decided[twin_rows]
        change = decisions.change(base, twin)
        flips, n = int(flipped.sum()), len(twin_rows)
        low, high = stats.wilson(flips, n)
        if decisions.task.kind in (BINARY, MULTICLASS):
            divergence = stats.js_divergence_pairs(base, twin)
        else:
            divergence = stats.js_divergence_histograms(decisions.comparable(base), decisions.comparable(twin), bins)
        entries.append({
            "attribute": attribute, "mode": mode, "pairs": n, "flips": flips,
            "flip_rate": round(flips / n, 6) if n else None,
            "ci_low": None if low is None else round(low, 6), "ci_high": None if high is None else round(high, 6),
            "mean_abs_change": round(float(change.mean()), 6) if n else None,
            "js_divergence": round(divergence, 6),
        })  # fmt: skip
        order = np.argsort(-change, kind="stable")
        picked = [i for i in order if flipped[i]][:max_cases]
        base_values = pairs[base_rows][attribute].cast(pl.String).to_list()
        twin_values = group[attribute].cast(pl.String).to_list()
        cases[(attribute, mode)] = [
            {"pair_id": group["pair_id"][int(i)], "base_patient_id": group["base_patient_id"][int(i)],
             "from": base_values[int(i)], "to": twin_values[int(i)], "change": round(float(change[i]), 6),
             "base_decision": int(decided[base_rows[i]]), "twin_decision": int(decided[twin_rows[i]])}
            for i in picked
        ]  # fmt: skip
    entries.sort(key=lambda e: (e["attribute"], e["mode"]))
    return entries, cases
