"""The privacy gates judge the rows a release ships, also when there are more of them than training rows."""

from __future__ import annotations

import dataclasses

import polars as pl

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.split import split_cohort
from pipeline.validation.gates import ANONYMETER_METRICS, load_validation_config
from pipeline.validation.suite import validate_cohort
from pipeline.validation.verdicts import describe_failures, failed_gates

CONFIG = load_validation_config()
FAST_CONFIG = dataclasses.replace(
    CONFIG,
    settings=dataclasses.replace(CONFIG.settings, anonymeter_attacks=0),
    gates=tuple(g for g in CONFIG.gates if g.metric not in ANONYMETER_METRICS),
)


def _privacy(train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame) -> pl.DataFrame:
    table = validate_cohort(
        train, holdout, synthetic, protected=["sex"], config=FAST_CONFIG, cohort="colon", synthesizer="t", run_id="r"
    ).table
    return table.filter(pl.col("family") == "privacy")


def test_three_times_the_training_rows_are_judged_and_copies_among_them_caught() -> None:
    entry = load_registry().get("colon")
    train, rest = split_cohort(harmonize_entry(read_raw(entry), entry, salt="t"), holdout_fraction=0.5, seed=0)
    holdout, unseen = split_cohort(rest, holdout_fraction=0.5, seed=1)
    rows = 3 * train.height
    honest = unseen.sample(rows, with_replacement=True, seed=0)  # real patients no one trained on, 3x over
    judged = _privacy(train, holdout, honest)
    gates = judged.filter(pl.col("gate"))
    assert gates.height >= 6 and gates["passed"].all(), describe_failures(gates)
    leaky = pl.concat([train, unseen.sample(rows - train.height, with_replacement=True, seed=0)])
    caught = _privacy(train, holdout, leaky)
    assert "unique_record_copy_excess" in set(failed_gates(caught)["metric"])

    def copies(table: pl.DataFrame) -> float:
        return table.filter(pl.col("metric") == "unique_record_copies")["value"].item()

    assert copies(caught) - copies(judged) > train.height / 2  # every released row is compared, none sampled away
