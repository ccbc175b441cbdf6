"""The long metric table: one row per (family, metric, target), every family alike."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

OVERALL = "(all)"
FAMILIES = ("fidelity", "utility", "survival", "privacy", "fairness")

METRIC_SCHEMA = pl.Schema(
    {
        "cohort": pl.String,
        "synthesizer": pl.String,
        "run_id": pl.String,
        "config_version": pl.String,
        "family": pl.String,
        "metric": pl.String,
        "target": pl.String,
        "value": pl.Float64,
        "baseline": pl.Float64,
        "threshold": pl.Float64,
        "bound": pl.String,
        "gate": pl.Boolean,
        "passed": pl.Boolean,
    }
)


@dataclass(frozen=True)
class Metric:
    """One measured value. ``target`` is a column, a column pair, a subgroup or ``(all)``.

    ``baseline`` is the same quantity on real data where one exists (e.g. the AUC of a model
    trained on real rows next to one trained on synthetic rows).
    """

    family: str
    metric: str
    value: float
    target: str = OVERALL
    baseline: float | None = None


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def metrics_frame(
    metrics: list[Metric], *, cohort: str, synthesizer: str, run_id: str, config_version: str = ""
) -> pl.DataFrame:
    """Metrics as the long table, with no gate applied yet (threshold and passed null)."""
    rows = [
        {
            "cohort": cohort,
            "synthesizer": synthesizer,
            "run_id": run_id,
            "config_version": config_version,
            "family": m.family,
            "metric": m.metric,
            "target": m.target,
            "value": _number(m.value),
            "baseline": _number(m.baseline),
            "threshold": None,
            "bound": None,
            "gate": False,
            "passed": None,
        }
        for m in metrics
    ]
    return pl.DataFrame(rows, schema=METRIC_SCHEMA)
