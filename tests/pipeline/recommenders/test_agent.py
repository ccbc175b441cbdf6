"""The agentic reference: three steps reported and scored one by one, reached over HTTP as an agent service is."""

from __future__ import annotations

from pathlib import Path

from pipeline.recommenders.adapters import load_recommender, recommend
from pipeline.recommenders.agent import ReferenceAgent
from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.interface import parse_answer
from pipeline.recommenders.serve import serving
from pipeline.recommenders.stage import evaluate_recommender_release
from pipeline.recommenders.steps import steps_block
from tests.pipeline.recommenders.conftest import item

TABLE = load_guidelines()
PATIENTS = [
    item("egfr", "LUAD", egfr=True), item("alk", "LUAD", alk=True), item("none", "LUAD", egfr=False),
    item("her2", "IDC", tumor_marker_her2_status="Positive", tumor_marker_er_status="Negative"),
    item("msi", "COAD", msi_status="MSI-H"),
]  # fmt: skip


class ForgetfulAgent(ReferenceAgent):
    """Extracts nothing: every later step follows from the miss."""

    def extract(self, record):
        return dict.fromkeys(self.table.biomarkers, "unknown")


def _scored(agent: ReferenceAgent) -> dict:
    pairs = zip(agent.recommend(PATIENTS), PATIENTS, strict=True)
    answers = [parse_answer(a, p["patient_id"], TABLE) for a, p in pairs]
    return steps_block(TABLE, PATIENTS, answers, max_cases=10)


def test_the_agent_reports_each_step_and_decides_as_the_table() -> None:
    [answer] = ReferenceAgent().recommend([PATIENTS[0]])
    assert answer["steps"]["biomarkers"] == ["EGFR"] and answer["steps"]["evidence"]
    assert answer["therapy_class"] == "egfr_tki" and "EGFR" in answer["rationale"]
    block = _scored(ReferenceAgent())
    assert block["reported"] == block["of"] == 5 and block["misses"] == []
    assert block["biomarker_recall"]["value"] == 1.0 and block["evidence_match"]["value"] == 1.0


def test_a_step_that_fails_is_scored_as_failed() -> None:
    block = _scored(ForgetfulAgent())
    assert block["biomarker_recall"]["value"] == 0.0 and block["evidence_match"]["value"] == 0.0
    assert {m["patient_id"] for m in block["misses"]} >= {"egfr", "alk", "msi"}


def test_the_agent_over_http_is_scored_per_step_with_latency_and_energy(release_dir: Path) -> None:
    with serving(ReferenceAgent()) as url:
        loaded = load_recommender(url)
        answers = recommend(loaded, PATIENTS, TABLE, None, None, "")
        assert [r.steps["biomarkers"] for r in answers.recommendations][:2] == [("EGFR",), ("ALK",)]
        evaluation = evaluate_recommender_release(release_dir, loaded, cohorts=["colon"], use_cache=False)
    block = evaluation.result["cohorts"]["colon"]
    assert block["steps"]["reported"] == block["steps"]["of"] > 0 and block["timing"]["seconds_per_recommendation"]
    assert evaluation.result["energy"]["kwh_per_recommendation"] > 0  # codecarbon offline, DEU
    assert load_recommender("reference:agent").fingerprint != load_recommender("reference:guideline").fingerprint
