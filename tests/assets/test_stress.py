"""stress_suite materialized for real on colon, with its blocking check and DuckDB tables."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.checks import stress_suite_meets_expectations
from assets.ingestion import cohort_split
from assets.stress import stress_suite
from assets.synthesis import synthesizer_model
from pipeline.warehouse import Warehouse
from tests.assets.conftest import FAST_SYNTHESIS, lineage_resources


def test_stress_suite_on_colon_has_every_type_passes_its_check_and_lands_in_duckdb(colon_split: Path) -> None:
    resources = lineage_resources(colon_split)
    fitted = dg.materialize(
        [*cohort_split.to_source_assets(), synthesizer_model],
        partition_key=dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"}),
        resources=resources,
        run_config={"ops": {"synthesizer_model": {"config": FAST_SYNTHESIS}}},
    )
    assert fitted.success
    result = dg.materialize(
        [
            *cohort_split.to_source_assets(),
            synthesizer_model.to_source_asset(),
            stress_suite,
            stress_suite_meets_expectations,
        ],
        partition_key="colon",
        resources=resources,
        run_config={"ops": {"stress_suite": {"config": {"base_rows": 60, "rows_per_cell": 5}}}},
    )
    assert result.success
    assert [c.passed for c in result.get_asset_check_evaluations()] == [True]
    frame = pl.read_parquet(colon_split / "assets" / "stress_suite" / "colon.parquet")
    assert {"twin", "edge_case", "upsample"} <= set(frame["stress_type"])
    assert set(frame.filter(pl.col("stress_type") == "twin")["twin_mode"]) == {"pure", "consistent"}
    store = Warehouse(colon_split / "warehouse.duckdb")
    counts = store.query("SELECT stress_type, target, rows FROM stress_counts WHERE cohort = 'colon'")
    assert ("twin", "sex") in set(counts.select("stress_type", "target").iter_rows())
    rules = store.query("SELECT DISTINCT dataset FROM rule_violations WHERE cohort = 'colon'")["dataset"].to_list()
    assert "real" in rules
