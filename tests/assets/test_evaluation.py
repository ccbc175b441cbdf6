"""model_evaluation materialized for real: both reference models on a release built in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.energy import ENERGY, EnergyResource
from assets.evaluation import (
    EvaluationConfigResource,
    ModelsRegistryResource,
    build_model_evaluation,
    finding_check,
)
from assets.evaluation import leaderboard as leaderboard_asset
from assets.release import benchmark_release
from assets.resources import JsonIOManager, ReleaseStoreResource, RulesResource, WarehouseResource
from pipeline import audit
from pipeline.evaluation.records import leaderboard
from pipeline.evaluation.registry import DEFAULT_MODELS
from pipeline.rules import DEFAULT_RULES
from pipeline.settings import Settings
from pipeline.warehouse import Warehouse
from tests.pipeline.evaluation.conftest import build_test_release, write_fast_config

RELEASE_SOURCE = benchmark_release.to_source_asset()  # read through its IO manager, as in a run


def _models(root: Path) -> Path:
    """The shipped models registry, scored on one task (it scores every declared task by default)."""
    path = root / "models.yaml"
    path.write_text(DEFAULT_MODELS.read_text() + "tasks: [mortality_12m]\n")
    return path


def _resources(root: Path, evaluation_config: Path) -> dict[str, object]:
    """The model_evaluation asset's resources, with the release handle benchmark_release would have stored."""
    handles = JsonIOManager(base_dir=str(root / "assets"))
    handles._write({"version": "0.9.0", "path": str(root / "releases" / "0.9.0")}, root / "assets" /
                   "benchmark_release" / "all.json")  # fmt: skip
    return {
        "models": ModelsRegistryResource(path=str(_models(root))),
        "evaluation_config": EvaluationConfigResource(path=str(evaluation_config)),
        "rules": RulesResource(path=str(DEFAULT_RULES)),
        "warehouse": WarehouseResource(path=str(root / "warehouse.duckdb")),
        "releases": ReleaseStoreResource(root=str(root / "releases"), repo=str(root)),
        "json_io_manager": handles,
        ENERGY: EnergyResource(warehouse=str(root / "warehouse.duckdb"), enabled=False),
    }


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dg.ExecuteInProcessResult]]:
    root = tmp_path_factory.mktemp("evaluation")
    build_test_release(root / "releases", "0.9.0")
    config = write_fast_config(root / "evaluation.yaml")
    model_evaluation = build_model_evaluation(Settings(evaluation=config, models=_models(root)))
    resources = _resources(root, config)
    results = {
        key: dg.materialize([RELEASE_SOURCE, model_evaluation], partition_key=key, resources=resources)
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
    assert board["findings_inconclusive"].min() >= 0 and board["findings_failed"].min() >= 0
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
    assert failed.metadata["verdict"].value == "fail" and failed.description.startswith("fail: ")
    # the fair model never flips, but ~120 pairs per attribute cannot show a rate below 1%: inconclusive, not failed
    [unclear] = [e for e in results["reference_fair"].get_asset_check_evaluations() if e.check_name == flip]
    assert unclear.passed and unclear.metadata["verdict"].value == "inconclusive"
    assert unclear.description.startswith("inconclusive: ")
    assert "sex (pure)" in str(unclear.metadata["inconclusive"].value)


def test_the_release_is_an_input_and_each_check_is_partitioned_by_model(evaluated) -> None:
    _, results = evaluated
    for key, result in results.items():
        [event] = result.asset_materializations_for_node("model_evaluation")
        assert event.metadata["release"].value == "0.9.0"  # read from the release handle, not config/release.yaml
        model = key.replace("_", ":", 1)  # reference_fair is reference:fair
        for check in result.get_asset_check_evaluations():
            assert check.partition == key and check.metadata["model"].value == model
            assert check.description.split(": ")[1] == model and check.metadata["tasks"].value == "mortality_12m"


@pytest.fixture(scope="module")
def board(evaluated) -> dg.ExecuteInProcessResult:
    """The leaderboard asset materialized after both model partitions, as the backfill of `make demo` runs it."""
    root, _ = evaluated
    resources = _resources(root, root / "evaluation.yaml")
    return dg.materialize(
        [RELEASE_SOURCE, leaderboard_asset],
        resources={key: resources[key] for key in ("warehouse", "json_io_manager", ENERGY)},
    )


def test_the_leaderboard_shows_each_models_verdict_inline(evaluated, board) -> None:
    root, results = evaluated
    assert board.success
    [event] = board.asset_materializations_for_node("leaderboard")
    markdown = event.metadata["verdicts"].value
    assert len(markdown) < 1000  # the UI renders Markdown metadata inline only under 1,000 characters
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown.splitlines()[2:]]
    recorded = leaderboard(Warehouse(root / "warehouse.duckdb"), "0.9.0")
    assert {(r[0], r[1], r[2]) for r in rows} == set(recorded.select("model", "cohort", "task").iter_rows())
    assert {r[0] for r in rows} == {"reference:fair", "reference:biased"}
    assert all(r[5].startswith("auc ") and "[" in r[5] and r[4].count("/") == 2 for r in rows)  # verdict is r[3]
    # the biased model leans on race, which support2_cancer records: the counterfactual finding fails there
    assert [r[3] for r in rows if r[:2] == ["reference:biased", "support2_cancer"]] == ["**fail**"]
    for key, result in results.items():  # a model's verdicts agree with the checks of its partition
        failed = any(not c.passed for c in result.get_asset_check_evaluations())
        assert failed == any(r[3] == "**fail**" for r in rows if r[0] == key.replace("_", ":", 1))
    assert event.metadata["release"].value == "0.9.0" and event.metadata["models"].value == 2
    assert "reference:biased" in event.metadata["failing_models"].value
    table = event.metadata["leaderboard"].value
    assert [c.name for c in table.schema.columns][:4] == ["model", "cohort", "task", "verdict"]
    assert len(table.records) == len(rows) == event.metadata["dagster/row_count"].value


