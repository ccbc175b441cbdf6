"""model_evaluation materialized for real: both reference models on a release built in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.evaluation import EvaluationConfigResource, ModelsRegistryResource, finding_check, model_evaluation
from assets.resources import ReleaseStoreResource, RulesResource, WarehouseResource
from pipeline import audit
from pipeline.evaluation.records import leaderboard
from pipeline.evaluation.registry import DEFAULT_MODELS
from pipeline.rules import DEFAULT_RULES
from pipeline.warehouse import Warehouse
from tests.pipeline.evaluation.conftest import build_test_release, write_fast_config


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dg.ExecuteInProcessResult]]:
    root = tmp_path_factory.mktemp("evaluation")
    build_test_release(root / "releases", "0.9.0")
    resources = {
        "models": ModelsRegistryResource(path=str(DEFAULT_MODELS)),
        "evaluation_config": EvaluationConfigResource(path=str(write_fast_config(root / "evaluation.yaml"))),
        "rules": RulesResource(path=str(DEFAULT_RULES)),
        "warehouse": WarehouseResource(path=str(root / "warehouse.duckdb")),
        "releases": ReleaseStoreResource(root=str(root / "releases"), repo=str(root)),
    }
    run_config = {"ops": {"model_evaluation": {"config": {"version": "0.9.0"}}}}
    results = {
        key: dg.materialize([model_evaluation], partition_key=key, resources=resources, run_config=run_config)
        for key in ("reference_fair", "reference_biased")
    }
    return root, results


def test_each_model_partition_is_recorded_with_headline_metadata_and_plots(evaluated) -> None:
    root, results = evaluated
    for key, result in results.items():
        assert result.success
        [event] = result.asset_materializations_for_node("model_evaluation")
        assert event.partition == key and event.metadata["release"].value == "0.9.0"
        assert {"headline", "calibration_mortality_12m", "flip_rates_mortality_12m_support2_cancer",
                "subgroups_mortality_12m_colon"} <= set(event.metadata)  # fmt: skip
        assert "data:image/png;base64," in event.metadata["flip_rates_mortality_12m_support2_cancer"].value
    store = Warehouse(root / "warehouse.duckdb")
    board = leaderboard(store, "0.9.0", "mortality_12m")
    assert sorted(set(board["model"])) == ["reference:biased", "reference:fair"] and set(board["cohort"]) == {
        "colon", "support2_cancer"}  # fmt: skip
    assert {e["subject"] for e in audit.read_log(store).to_dicts() if e["kind"] == "evaluation"} == {
        "0.9.0:mortality_12m:reference:fair", "0.9.0:mortality_12m:reference:biased"}  # fmt: skip
    assert audit.verify_chain(store) == []


def test_a_check_per_finding_fails_for_the_biased_model_only(evaluated) -> None:
    _, results = evaluated
    verdicts = {
        key: {e.check_name: e.passed for e in result.get_asset_check_evaluations()} for key, result in results.items()
    }
    flip = finding_check("counterfactual_flip_rate")
    assert len(verdicts["reference_fair"]) == len(verdicts["reference_biased"]) >= 7
    assert verdicts["reference_fair"][flip] and verdicts["reference_fair"][finding_check("adversarial_change")]
    assert (
        not verdicts["reference_biased"][flip] and not verdicts["reference_biased"][finding_check("adversarial_change")]
    )
    [failed] = [e for e in results["reference_biased"].get_asset_check_evaluations() if e.check_name == flip]
    assert "race (pure)" in str(failed.metadata["breaches"].value)
