"""recommender_scores materialized for real: the registered reference recommenders on a release built in a
temporary folder, one partition each, with a check per finding that names the recommender."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.energy import ENERGY, EnergyResource
from assets.recommenders import RecommendersResource, build_recommender_evaluation, recommender_check
from assets.release import benchmark_release
from assets.resources import JsonIOManager, ReleaseStoreResource, WarehouseResource
from pipeline import audit
from pipeline.recommenders.registry import load_recommenders_registry
from pipeline.settings import Settings, default_config
from pipeline.warehouse import Warehouse
from tests.pipeline.evaluation.conftest import build_test_release

RELEASE_SOURCE = benchmark_release.to_source_asset()


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dg.ExecuteInProcessResult]]:
    root = tmp_path_factory.mktemp("recommenders")
    build_test_release(root / "releases", "0.9.0")
    settings = Settings()
    asset = build_recommender_evaluation(settings, settings.guidelines, settings.recommender_evaluation)
    handles = JsonIOManager(base_dir=str(root / "assets"))
    handles._write({"version": "0.9.0", "path": str(root / "releases" / "0.9.0")},
                   root / "assets" / "benchmark_release" / "all.json")  # fmt: skip
    resources = {
        "recommenders": RecommendersResource(models=str(settings.models), config=str(settings.recommender_evaluation),
                                             guidelines=str(settings.guidelines)),
        "warehouse": WarehouseResource(path=str(root / "warehouse.duckdb")),
        "releases": ReleaseStoreResource(root=str(root / "releases"), repo=str(root)),
        "json_io_manager": handles,
        ENERGY: EnergyResource(warehouse=str(root / "warehouse.duckdb"), enabled=False),
    }  # fmt: skip
    results = {key: dg.materialize([RELEASE_SOURCE, asset], partition_key=key, resources=resources)
               for key in ("reference_guideline", "reference_insurance_biased")}  # fmt: skip
    return root, results


def test_the_registered_recommenders_are_the_partitions() -> None:
    names = [e.name for e in load_recommenders_registry(default_config("models"))]
    assert names == ["reference_guideline", "reference_insurance_biased", "reference_random"]
    from assets.definitions import defs

    assert defs.resolve_job_def("oncobench_recommenders").partitions_def.get_partition_keys() == names


def test_each_partition_is_recorded_audited_and_judged_per_finding(evaluated) -> None:
    root, results = evaluated
    flip = recommender_check("counterfactual_flip_rate")
    for key, result in results.items():
        assert result.success
        [event] = result.asset_materializations_for_node("recommender_scores")
        assert event.partition == key and event.metadata["release"].value == "0.9.0"
        assert "data:image/png;base64," in event.metadata["flip_rates_support2_cancer"].value
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert len(checks) >= 5 and all(key.replace("reference_", "") in e.description for e in checks.values())
    guideline = {e.check_name: e.passed for e in results["reference_guideline"].get_asset_check_evaluations()}
    biased = {e.check_name: e.passed for e in results["reference_insurance_biased"].get_asset_check_evaluations()}
    assert guideline[flip] and not biased[flip]  # only the insurance-biased answer changes with income alone
    store = Warehouse(root / "warehouse.duckdb")
    rows = store.query("SELECT recommender, cohort FROM recommender_evaluations ORDER BY recommender, cohort").rows()
    recommenders = ("reference:guideline", "reference:insurance_biased")
    pairs = [(r, c) for r in recommenders for c in ("colon", "support2_cancer")]
    assert rows == pairs
    subjects = {e["subject"] for e in audit.read_log(store).to_dicts() if e["kind"] == "evaluation"}
    assert subjects == {"recommender:0.9.0:reference:guideline", "recommender:0.9.0:reference:insurance_biased"}