def test_checks_follow_the_configured_findings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONCOBENCH_EVALUATION with another finding: the definitions' checks are that file's, and it is judged."""
    import yaml

    from assets.definitions import build_definitions

    config = write_fast_config(tmp_path / "evaluation.yaml")
    raw = yaml.safe_load(config.read_text())
    raw["findings"] = [{**raw["findings"][0], "id": "flip_rate_above_half_percent", "max": 0.005}]
    config.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("ONCOBENCH_EVALUATION", str(config))
    monkeypatch.setenv("ONCOBENCH_ENERGY", "off")
    defs = build_definitions(str(tmp_path / "data"))
    asset = defs.resolve_assets_def("model_evaluation")
    assert {key.name for key in asset.check_keys} == {finding_check("flip_rate_above_half_percent")}

    build_test_release(tmp_path / "releases", "0.9.0")
    asset = build_model_evaluation(Settings.from_environment())  # what a run process builds from the same environment
    result = dg.materialize(
        [RELEASE_SOURCE, asset], partition_key="reference_biased", resources=_resources(tmp_path, config)
    )
    [verdict] = result.get_asset_check_evaluations()
    assert verdict.check_name == finding_check("flip_rate_above_half_percent") and not verdict.passed
    assert "race (pure)" in str(verdict.metadata["breaches"].value)


def test_the_leaderboard_follows_every_model_partition_in_the_evaluation_job(tmp_path: Path, monkeypatch) -> None:
    """`make demo` backfills the evaluation group: the leaderboard runs once every model partition is done."""
    from assets.definitions import build_definitions

    monkeypatch.setenv("ONCOBENCH_ENERGY", "off")
    defs = build_definitions(str(tmp_path / "data"))
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("leaderboard"))
    assert node.parent_keys == {dg.AssetKey("model_evaluation"), dg.AssetKey("benchmark_release")}
    assert node.group_name == "evaluation" and node.partitions_def is None  # all partitions of model_evaluation
    job = defs.resolve_job_def("oncobench_evaluation")
    assert {dg.AssetKey("model_evaluation"), dg.AssetKey("leaderboard")} <= set(job.asset_layer.executable_asset_keys)
