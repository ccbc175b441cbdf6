"""`oncobench release`: a release written from the files a Dagster run materialized, as the asset writes it."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.ingestion import cohort_split, harmonized_cohort, raw_cohort
from assets.stress import stress_suite
from assets.synthesis import synthesizer_model, synthetic_cohort
from assets.validation import validation_metrics
from pipeline.cli import main
from pipeline.cohorts.registry import DEFAULT_REGISTRY
from pipeline.release.verify import verify_release
from pipeline.warehouse import Warehouse
from tests.assets.conftest import FAST_SYNTHESIS, lineage_resources
from tests.assets.test_validation import UNTRAINED, _fast_config


@pytest.fixture
def colon_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """colon's whole lineage (flow) materialized under ``tmp_path``, laid out as ``ONCOBENCH_DATA_DIR``."""
    monkeypatch.setenv("ONCOBENCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONCOBENCH_MODEL_KEY", str(tmp_path / "model.key"))  # one key signs and reads the model
    monkeypatch.setenv("ONCOBENCH_VALIDATION", str(_fast_config(tmp_path, colon=UNTRAINED)))
    registry = yaml.safe_load(DEFAULT_REGISTRY.read_text())
    registry["cohorts"] = {"colon": registry["cohorts"]["colon"]}
    (tmp_path / "cohorts.yaml").write_text(yaml.safe_dump(registry))
    resources = lineage_resources(tmp_path, tmp_path / "validation.yaml")
    assert dg.materialize(
        [raw_cohort, harmonized_cohort, cohort_split], partition_key="colon", resources=resources
    ).success
    sources = cohort_split.to_source_assets()
    key = dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"})
    model_run = {
        "ops": {"synthesizer_model": {"config": FAST_SYNTHESIS}, "synthetic_cohort": {"config": FAST_SYNTHESIS}}
    }
    assert dg.materialize(
        [*sources, synthesizer_model, synthetic_cohort, validation_metrics],
        partition_key=key, resources=resources, run_config=model_run,
    ).success  # fmt: skip
    assert dg.materialize(
        [*sources, synthesizer_model.to_source_asset(), stress_suite],
        partition_key="colon", resources=resources,
        run_config={"ops": {"stress_suite": {"config": {"base_rows": 40, "rows_per_cell": 5}}}},
    ).success  # fmt: skip
    return tmp_path


def test_release_writes_a_verified_release_from_the_materialized_files(
    colon_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--registry", str(colon_data / "cohorts.yaml"), "release", "--no-dvc", "--synthesizer", "flow"]
    assert main([*argv, "--version", "0.0.2"]) == 0
    out = capsys.readouterr().out
    release = colon_data / "releases" / "0.0.2"
    assert f"release 0.0.2 written to {release} and committed (build, record, audit)" in out
    [sha] = [line.split()[-1] for line in out.splitlines() if "manifest.json sha256" in line]
    assert verify_release(release, sha) == []
    manifest = json.loads((release / "manifest.json").read_text())
    assert list(manifest["cohorts"]) == ["colon"] and manifest["cohorts"]["colon"]["parameters"]["epochs"] == 4
    assert "colon" in out and "released" in out
    store = Warehouse(colon_data / "warehouse.duckdb")
    assert store.query("SELECT cohorts_released FROM releases")["cohorts_released"].to_list() == ["colon"]

    assert main([*argv, "--version", "0.0.2"]) == 0  # releases are frozen: a complete one is left as it is
    assert "already published" in capsys.readouterr().out
    assert verify_release(release, sha) == []

    (colon_data / "assets" / "stress_suite" / "colon.parquet").unlink()
    assert main([*argv, "--version", "0.0.3"]) == 2
    err = capsys.readouterr().err
    assert "assets/stress_suite/colon.parquet" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not (colon_data / "releases" / "0.0.3").exists()

    assert main([*argv, "--version", "3"]) == 2
    assert "'3' is not a semantic version" in capsys.readouterr().err


def test_release_of_an_empty_data_dir_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONCOBENCH_DATA_DIR", str(tmp_path / "data"))
    assert main(["release", "--version", "0.0.2", "--no-dvc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("oncobench: error: no materialized partitions under") and str(tmp_path / "data") in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "data").exists()  # nothing written

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    assert main(["release", "--version", "0.0.2", "--no-dvc", "--data-dir", str(empty)]) == 2
    assert f"no materialized partitions under {empty}" in capsys.readouterr().err
    assert list(empty.iterdir()) == []
