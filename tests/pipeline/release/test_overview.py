"""The release at a glance: why a cohort was withheld and how private each is."""

from __future__ import annotations

import polars as pl

from pipeline.release.build import CohortCandidate
from pipeline.release.overview import release_overview
from pipeline.validation.gates import Gate
from pipeline.validation.metrics import Metric, metrics_frame
from pipeline.validation.verdicts import apply_gates

GATES = [Gate("privacy", "dcr_share", "max", 0.6, min_rows=30, ideal=0.5), Gate("survival", "km_max_gap", "max", 0.3)]


def _candidate(name: str, dcr: float, gap: float) -> CohortCandidate:
    metrics = [Metric("privacy", "dcr_share", dcr, lower=dcr - 0.02, upper=dcr + 0.02, rows=1000),
               Metric("privacy", "mia_auc", 0.51), Metric("survival", "km_max_gap", gap, lower=gap - 0.03,
                                                          upper=gap + 0.03, rows=500)]  # fmt: skip
    frame = apply_gates(metrics_frame(metrics, cohort=name, synthesizer="flow", run_id="r"), GATES)
    return CohortCandidate(name, "flow", pl.DataFrame(), pl.DataFrame(), frame, "x")


def test_a_withheld_cohort_names_its_gates_and_every_cohort_its_privacy() -> None:
    overview = release_overview([_candidate("good", 0.5, 0.1), _candidate("leaky", 0.9, 0.6)], released=["good"])
    rows = {r["cohort"]: r for r in overview.iter_rows(named=True)}
    assert rows["good"]["released"] and rows["good"]["withheld_by"] == "" and rows["good"]["privacy"] == "pass"
    assert not rows["leaky"]["released"] and rows["leaky"]["privacy"] == "fail: dcr_share"
    assert rows["leaky"]["withheld_by"] == "privacy.dcr_share [(all)]; survival.km_max_gap [(all)]"
    assert rows["leaky"]["dcr_share"] == 0.9 and rows["good"]["mia_auc"] == 0.51
    assert overview["cohort"].to_list() == ["good", "leaky"]  # released first
