"""A real cohort (SurvSet colon, harmonized) split into train and holdout, shared by the tests."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.split import split_cohort


@pytest.fixture(scope="session")
def colon() -> pl.DataFrame:
    entry = load_registry().get("colon")
    return harmonize_entry(read_raw(entry), entry, salt="t")


@pytest.fixture(scope="session")
def colon_split(colon: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return split_cohort(colon, holdout_fraction=0.3, seed=0)


@pytest.fixture(scope="session")
def colon_three_way(colon: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(train, holdout, unseen): half of colon to train on, a quarter as the holdout, a quarter of
    real patients nobody trained on, which an honest synthesizer cannot beat."""
    train, rest = split_cohort(colon, holdout_fraction=0.5, seed=0)
    holdout, unseen = split_cohort(rest, holdout_fraction=0.5, seed=1)
    return train, holdout, unseen
