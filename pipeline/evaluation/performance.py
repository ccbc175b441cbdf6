"""Performance on the ``test`` split, each score with a bootstrap 95% interval and its rows.

Binary: AUC, Brier score, calibration slope and intercept, and a decile calibration curve.
Multiclass (treatment): macro one-vs-rest AUC, multiclass Brier score, accuracy, and calibration of
the pooled one-vs-rest probabilities. Survival: Harrell's and Uno's C-index and the IPCW integrated
Brier score of survival curves derived from the risk score (a one-covariate Cox model on the train
split's scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.evaluation import stats
from pipeline.evaluation.tasks import BINARY, MULTICLASS, Task

CURVE_BINS = 10


@dataclass(frozen=True)
class Scored:
    """Labelled rows of one split and the model's output for them."""

    y: np.ndarray  # binary: 0/1; multiclass: class index; survival: event 0/1
    prediction: np.ndarray  # P(1), class probabilities, or risk
    time: np.ndarray | None = None  # survival only
    survival: stats.RiskToSurvival | None = None  # survival only: fitted on the train split


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = CURVE_BINS) -> list[dict[str, float]]:
    """Mean predicted against observed rate in equal-count bins of the prediction."""
    if len(p) == 0:
        return []
    order = np.argsort(p, kind="stable")
    return [
        {"predicted": round(float(p[part].mean()), 4), "observed": round(float(y[part].mean()), 4), "n": len(part)}
        for part in np.array_split(order, min(bins, len(p)))
        if len(part)
    ]


def _pooled(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return onehot.ravel(), p.ravel()


def performance(task: Task, scored: Scored, reps: int, seed: int) -> dict[str, Any]:
    """The performance block of the output contract."""
    y, p = scored.y, scored.prediction
    if task.kind == BINARY:
        return {
            "auc": stats.bootstrap(stats.auc, (y, p), reps, seed),
            "brier": stats.bootstrap(stats.brier, (y, p), reps, seed),
            "calibration_slope": stats.bootstrap(stats.calibration_slope, (y, p), reps, seed),
            "calibration_intercept": stats.bootstrap(stats.calibration_intercept, (y, p), reps, seed),
            "prevalence": round(float(y.mean()), 4) if len(y) else None,
            "calibration_curve": calibration_curve(y, p),
        }
    if task.kind == MULTICLASS:
        flat_y, flat_p = _pooled(y, p)
        return {
            "auc": stats.bootstrap(stats.macro_auc, (y, p), reps, seed),
            "brier": stats.bootstrap(stats.brier, (y, p), reps, seed),
            "accuracy": stats.bootstrap(lambda a, b: float((b.argmax(axis=1) == a).mean()), (y, p), reps, seed),
            "calibration_slope": stats.bootstrap(stats.calibration_slope, (flat_y, flat_p), reps, seed),
            "calibration_intercept": stats.bootstrap(stats.calibration_intercept, (flat_y, flat_p), reps, seed),
            "calibration_curve": calibration_curve(flat_y, flat_p),
        }
    return survival_scores(scored, reps, seed)


def survival_scores(scored: Scored, reps: int, seed: int, g: Any = None) -> dict[str, Any]:
    """Harrell's and Uno's C-index and the integrated Brier score (censoring weights ``g``: from these rows)."""
    time, event, risk = scored.time, scored.y, scored.prediction
    result = {
        "c_index": stats.bootstrap(stats.harrell_c, (time, event, risk), reps, seed),
        "uno_c_index": stats.bootstrap(stats.uno_c, (time, event, risk), reps, seed),
    }
    if scored.survival is None or len(time) < 2 or event.sum() == 0:
        result["integrated_brier_score"] = stats.score(None, None, None, len(time))
        return result
    grid = stats.brier_grid(time)
    curves = scored.survival.survival(risk, grid)
    weights = g or stats.censoring_survival(time, event)
    rows = np.arange(len(time))
    result["integrated_brier_score"] = stats.bootstrap(
        lambda index: stats.integrated_brier(time[index], event[index], curves[index], grid, weights),
        (rows,), reps, seed,
    )  # fmt: skip
    return result


def headline(task: Task, block: dict[str, Any]) -> dict[str, Any]:
    """The score that ranks models on ``task`` (AUC or Harrell's C-index)."""
    return block[task.target]
