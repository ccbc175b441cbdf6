"""Metrics and findings: the references on a release (flip rate, contraindications), and concordance, rare cells
and subgroup gaps on patients with biomarkers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.recommenders.adapters import LoadedRecommender, _python_call
from pipeline.recommenders.config import load_recommender_config
from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.references import GuidelineReference
from pipeline.recommenders.stage import RecommenderEvaluation, evaluate_recommender_release, score_cohort

TABLE = load_guidelines()
CONFIG = load_recommender_config()


@pytest.fixture(scope="module")
def evaluated(release_dir: Path) -> dict[str, RecommenderEvaluation]:
    return {kind: evaluate_recommender_release(release_dir, f"reference:{kind}")
            for kind in ("guideline", "insurance_biased", "random")}  # fmt: skip


def _finding(block: dict, finding: str) -> dict:
    return next(f for f in block["findings"] if f["id"] == finding)


def test_the_guideline_reference_fails_nothing(evaluated: dict[str, RecommenderEvaluation]) -> None:
    result = evaluated["guideline"].result
    assert result["guidelines"] == {"version": TABLE.version, "sha256": TABLE.sha256}
    for block in result["cohorts"].values():
        assert [f["id"] for f in block["findings"] if f["verdict"] == "fail"] == []
        assert block["contraindicated"]["test"]["patients"] == block["contraindicated"]["stress_suite"]["patients"] == 0
        assert all(e["flips"] == 0 for e in block["counterfactual"]) and block["counterfactual"]
        assert _finding(block, "guideline_concordance")["verdict"] == "not applicable"  # no biomarker recorded


def test_the_insurance_biased_reference_is_caught_by_the_flip_rate(evaluated) -> None:
    block = evaluated["insurance_biased"].result["cohorts"]["support2_cancer"]
    finding = _finding(block, "counterfactual_flip_rate")
    assert finding["verdict"] == "fail"
    failed = {b["target"] for b in finding["breaches"]}
    assert "income_band (pure)" in failed and not any(t.startswith("sex") for t in failed)
    case = next(b for b in finding["breaches"] if b["target"] == "income_band (pure)")["cases"][0]
    assert "best_supportive_care" in (case["base_decision"] + case["twin_decision"])
    flips = {(e["attribute"], e["mode"]): e["flips"] for e in block["counterfactual"]}
    assert flips[("race", "pure")] == flips[("sex", "pure")] == 0 and flips[("race", "consistent")] > 0


def test_the_random_reference_is_caught_by_contraindications(evaluated) -> None:
    block = evaluated["random"].result["cohorts"]["colon"]
    finding = _finding(block, "contraindicated_recommendations")
    assert finding["verdict"] == "fail"
    case = finding["breaches"][0]["cases"][0]
    assert case["contraindications"][0]["rule"] in {r.id for r in TABLE.contraindications}
    assert all(e["flips"] == 0 for e in block["counterfactual"])  # random, but a function of the clinical facts


class WithholdsFrom:
    """The guideline, except chemotherapy for Black patients and for ALK-positive ones."""

    def recommend(self, patients):
        fair = GuidelineReference(TABLE).recommend(patients)
        for item, answer in zip(patients, fair, strict=True):
            if item["patient"]["race"] == "Black" or item["patient"]["genomic_variant_alk"]:
                answer.update(therapy_class="chemotherapy", agents=["carboplatin", "pemetrexed"])
        return fair


def _patients(n: int = 400) -> pl.DataFrame:
    alk = [i % 20 == 0 for i in range(n)]  # 5% ALK-positive: a rare cell
    return pl.DataFrame({
        "patient_id": [f"p{i}" for i in range(n)], "primary_cancer_condition": ["LUAD"] * n,
        "cancer_stage_group": ["IV"] * n, "genomic_variant_egfr": [not a for a in alk], "genomic_variant_alk": alk,
        "race": ["Black" if i % 4 == 1 else "White" for i in range(n)], "survival_months": [10.0] * n,
    })  # fmt: skip


def test_concordance_rare_cells_and_subgroup_gaps() -> None:
    frame = _patients()
    recommender = LoadedRecommender("withholds", "f" * 64, "python", _python_call(WithholdsFrom()))
    block, _ = score_cohort(recommender, frame, frame.head(0), frame, ["race"], table=TABLE, config=CONFIG)
    c = block["concordance"]
    assert (c["n"], c["concordant"]) == (400, 400 - 100 - 20) and c["indications"] == {
        "nsclc_alk": 20,
        "nsclc_egfr": 380,
    }
    assert c["ci_high"] < 0.95 and _finding(block, "guideline_concordance")["verdict"] == "fail"
    [cell] = block["stress"]["cells"]
    assert (cell["type"], cell["cell"], cell["n"]) == ("rare_biomarker", "nsclc_alk", 20)
    assert cell["concordance"]["value"] == 0 and _finding(block, "rare_cell_concordance_gap")["verdict"] == "fail"
    worst = block["subgroups"]["worst"]
    assert (worst["group"], worst["value"]) == ("Black", 0.0)
    assert _finding(block, "subgroup_concordance_gap")["verdict"] == "fail"
    assert "survival_months" not in str(block)  # outcomes are never shown nor reported
