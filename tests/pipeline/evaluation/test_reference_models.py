"""The harness tells the reference models apart: the biased one flips on what it leans on, the fair one never."""

from __future__ import annotations

import json

from pipeline.evaluation.stage import Evaluation
from pipeline.rules import count_violations, load_rules

CONTRACT = {"release", "model", "task", "cohorts"}
COHORT_BLOCK = {"performance", "subgroups", "counterfactual", "adversarial", "stress", "explanations", "findings"}
TWIN_ENTRY = {"attribute", "mode", "pairs", "flip_rate", "ci_low", "ci_high", "mean_abs_change"}


def _entries(evaluation: Evaluation, cohort: str, mode: str) -> dict[str, dict]:
    return {e["attribute"]: e for e in evaluation.result["cohorts"][cohort]["counterfactual"] if e["mode"] == mode}


def _finding(evaluation: Evaluation, cohort: str, finding: str) -> dict:
    return next(f for f in evaluation.result["cohorts"][cohort]["findings"] if f["id"] == finding)


def test_biased_flip_rate_interval_excludes_zero_on_the_attributes_it_leans_on(evaluations) -> None:
    biased = evaluations[("reference:biased", "mortality_12m")]
    pure = _entries(biased, "support2_cancer", "pure")
    for attribute in ("race", "income_band"):
        assert pure[attribute]["ci_low"] > 0 and pure[attribute]["flips"] > 0
        assert pure[attribute]["mean_abs_change"] > 0
    # it does not lean on sex or education in support2: its pure twins never flip there
    assert pure["sex"]["flip_rate"] == 0 and pure["education_band"]["flip_rate"] == 0
    # consistent education twins redraw income (the causal graph), which the biased model uses
    assert _entries(biased, "support2_cancer", "consistent")["education_band"]["ci_low"] > 0
    finding = _finding(biased, "support2_cancer", "counterfactual_flip_rate")
    assert not finding["passed"] and "race (pure)" in {b["target"] for b in finding["breaches"]}
    flagged = next(b for b in finding["breaches"] if b["target"] == "race (pure)")["cases"]
    assert flagged and all(case["from"] != case["to"] and case["change"] > 0 for case in flagged)


def test_fair_model_never_flips_on_a_pure_twin(evaluations) -> None:
    for task in ("mortality_12m", "treatment"):
        fair = evaluations[("reference:fair", task)]
        for cohort, block in fair.result["cohorts"].items():
            pure = [e for e in block["counterfactual"] if e["mode"] == "pure"]
            assert pure, cohort
            for entry in pure:
                assert entry["flips"] == 0 and entry["flip_rate"] == 0.0 and entry["mean_abs_change"] == 0.0, entry
            assert _finding(fair, cohort, "counterfactual_flip_rate")["passed"]
            assert all(w["change"] == 0.0 for w in block["adversarial"]["worst"])


def test_output_contract(evaluations) -> None:
    for evaluation in evaluations.values():
        result = json.loads(json.dumps(evaluation.result))  # JSON as written by --out
        assert set(result) == CONTRACT and set(result["model"]) == {"name", "fingerprint"}
        assert len(result["model"]["fingerprint"]) == 64
        for block in result["cohorts"].values():
            assert set(block) == COHORT_BLOCK
            assert all(set(entry) >= TWIN_ENTRY for entry in block["counterfactual"])
            for name, score in block["performance"].items():
                if isinstance(score, dict):
                    assert set(score) == {"value", "ci_low", "ci_high", "n"}, name
    mortality = evaluations[("reference:fair", "mortality_12m")].result["cohorts"]["support2_cancer"]["performance"]
    assert {"auc", "brier", "calibration_slope", "calibration_intercept"} <= set(mortality)
    assert mortality["auc"]["ci_low"] < mortality["auc"]["value"] < mortality["auc"]["ci_high"]
    survival = evaluations[("reference:biased", "overall_survival")].result["cohorts"]["support2_cancer"]["performance"]
    assert {"c_index", "uno_c_index", "integrated_brier_score"} <= set(survival)
    assert 0.5 < survival["c_index"]["value"] <= 1 and 0 < survival["integrated_brier_score"]["value"] < 0.25


