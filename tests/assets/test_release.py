"""benchmark_release materialized for real: colon's whole lineage, then a verified release."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import dagster as dg
import yaml

from assets.ingestion import cohort_split, harmonized_cohort
from assets.journeys import synthetic_journeys
from assets.release import benchmark_release
from assets.resources import CohortRegistryResource, ReleaseStoreResource
from assets.stress import stress_suite
from assets.synthesis import synthesizer_model, synthetic_cohort
from assets.validation import validation_metrics
from pipeline import audit
from pipeline.cohorts.registry import DEFAULT_REGISTRY
from pipeline.release.verify import verify_release
from pipeline.warehouse import Warehouse
from tests.assets.conftest import FAST_SYNTHESIS, lineage_resources
from tests.assets.test_validation import UNTRAINED, _fast_config


def test_release_of_colon_is_written_recorded_audited_and_verifies(colon_split: Path) -> None:
    registry = yaml.safe_load(DEFAULT_REGISTRY.read_text())
    registry["cohorts"] = {"colon": registry["cohorts"]["colon"]}
    (colon_split / "cohorts.yaml").write_text(yaml.safe_dump(registry))
    resources = {
        **lineage_resources(colon_split, _fast_config(colon_split, colon=UNTRAINED)),
        "registry": CohortRegistryResource(path=str(colon_split / "cohorts.yaml"), id_salt="t"),
        "releases": ReleaseStoreResource(root=str(colon_split / "releases"), repo=str(colon_split)),
    }
    model_run = {
        "ops": {"synthesizer_model": {"config": FAST_SYNTHESIS}, "synthetic_cohort": {"config": FAST_SYNTHESIS}}
    }
    key = dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "flow"})
    sources = cohort_split.to_source_assets()
    assert dg.materialize(
        [*sources, synthesizer_model, synthetic_cohort, validation_metrics],
        partition_key=key, resources=resources, run_config=model_run,
    ).success  # fmt: skip
    assert dg.materialize(
        [*sources, synthesizer_model.to_source_asset(), stress_suite],
        partition_key="colon", resources=resources,
        run_config={"ops": {"stress_suite": {"config": {"base_rows": 40, "rows_per_cell": 5}}}},
    ).success  # fmt: skip
    upstream = [
        a.to_source_asset()
        for a in (
            harmonized_cohort,
            synthesizer_model,
            synthetic_cohort,
            validation_metrics,
            stress_suite,
            synthetic_journeys,
        )
    ]
    result = dg.materialize(
        [*upstream, benchmark_release],
        resources=resources,
        run_config={"ops": {"benchmark_release": {"config": {"version": "0.0.1"}}}},
    )
    assert result.success
    [event] = result.asset_materializations_for_node("benchmark_release")
    assert event.metadata["steps_done_now"].value == ["build", "record", "audit"]  # not a DVC repository
    assert event.metadata["datasheet"].value.endswith("0.0.1/datasheet.html")
    assert "colon" in str(event.metadata["privacy"].value) and "every cohort passed" in event.metadata["withheld"].value
    release = colon_split / "releases" / "0.0.1"
    manifest_bytes = (release / "manifest.json").read_bytes()
    assert verify_release(release, event.metadata["manifest_sha256"].value) == []
    manifest = json.loads((release / "manifest.json").read_text())
    assert list(manifest["cohorts"]) == ["colon"] and manifest["cohorts"]["colon"]["parameters"]["epochs"] == 4
    assert {"kwh", "kg_co2e", "runs"} <= set(manifest["energy"])  # this lineage ran unmeasured: runs 0, kwh null
    assert "## Energy and carbon" in (release / "datasheet.md").read_text()
    store = Warehouse(colon_split / "warehouse.duckdb")
    assert store.query("SELECT cohorts_released FROM releases")["cohorts_released"].to_list() == ["colon"]
    kinds = set(audit.read_log(store)["kind"])
    assert {"training", "validation", "stress", "release"} <= kinds and audit.verify_chain(store) == []
    exported = audit.read_exported(release / "audit_log.jsonl")
    assert exported and audit.verify_entries(exported) == []
    anchor = audit.parse_anchor(manifest["audit"], "manifest")
    assert anchor.entries == len(exported) and audit.check_anchor(exported, anchor, exact=True) == []
    assert audit.verify_chain(store, audit.warehouse_anchors(store)) == []
    again = dg.materialize(
        [*upstream, benchmark_release], resources=resources, raise_on_error=False,
        run_config={"ops": {"benchmark_release": {"config": {"version": "0.0.1"}}}},
    )  # fmt: skip
    assert again.success  # a complete release: nothing to do, and nothing rewritten
    [event] = again.asset_materializations_for_node("benchmark_release")
    assert event.metadata["steps_done_now"].value == [] and event.metadata["status"].value == "complete"
    assert (release / "manifest.json").read_bytes() == manifest_bytes
    assert len(audit.find_entries(store, "release", "0.0.1")) == 1
    # a model file replaced by a pickle with a payload: refused unread, nothing released
    marker = colon_split / "payload-ran"
    (colon_split / "models" / "synthesizer_model" / "colon__flow.pkl").write_bytes(pickle.dumps(_Payload(str(marker))))
    attacked = dg.materialize(
        [*upstream, benchmark_release], resources=resources, raise_on_error=False,
        run_config={"ops": {"benchmark_release": {"config": {"version": "0.0.2"}}}},
    )  # fmt: skip
    assert not attacked.success and not marker.exists()
    assert not (colon_split / "releases" / "0.0.2").exists()


class _Payload:
    """Unpickling it creates a file: proof that a model file ran code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))
