"""Synthesis assets materialized for real: cohort x synthesizer partitions, model saved, metadata."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.ingestion import harmonized_cohort, raw_cohort
from assets.resources import CohortRegistryResource, PolarsParquetIOManager, SynthesizerIOManager
from assets.synthesis import synthesizer_model, synthetic_cohort
from pipeline.cohorts.registry import load_registry
from pipeline.synthesis.base import Synthesizer


def test_materialize_flow_on_colon(tmp_path: Path) -> None:
    resources = {
        "registry": CohortRegistryResource(path=str(load_registry().path), id_salt="t"),
        "io_manager": PolarsParquetIOManager(base_dir=str(tmp_path / "assets")),
        "model_io_manager": SynthesizerIOManager(base_dir=str(tmp_path / "models")),
    }
    assert dg.materialize([raw_cohort, harmonized_cohort], partition_key="colon", resources=resources).success
    config = {"profile": "fast", "seed": 3, "rows": 250, "params": {"epochs": "4"}}
    result = dg.materialize(
        [harmonized_cohort.to_source_asset(), synthesizer_model, synthetic_cohort],
        partition_key=dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"}),
        resources=resources,
        run_config={"ops": {"synthesizer_model": {"config": config}, "synthetic_cohort": {"config": config}}},
    )
    assert result.success
    model = Synthesizer.load(tmp_path / "models" / "synthesizer_model" / "colon__flow.pkl")
    assert model.report.params["epochs"] == 4 and len(model.report.history) == 4
    synthetic = pl.read_parquet(next((tmp_path / "assets" / "synthetic_cohort").glob("*.parquet")))
    real = pl.read_parquet(tmp_path / "assets" / "harmonized_cohort" / "colon.parquet")
    assert synthetic.height == 250 and synthetic.schema == real.schema
    metadata = result.asset_materializations_for_node("synthesizer_model")[0].metadata
    assert metadata["seed"].value == 3 and "data:image/png;base64" in metadata["loss_curve"].value
