"""The synthetic_journeys asset: lines for every synthetic patient, validated, with the sequence plot."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.ingestion import cohort_journeys, cohort_split, harmonized_cohort, raw_cohort
from assets.journeys import synthetic_journeys
from assets.resources import CohortRegistryResource
from assets.synthesis import synthetic_cohort
from pipeline.journeys.baseline import baseline
from pipeline.journeys.schema import LINE_SCHEMA
from tests.assets.conftest import lineage_resources

PARTITION = dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"})


def _materialize(tmp_path: Path, registry: Path | None = None) -> dg.ExecuteInProcessResult:
    """Ingestion for partition "colon", a stand-in synthetic cohort (the holdout), then synthetic_journeys."""
    resources = lineage_resources(tmp_path)
    if registry is not None:
        resources["registry"] = CohortRegistryResource(path=str(registry), id_salt="t")
    upstream = [raw_cohort, harmonized_cohort, cohort_journeys, cohort_split]
    assert dg.materialize(upstream, partition_key="colon", resources=resources).success
    holdout = pl.read_parquet(tmp_path / "assets" / "holdout_cohort" / "colon.parquet")
    (tmp_path / "assets" / "synthetic_cohort").mkdir(parents=True)
    holdout.write_parquet(tmp_path / "assets" / "synthetic_cohort" / "colon__flow.parquet")
    sources = [*cohort_journeys.to_source_assets(), *cohort_split.to_source_assets(),
               *synthetic_cohort.to_source_assets()]  # fmt: skip
    return dg.materialize([*sources, synthetic_journeys], partition_key=PARTITION, resources=resources)


def test_a_timeline_cohort_gets_validated_journeys_for_its_synthetic_patients(tmp_path: Path, shared_study) -> None:
    registry = tmp_path / "cohorts.yaml"  # the partition key stays "colon"; its source is a Biotab study
    registry.write_text(
        f"cohorts:\n  colon:\n    source: {{kind: cbioportal, path: {shared_study('tcga_biotab_coad')}}}\n"
    )
    result = _materialize(tmp_path, registry)
    assert result.success
    lines = pl.read_parquet(tmp_path / "assets" / "synthetic_journeys" / "colon__flow.parquet")
    synthetic = pl.read_parquet(tmp_path / "assets" / "synthetic_cohort" / "colon__flow.parquet")
    assert lines.schema == pl.Schema(LINE_SCHEMA) and lines.height > 0
    assert set(lines["patient_id"]) <= set(synthetic["patient_id"])
    late = lines.join(baseline(synthetic), on="patient_id").filter(pl.col("end_day") > pl.col("follow_up"))
    assert late.is_empty()
    metadata = result.asset_materializations_for_node("synthetic_journeys")[0].metadata
    assert metadata["has_timelines"].value is True and metadata["temporal_violations"].value == 0
    assert "data:image/png;base64" in metadata["treatment_sequences"].value
    metrics = {r.data["metric"] for r in metadata["journey_metrics"].value.records}
    assert {"lines_per_patient_tvd", "transition_distance", "ttnt_km_max_gap", "temporal_violations"} <= metrics


def test_a_cohort_without_timelines_gets_an_empty_typed_line_table(tmp_path: Path) -> None:
    result = _materialize(tmp_path)
    assert result.success
    lines = pl.read_parquet(tmp_path / "assets" / "synthetic_journeys" / "colon__flow.parquet")
    assert lines.height == 0 and lines.schema == pl.Schema(LINE_SCHEMA)
    metadata = result.asset_materializations_for_node("synthetic_journeys")[0].metadata
    assert metadata["has_timelines"].value is False and "no treatment timelines" in metadata["journeys"].value
