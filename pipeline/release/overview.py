"""What a person asks of a release at a glance: which cohorts are in it, why the others are not, how private each is.

One row per candidate cohort: released or not, the gates that withheld it (``family.metric [target]``, at most
``SHOWN``, then how many more), and a privacy column: the worst verdict of its privacy gates with the
distance-to-closest-record share and the membership-inference AUC beside it.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipeline.release.build import CohortCandidate
from pipeline.validation.verdicts import FAIL, INCONCLUSIVE, PASS, blocking_gates

SHOWN = 3
ORDER = {FAIL: 0, INCONCLUSIVE: 1, PASS: 2}


def _value(metrics: pl.DataFrame, metric: str) -> float | None:
    rows = metrics.filter((pl.col("metric") == metric) & (pl.col("target") == "(all)"))
    return None if rows.is_empty() or rows["value"][0] is None else round(float(rows["value"][0]), 3)


def _privacy(metrics: pl.DataFrame) -> str:
    gated = metrics.filter((pl.col("family") == "privacy") & pl.col("gate").fill_null(False))
    if gated.is_empty():
        return "not judged"
    verdicts = sorted(set(gated["verdict"].drop_nulls()), key=lambda v: ORDER.get(v, 3))
    worst = verdicts[0] if verdicts else "not judged"
    if worst == PASS:
        return PASS
    names = gated.filter(pl.col("verdict") == worst)["metric"].unique(maintain_order=True).to_list()
    return f"{worst}: {', '.join(names[:SHOWN])}" + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _withheld_by(metrics: pl.DataFrame) -> str:
    blocking = blocking_gates(metrics)
    labels = [f"{r['family']}.{r['metric']} [{r['target']}]" for r in blocking.iter_rows(named=True)]
    return "; ".join(labels[:SHOWN]) + (f"; and {len(labels) - SHOWN} more" if len(labels) > SHOWN else "")


def release_overview(candidates: Iterable[CohortCandidate], released: Iterable[str]) -> pl.DataFrame:
    """One row per candidate (see the module)."""
    chosen = set(released)
    rows = []
    for c in candidates:
        metrics = c.metrics
        if metrics is None or metrics.is_empty():
            rows.append({"cohort": c.cohort, "released": False, "withheld_by": "no validation metrics",
                         "privacy": "not judged", "dcr_share": None, "mia_auc": None})  # fmt: skip
            continue
        released_now = c.cohort in chosen
        why = "" if released_now else (_withheld_by(metrics) or "no synthetic cohort or stress suite")
        rows.append({"cohort": c.cohort, "released": released_now, "withheld_by": why, "privacy": _privacy(metrics),
                     "dcr_share": _value(metrics, "dcr_share"), "mia_auc": _value(metrics, "mia_auc")})  # fmt: skip
    schema = {"cohort": pl.String, "released": pl.Boolean, "withheld_by": pl.String, "privacy": pl.String,
              "dcr_share": pl.Float64, "mia_auc": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).sort("released", "cohort", descending=[True, False])
