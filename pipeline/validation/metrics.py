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
        "noise_floor": pl.Float64,
        "ci_lower": pl.Float64,
        "ci_upper": pl.Float64,
        "rows": pl.Int64,
        "threshold": pl.Float64,
        "bound": pl.String,
        "min_rows": pl.Int64,
        "judged": pl.Float64,
        "gate": pl.Boolean,
        "passed": pl.Boolean,
        "p_value": pl.Float64,
        "verdict": pl.String,
        "blocking": pl.Boolean,
    }
)


@dataclass(frozen=True)
class Metric:
    """One measured value. ``target`` is a column, a column pair, a subgroup or ``(all)``.

    ``baseline`` is the same quantity on real data where one exists (e.g. the AUC of a model
    trained on real rows next to one trained on synthetic rows). ``lower``/``upper`` are a 95%
    confidence interval where the value is an estimate, ``rows`` the rows behind it (the smaller
    of the real and synthetic sides; by default the whole comparison's).
    """

    family: str
    metric: str
    value: float
    target: str = OVERALL
    baseline: float | None = None
    lower: float | None = None
    upper: float | None = None
    rows: int | None = None


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def metrics_frame(
    metrics: list[Metric],
    *,
    cohort: str,
    synthesizer: str,
    run_id: str,
    config_version: str = "",
    rows: int | None = None,
    noise_floor: dict[tuple[str, str, str], float] | None = None,
) -> pl.DataFrame:
    """Metrics as the long table, with no gate applied yet (threshold and passed null).

    ``rows`` fills the rows of metrics that do not name their own; ``noise_floor`` maps
    (family, metric, target) to the same metric for real holdout patients against training.
    """
    floors = noise_floor or {}
    table = [
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
            "noise_floor": _number(floors.get((m.family, m.metric, m.target))),
            "ci_lower": _number(m.lower),
            "ci_upper": _number(m.upper),
            "rows": m.rows if m.rows is not None else rows,
            "threshold": None,
            "bound": None,
            "min_rows": None,
            "judged": None,
            "gate": False,
            "passed": None,
            "p_value": None,
            "verdict": None,
            "blocking": None,
        }
        for m in metrics
    ]
    return pl.DataFrame(table, schema=METRIC_SCHEMA)
