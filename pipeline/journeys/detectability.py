"""Detectability of synthetic journeys: a classifier two-sample test (C2ST) on sequence features.

Each patient becomes one row of journey features: lines (0 .. 6+), the regimen class of lines 1, 2
and 3 (or none), the day line 1 starts, each of lines 1 and 2's duration and time to the next line
(-1 when there is none), and whether the patient has a later line. A gradient-boosting classifier
tells real patients from synthetic ones by 5-fold cross-validation, on as many rows of each; its
ROC AUC is 0.5 when the journeys cannot be told apart, 1.0 when every synthetic journey gives itself
away. Only the journey is compared, never the baseline row (that is the patient table's C2ST).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from pipeline.journeys.features import MAX_COUNT, JourneySet

FEATURE_LINES = 3  # regimen classes of lines 1 .. 3
TIMED_LINES = 2  # durations and times to next line of lines 1 .. 2
NONE = "(none)"


def journey_features(journeys: JourneySet, classes: list[str]) -> np.ndarray:
    """One row per patient of ``journeys`` (see the module); ``classes`` orders the one-hot columns."""
    lines = journeys.lines.with_columns(next_start=pl.col("start_day").shift(-1).over("row"))
    columns = [np.minimum(journeys.counts(), MAX_COUNT).astype(float)]
    levels = [*classes, NONE]
    for line in range(1, FEATURE_LINES + 1):
        chosen = lines.filter(pl.col("line") == line)
        labels = np.full(journeys.n, NONE, dtype=object)
        labels[chosen["row"].to_numpy()] = chosen["regimen_class"].to_numpy()
        columns += [(labels == level).astype(float) for level in levels]
        if line == 1:
            columns.append(_at(chosen, pl.col("start_day"), journeys.n))
        if line <= TIMED_LINES:
            columns.append(_at(chosen, pl.col("end_day") - pl.col("start_day"), journeys.n))
            columns.append(_at(chosen, pl.col("next_start") - pl.col("start_day"), journeys.n))
    return np.column_stack(columns)


def _at(lines: pl.DataFrame, expression: pl.Expr, n: int) -> np.ndarray:
    """``expression`` per patient row of ``lines`` (one line per patient), -1 where a patient has none."""
    out = np.full(n, -1.0)
    values = lines.select(expression.cast(pl.Float64).fill_null(-1.0).alias("v"))["v"].to_numpy()
    out[lines["row"].to_numpy()] = values
    return out


def journey_c2st(real: JourneySet, synthetic: JourneySet, *, seed: int = 0, folds: int = 5) -> tuple[float, int]:
    """(cross-validated AUC of real against synthetic journeys, rows per class); NaN below ``folds`` rows."""
    n = min(real.n, synthetic.n)
    if n < folds:
        return float("nan"), n
    classes = sorted(set(real.lines["regimen_class"]) | set(synthetic.lines["regimen_class"]))
    rng = np.random.default_rng(seed)
    picked = [journey_features(side, classes)[rng.choice(side.n, n, replace=False)] for side in (real, synthetic)]
    features, labels = np.vstack(picked), np.r_[np.zeros(n), np.ones(n)]
    classifier = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(classifier, features, labels, cv=splits, scoring="roc_auc").mean()), n
