"""The benchmark's ForestFlow reference engine keeps the schema the validation suite compares."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("ForestDiffusion", reason="ForestFlow is a benchmark-only reference: `make bench-setup`")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from forestflow import ForestFlowSynthesizer


def test_forestflow_samples_the_training_schema_with_its_labels() -> None:
    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry

    entry = load_registry().get("colon")
    train = harmonize_entry(read_raw(entry), entry, salt="t").head(200)
    model = ForestFlowSynthesizer(n_t=2, duplicate_K=2).fit(train, seed=0)
    synthetic = model.sample(50, seed=1)
    assert synthetic.schema == train.schema and synthetic.height == 50
    for column in model.categorical_columns:
        seen = set(train[column].cast(pl.String).drop_nulls())
        assert set(synthetic[column].cast(pl.String).drop_nulls()) <= seen
    assert model.sample(50, seed=1).equals(synthetic)  # seeded
