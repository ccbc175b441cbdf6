"""The cohorts a benchmark fits: a registry name or a harmonized Parquet file (e.g. from
``oncobench ingest`` of a study in ``../shared/cohorts``), split 70/30 with seed 0 as the
pipeline splits it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

FILE_PROTECTED = ["sex", "race"]  # protected attributes of a Parquet cohort (the committed results use these)


@dataclass(frozen=True)
class BenchmarkCohort:
    name: str
    real: pl.DataFrame
    train: pl.DataFrame
    holdout: pl.DataFrame
    protected: list[str]  # those present in the training part


def load_split(cohort: str) -> BenchmarkCohort:
    """``cohort`` harmonized and split into training and holdout parts."""
    from pipeline.cohorts.identifiers import id_salt
    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry
    from pipeline.split import split_cohort

    if cohort.endswith(".parquet"):
        name, real, protected = Path(cohort).stem, pl.read_parquet(cohort), FILE_PROTECTED
    else:
        entry = load_registry().get(cohort)
        name, real, protected = cohort, harmonize_entry(read_raw(entry), entry, salt=id_salt()), list(entry.protected)
    train, holdout = split_cohort(real, holdout_fraction=0.3, seed=0)
    return BenchmarkCohort(name, real, train, holdout, [c for c in protected if c in train.columns])
