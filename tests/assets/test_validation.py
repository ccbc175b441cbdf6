"""validation_metrics and the blocking gate checks, materialized for real on colon."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from assets.checks import synthetic_cohort_meets_expectations
from assets.ingestion import cohort_split
from assets.synthesis import synthesizer_model, synthetic_cohort
from assets.validation import GATES_CHECK, validation_metrics
from pipeline.validation.gates import DEFAULT_CONFIG
from pipeline.warehouse import Warehouse
from tests.assets.conftest import FAST_SYNTHESIS, lineage_resources

COLON_FLOW = dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"})
LINEAGE = [
    *cohort_split.to_source_assets(),
    synthesizer_model,
    synthetic_cohort,
    synthetic_cohort_meets_expectations,
    validation_metrics,
]
RUN_CONFIG = {"ops": {"synthesizer_model": {"config": FAST_SYNTHESIS}, "synthetic_cohort": {"config": FAST_SYNTHESIS}}}


def _fast_config(tmp_path: Path, **cohort_gates: list[dict[str, object]]) -> Path:
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["settings"]["anonymeter_attacks"] = 150  # enough for an interval that can show safety; faster than 300
    config["cohort_gates"] = cohort_gates
    path = tmp_path / "validation.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


# a 4-epoch flow is too little trained to keep the survival curves: the survival gates say so
UNTRAINED = [{"family": "survival", "metric": m, "disabled": True} for m in ("km_max_gap", "abs_optimism")]


def test_validation_metrics_land_in_duckdb_with_gates_and_plots(colon_split: Path) -> None:
    resources = lineage_resources(colon_split, _fast_config(colon_split, colon=UNTRAINED))
    result = dg.materialize(LINEAGE, partition_key=COLON_FLOW, resources=resources, run_config=RUN_CONFIG)
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    store = Warehouse(colon_split / "warehouse.duckdb")
    families = store.query("SELECT DISTINCT family FROM validation_metrics ORDER BY 1")["family"].to_list()
    assert families == ["fairness", "fidelity", "privacy", "survival", "utility"]
    gates = store.query("SELECT metric, passed FROM validation_metrics WHERE gate")
    expected = {"unique_record_copy_excess", "dcr_share", "mia_auc", "representation_ratio", "c2st_auc"}
    assert expected <= set(gates["metric"])
    metadata = result.asset_materializations_for_node("validation_metrics")[0].metadata
    for plot in ("marginals", "pair_trend_gaps", "kaplan_meier", "representation"):
        assert "data:image/png;base64" in metadata[plot].value
    assert 0.0 <= metadata["column_shapes"].value <= 1.0
    assert metadata["gates_passed"] == dg.MetadataValue.bool(True)  # a boolean, not 1.0
    gates = metadata["gates"].value
    assert [c.name for c in gates.schema.columns][:6] == ["metric", "target", "verdict", "value", "threshold", "bound"]


def _gate_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return next(c for c in result.get_asset_check_evaluations() if c.check_name == GATES_CHECK)


def test_a_failed_gate_is_a_failed_check_not_a_failed_run_and_names_metric_value_and_bound(colon_split: Path) -> None:
    impossible = [{"family": "fidelity", "metric": "c2st_auc", "max": 0.01}]
    resources = lineage_resources(colon_split, _fast_config(colon_split, colon=impossible))
    result = dg.materialize(LINEAGE, partition_key=COLON_FLOW, resources=resources, run_config=RUN_CONFIG)
    assert result.success  # an outcome, not a crash
    metadata = result.asset_materializations_for_node("validation_metrics")[0].metadata
    assert metadata["gates_passed"] == dg.MetadataValue.bool(False)
    assert metadata["gates"].value.records[0].data["passed"] is False  # failed gates lead the table
    gate = _gate_check(result)
    assert not gate.passed
    assert "fidelity.c2st_auc" in gate.description and "must be <= 0.01" in gate.description
    store = Warehouse(colon_split / "warehouse.duckdb")
    recorded = store.query("SELECT passed FROM validation_metrics WHERE metric = 'c2st_auc' AND gate")
    assert recorded["passed"].to_list() == [False]  # the check's verdict is the table's


def test_a_gate_on_any_metric_of_the_table_needs_no_code_change(colon_split: Path) -> None:
    shapes = [{"family": "fidelity", "metric": "column_shapes", "min": 0.9999}]
    resources = lineage_resources(colon_split, _fast_config(colon_split, colon=shapes))
    result = dg.materialize(LINEAGE, partition_key=COLON_FLOW, resources=resources, run_config=RUN_CONFIG)
    gate = _gate_check(result)
    assert not gate.passed and "fidelity.column_shapes" in gate.description and ">= 0.9999" in gate.description
    assert "(not computed)" not in gate.description