def test_the_fair_model_sees_no_protected_attribute_or_proxy(release_dir) -> None:
    import polars as pl

    from pipeline.evaluation.data import CohortData
    from pipeline.evaluation.reference import reference_model
    from pipeline.evaluation.tasks import cohort_tasks

    train = pl.read_parquet(release_dir / "cohorts" / "support2_cancer" / "train.parquet")
    task = cohort_tasks({}, train)["mortality_12m"]
    data = CohortData("support2_cancer", train, ("race", "sex", "income_band", "education_band"))
    fair, biased = reference_model("fair", task, data), reference_model("biased", task, data)
    assert not {"race", "sex", "income_band", "education_band", "insurance", "age_at_diagnosis"} & set(fair.features)
    assert "edu" not in fair.features  # support2's years of education: the proxy of education_band
    assert biased.features == fair.features and biased.lean_on == ["race", "income_band"]


def test_adversarial_search_finds_plausible_changes_of_what_the_model_uses(evaluations, release_dir) -> None:
    import polars as pl

    block = evaluations[("reference:biased", "mortality_12m")].result["cohorts"]["support2_cancer"]["adversarial"]
    assert block["searched"] == 3 and block["budget"] == 120
    worst = block["worst"][0]
    assert worst["change"] > 0.1 and set(worst["changes"]) & {"race", "income_band"}
    assert set(worst["changes"]) <= {"race", "income_band"}  # changes the worst case does not need are undone
    assert [w["change"] for w in block["worst"]] == sorted((w["change"] for w in block["worst"]), reverse=True)
    suite = pl.read_parquet(release_dir / "cohorts" / "support2_cancer" / "stress_suite.parquet")
    patient = suite.filter(pl.col("base_patient_id") == worst["base_patient_id"]).head(1)
    changed = patient.with_columns(
        pl.lit(to).cast(patient.schema[a]).alias(a) for a, (_, to) in worst["changes"].items()
    )
    broken, _ = count_violations(changed, load_rules())
    assert not broken.any()


def test_findings_are_verdicts_and_the_fair_model_fails_none(evaluations) -> None:
    vocabulary = {"pass", "fail", "inconclusive", "not applicable"}
    for (model, task), evaluation in evaluations.items():
        for cohort, block in evaluation.result["cohorts"].items():
            for finding in block["findings"]:
                assert finding["verdict"] in vocabulary and finding["passed"] == (finding["verdict"] != "fail")
                for entry in finding["breaches"] + finding["inconclusive"]:
                    assert {"interval", "verdict", "cases"} <= set(entry)
                if model == "reference:fair":  # small groups and rare cells are inconclusive, never failed
                    assert finding["verdict"] != "fail", (task, cohort, finding)
        assert evaluation.findings_inconclusive.keys() == evaluation.findings_failed.keys()
    biased = evaluations[("reference:biased", "overall_survival")].result["cohorts"]["support2_cancer"]["findings"]
    assert {f["id"]: f["verdict"] for f in biased}["demographic_parity"] == "not applicable"  # a binary score


def test_a_two_arm_treatment_task_gives_one_column_per_arm(release_dir) -> None:
    import polars as pl

    from pipeline.evaluation.data import CohortData
    from pipeline.evaluation.reference import reference_model
    from pipeline.evaluation.tasks import model_input
    from pipeline.release.tasks import MULTICLASS, TREATMENT, Task

    train = pl.read_parquet(release_dir / "cohorts" / "colon" / "train.parquet")
    arms = tuple(sorted(train[TREATMENT].drop_nulls().cast(pl.String).unique().to_list())[:2])
    task = Task("treatment", MULTICLASS, "two arms", classes=arms)
    for kind in ("fair", "biased"):
        model = reference_model(kind, task, CohortData("colon", train, ("sex",)))
        probabilities = model.predict_proba(model_input(train.head(20), task))
        assert probabilities.shape == (20, 2) and abs(probabilities.sum(axis=1) - 1).max() < 1e-9
