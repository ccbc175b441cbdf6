"""Regret by inverse simulation on a release: the outcome simulator (:mod:`pipeline.recommenders.simulator`)
fitted on the release's synthetic training journeys judges the recommendations for the test split.

What it can claim is what the simulator can (associations in the synthetic journeys, which mirror the real
ones they were learned from; not causal effects). A release without journeys has no regret block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from pipeline.recommenders.simulator import bootstrap_fits, line_rows, mean_regret
from pipeline.recommenders.truth import GuidelineTable

REGRET_ROUNDS = 10  # bootstrap refits of the simulator behind the interval


def regret_block(
    table: GuidelineTable,
    train: pl.DataFrame,
    train_lines: pl.DataFrame,
    items: Sequence[dict[str, Any]],
    classes: Sequence[str],
    *,
    rounds: int = REGRET_ROUNDS,
    seed: int = 0,
) -> dict[str, Any]:
    """Mean regret (days) of the recommended ``classes`` for the test ``items``, with its interval and verdict
    (:func:`simulator.mean_regret`); inconclusive with the reason when the simulator cannot be fitted."""
    rows = line_rows(train, train_lines, table)
    try:
        fits = bootstrap_fits(rows, rounds, seed)
    except ValueError as error:  # fewer than two therapy classes with enough lines
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "verdict": "inconclusive",
                "reason": f"no outcome simulator: {error}", "training_lines": rows.height}  # fmt: skip
    records = [item["patient"] for item in items]
    known = [r.get("age_at_diagnosis") for r in records if r.get("age_at_diagnosis") is not None]
    typical = float(np.median(known)) if known else 60.0
    ages = [typical if r.get("age_at_diagnosis") is None else float(r["age_at_diagnosis"]) for r in records]
    stage_iv = [r.get("cancer_stage_group") == "IV" for r in records]
    people = [table.patient(item) for item in items]
    result = mean_regret(fits, table, people, list(classes), ages, stage_iv, seed=seed)
    return {**result, "training_lines": rows.height, "simulated_classes": list(fits[0].halves[0].classes)}
