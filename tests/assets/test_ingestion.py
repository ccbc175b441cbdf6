"""Ingestion assets materialized for real into a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.checks import harmonized_cohort_meets_expectations
from assets.definitions import defs, main_job
from assets.energy import ENERGY, EnergyResource
from assets.ingestion import cohort_profile, harmonized_cohort, raw_cohort
from assets.resources import CohortRegistryResource, PolarsParquetIOManager, WarehouseResource
from pipeline.cohorts.registry import load_registry
from pipeline.warehouse import Warehouse
from tests.conftest import schema_named_frame


def _resources(tmp_path: Path, registry: Path | None = None, country: str = "") -> dict[str, object]:
    return {
        ENERGY: EnergyResource(warehouse=str(tmp_path / "warehouse.duckdb"), country=country),
        "registry": CohortRegistryResource(path=str(registry or load_registry().path), id_salt="test"),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "io_manager": PolarsParquetIOManager(base_dir=str(tmp_path / "assets")),
    }


def test_definitions_load_and_partitions_follow_the_registry() -> None:
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def(main_job.name)
    assert job.partitions_def.get_partition_keys() == load_registry().names


def test_every_asset_is_measured_through_the_public_energy_resource() -> None:
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert len(assets) >= 10 and all(ENERGY in a.required_resource_keys for a in assets)
    assert "dagster._" not in (Path(__file__).parents[2] / "assets" / "energy.py").read_text()


def test_materialize_one_cohort_writes_parquet_duckdb_and_passes_the_check(tmp_path: Path) -> None:
    result = dg.materialize(
        [raw_cohort, harmonized_cohort, cohort_profile, harmonized_cohort_meets_expectations],
        partition_key="colon",
        resources=_resources(tmp_path, country="DEU"),
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]
    frame = pl.read_parquet(tmp_path / "assets" / "harmonized_cohort" / "colon.parquet")
    assert frame.height == 929
    store = Warehouse(tmp_path / "warehouse.duckdb")
    assert store.query("SELECT n_patients FROM cohort_profiles WHERE cohort = 'colon'")["n_patients"][0] == 929
    sexes = store.query("SELECT value, n FROM subgroup_counts WHERE attribute = 'sex' ORDER BY value")
    assert sexes["n"].sum() == 929
    metadata = result.asset_materializations_for_node("cohort_profile")[0].metadata
    assert metadata["n_patients"].value == 929
    # energy and carbon of every materialization: in its metadata and one row each in `emissions`
    for node in ("raw_cohort", "harmonized_cohort", "cohort_profile"):
        energy = result.asset_materializations_for_node(node)[0].metadata
        assert energy["energy_kwh"].value > 0 and energy["co2e_kg"].value > 0
        assert float(f"{energy['energy_kwh'].value:.3g}") == energy["energy_kwh"].value  # 3 significant digits
    rows = store.query("SELECT * FROM emissions ORDER BY asset").to_dicts()
    assert [(r["asset"], r["stage"], r["partition"]) for r in rows] == [
        ("cohort_profile", "ingestion", "colon"), ("harmonized_cohort", "ingestion", "colon"),
        ("raw_cohort", "ingestion", "colon"),
    ]  # fmt: skip
    assert {r["run_id"] for r in rows} == {result.run_id} and all(r["kwh"] > 0 and r["seconds"] > 0 for r in rows)


def test_bad_source_fails_the_asset_and_leaves_no_output(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    schema_named_frame().with_columns(pl.lit(-5.0).alias("survival_months")).write_csv(source)
    registry = tmp_path / "cohorts.yaml"  # the partition key stays "colon"; its source is now bad
    registry.write_text(f"cohorts:\n  colon:\n    source: {{kind: table, path: {source}}}\n")
    result = dg.materialize(
        [raw_cohort, harmonized_cohort, cohort_profile, harmonized_cohort_meets_expectations],
        partition_key="colon",
        resources=_resources(tmp_path, registry),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "harmonized_cohort"
    assert "column 'survival_months', row 1, value -5.0" in str(failure.event_specific_data.error)
    assert not (tmp_path / "assets" / "harmonized_cohort").exists()
    assert not result.asset_materializations_for_node("cohort_profile")


def test_check_fails_and_explains_on_a_frame_that_breaks_the_suite() -> None:
    from pipeline.cohorts.harmonize import harmonize
    from pipeline.cohorts.spec import CohortSpec

    good = harmonize(schema_named_frame(), CohortSpec(), cohort="demo", source="x", salt="s")
    bad = good.with_columns(pl.lit(130.0).alias("age_at_diagnosis"), pl.lit("jane@example.org").alias("note"))
    result = harmonized_cohort_meets_expectations(bad)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert "age_at_diagnosis" in result.description and "'note': 'email'" in result.description
    spec = next(iter(harmonized_cohort_meets_expectations.check_specs))
    assert spec.blocking


def test_cli_split_gives_the_assets_training_and_holdout(colon_split: Path, tmp_path: Path) -> None:
    """One home per stage: `oncobench split` of the harmonized cohort equals the cohort_split asset."""
    from pipeline.cli import main

    harmonized = colon_split / "assets" / "harmonized_cohort" / "colon.parquet"
    assert main(["split", str(harmonized), "--out-dir", str(tmp_path)]) == 0
    for mine, theirs in (("train", "training_cohort"), ("holdout", "holdout_cohort")):
        expected = pl.read_parquet(colon_split / "assets" / theirs / "colon.parquet")
        assert pl.read_parquet(tmp_path / f"{mine}.parquet").equals(expected)


def test_harmonized_cohort_carries_the_ingest_report(tmp_path: Path) -> None:
    """Patients left out (here: no survival time) are counted in the asset's metadata, not lost silently."""
    source = tmp_path / "study.csv"
    frame = schema_named_frame(40)
    frame.with_columns(
        pl.when(pl.int_range(40) < 3).then(None).otherwise(pl.col("survival_months")).alias("survival_months")
    ).write_csv(source)
    registry = tmp_path / "cohorts.yaml"
    registry.write_text(f"cohorts:\n  colon:\n    source: {{kind: table, path: {source}}}\n")
    result = dg.materialize(
        [raw_cohort, harmonized_cohort], partition_key="colon", resources=_resources(tmp_path, registry)
    )
    assert result.success
    metadata = result.asset_materializations_for_node("harmonized_cohort")[0].metadata
    assert metadata["patients_left_out"].value == 3
    report = metadata["ingest_report_json"].value
    assert report["n_source_patients"] == 40 and report["n_patients"] == 37
    assert "left out 3 of 40 patients" in metadata["ingest_report"].value
