"""A real timeline study split as the journey bench splits it: train / holdout / unseen patients and their lines."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipeline.cohorts.load import ingest, resolve_source
from pipeline.journeys.ingest import ingest_journeys
from pipeline.journeys.stage import patients_lines
from pipeline.split import split_cohort


@dataclass(frozen=True)
class SplitStudy:
    train: pl.DataFrame
    holdout: pl.DataFrame
    unseen: pl.DataFrame
    lines: pl.DataFrame  # every patient's lines

    def lines_of(self, patients: pl.DataFrame) -> pl.DataFrame:
        return patients_lines(self.lines, patients)


@functools.cache
def split_study(folder: Path) -> SplitStudy:
    """A study folder's patients split 50/25/25 (train / holdout / unseen) and their lines, read once."""
    entry = resolve_source(str(folder), registry=None)
    patients, _ = ingest(entry)
    _, lines, _ = ingest_journeys(entry, patients)
    train, rest = split_cohort(patients, holdout_fraction=0.5, seed=0)
    holdout, unseen = split_cohort(rest, holdout_fraction=0.5, seed=0)
    return SplitStudy(train, holdout, unseen, lines)


@pytest.fixture
def ov(shared_study) -> SplitStudy:
    """tcga_biotab_ov split 50/25/25 (train / holdout / unseen), read once per session."""
    return split_study(shared_study("tcga_biotab_ov"))
