"""The cohort_journeys asset: a cohort's events, with lines of therapy and the report as metadata."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.energy import ENERGY, EnergyResource
from assets.ingestion import cohort_journeys, harmonized_cohort, raw_cohort
from assets.resources import CohortRegistryResource, PolarsParquetIOManager, WarehouseResource
from pipeline.cohorts.registry import load_registry
from pipeline.journeys.schema import EVENT_SCHEMA


def _materialize(tmp_path: Path, registry: Path | None = None) -> dg.ExecuteInProcessResult:
    resources = {
        "registry": CohortRegistryResource(path=str(registry or load_registry().path), id_salt="test"),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "io_manager": PolarsParquetIOManager(base_dir=str(tmp_path / "assets")),
        ENERGY: EnergyResource(warehouse=str(tmp_path / "warehouse.duckdb"), enabled=False),
    }
    return dg.materialize([raw_cohort, harmonized_cohort, cohort_journeys], partition_key="colon", resources=resources)


def test_a_cohort_without_timelines_gets_an_empty_typed_event_table(tmp_path: Path) -> None:
    result = _materialize(tmp_path)
    assert result.success
    events = pl.read_parquet(tmp_path / "assets" / "cohort_journeys" / "colon.parquet")
    assert events.height == 0 and events.schema == pl.Schema(EVENT_SCHEMA)
    metadata = result.asset_materializations_for_node("cohort_journeys")[0].metadata
    assert metadata["has_timelines"].value is False and metadata["lines_of_therapy"].value == 0
    assert "no treatment timelines" in metadata["journey_report"].value


def test_a_timeline_study_gets_its_events_lines_and_report(tmp_path: Path, shared_study) -> None:
    registry = tmp_path / "cohorts.yaml"  # the partition key stays "colon"; its source is a Biotab study
    registry.write_text(
        f"cohorts:\n  colon:\n    source: {{kind: cbioportal, path: {shared_study('tcga_biotab_coad')}}}\n"
    )
    result = _materialize(tmp_path, registry)
    assert result.success
    events = pl.read_parquet(tmp_path / "assets" / "cohort_journeys" / "colon.parquet")
    patients = pl.read_parquet(tmp_path / "assets" / "harmonized_cohort" / "colon.parquet")
    assert events.height > 1000 and set(events["patient_id"]) <= set(patients["patient_id"])
    metadata = result.asset_materializations_for_node("cohort_journeys")[0].metadata
    assert metadata["dagster/row_count"].value == events.height and metadata["lines_of_therapy"].value > 100
    per_patient = metadata["lines_per_patient"].value.records
    assert sum(r.data["lines"] * r.data["patients"] for r in per_patient) == metadata["lines_of_therapy"].value
    assert metadata["journey_report_json"].value["n_events"] == events.height
