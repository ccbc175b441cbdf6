"""Synthesis assets materialized for real: cohort x synthesizer partitions, model saved, metadata."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.ingestion import cohort_split
from assets.resources import SynthesizerIOManager
from assets.synthesis import synthesizer_model, synthetic_cohort
from pipeline.synthesis.storage import ModelFileError, load_model
from tests.assets.conftest import FAST_SYNTHESIS, lineage_resources


def test_materialize_flow_on_colon_trains_on_the_training_split_only(colon_split: Path) -> None:
    result = dg.materialize(
        [*cohort_split.to_source_assets(), synthesizer_model, synthetic_cohort],
        partition_key=dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"}),
        resources=lineage_resources(colon_split),
        run_config={
            "ops": {"synthesizer_model": {"config": FAST_SYNTHESIS}, "synthetic_cohort": {"config": FAST_SYNTHESIS}}
        },
    )
    assert result.success
    model = load_model(colon_split / "models" / "synthesizer_model" / "colon__flow.pkl")
    train = pl.read_parquet(colon_split / "assets" / "training_cohort" / "colon.parquet")
    holdout = pl.read_parquet(colon_split / "assets" / "holdout_cohort" / "colon.parquet")
    assert model.report.n_rows == train.height == 929 - holdout.height
    assert set(train["patient_id"]).isdisjoint(holdout["patient_id"])
    assert model.report.params["epochs"] == 4 and len(model.report.history) == 4
    synthetic = pl.read_parquet(colon_split / "assets" / "synthetic_cohort" / "colon__flow.parquet")
    assert synthetic.height == 300 and synthetic.schema == train.schema
    metadata = result.asset_materializations_for_node("synthesizer_model")[0].metadata
    assert metadata["seed"].value == 3 and "data:image/png;base64" in metadata["loss_curve"].value
    # a model file put in another cohort's place is refused by the IO manager before it is read
    stray = colon_split / "models" / "synthesizer_model" / "rott2__flow.pkl"
    shutil.copyfile(colon_split / "models" / "synthesizer_model" / "colon__flow.pkl", stray)
    with pytest.raises(ModelFileError, match="fitted on cohort 'colon', not 'rott2'"):
        SynthesizerIOManager(base_dir=str(colon_split / "models"))._read(stray)


def test_cli_and_asset_give_the_same_synthetic_cohort(colon_split: Path, tmp_path: Path) -> None:
    """One home per stage: `oncobench synthesize` on the training split equals the assets' output."""
    from pipeline.cli import main

    config = {"profile": "fast", "seed": 5, "rows": 250}
    result = dg.materialize(
        [*cohort_split.to_source_assets(), synthesizer_model, synthetic_cohort],
        partition_key=dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"}),
        resources=lineage_resources(colon_split),
        run_config={"ops": {"synthesizer_model": {"config": config}, "synthetic_cohort": {"config": config}}},
    )
    assert result.success
    from_asset = pl.read_parquet(colon_split / "assets" / "synthetic_cohort" / "colon__flow.parquet")
    out = tmp_path / "cli.parquet"
    training = colon_split / "assets" / "training_cohort" / "colon.parquet"
    argv = ["synthesize", str(training), "--synthesizer", "flow", "--profile", "fast", "--seed", "5"]
    assert main([*argv, "--rows", "250", "--out", str(out)]) == 0
    from_cli = pl.read_parquet(out)
    assert from_cli.schema == from_asset.schema
    assert from_cli.equals(from_asset)
