"""Age is a clinical attribute: a model may use it, so the findings that ask a prediction not to depend on
an attribute (or to be spread equally over its groups) do not judge it; race, sex, income do."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.evaluation.config import load_evaluation_config
from pipeline.evaluation.data import CohortData
from pipeline.evaluation.errors import EvaluationError
from pipeline.evaluation.findings import CLINICAL, FAIL, NOT_APPLICABLE, judge


def _flips(*attributes: str) -> dict:
    return {"counterfactual": [{"attribute": a, "mode": "pure", "flip_rate": 0.3, "ci_low": 0.25, "ci_high": 0.35}
                               for a in attributes]}  # fmt: skip


def _flip_finding(cohort: dict, clinical: tuple[str, ...]) -> dict:
    rules = tuple(r for r in load_evaluation_config().findings if r.id == "counterfactual_flip_rate")
    return judge(rules, cohort, {}, max_cases=3, clinical=clinical)[0]


def test_flips_on_age_twins_are_listed_not_judged_while_race_flips_still_fail() -> None:
    config = load_evaluation_config()
    clinical = config.clinical(["age_at_diagnosis", "age_group", "race", "sex", "insurance"])
    assert clinical == ("age_at_diagnosis", "age_group")
    finding = _flip_finding(_flips("age_at_diagnosis"), clinical)
    assert finding["verdict"] == NOT_APPLICABLE and finding["not_judged"][0]["reason"] == CLINICAL
    finding = _flip_finding(_flips("age_at_diagnosis", "race"), clinical)
    assert finding["verdict"] == FAIL and [b["target"] for b in finding["breaches"]] == ["race (pure)"]
    assert _flip_finding(_flips("age_at_diagnosis"), ())["verdict"] == FAIL  # without the exemption: judged


def test_parity_of_an_intersection_with_age_is_not_judged() -> None:
    entry = {"attribute": "age_group&race", "demographic_parity_difference": 0.5,
             "demographic_parity_difference_ci_low": 0.4, "demographic_parity_difference_ci_high": 0.6}  # fmt: skip
    rules = tuple(r for r in load_evaluation_config().findings if r.id == "demographic_parity")
    cohort = {"subgroups": {"groups": [], "fairness": [entry], "metric": "auc"}}
    assert judge(rules, cohort, {}, max_cases=3, clinical=("age_group",))[0]["verdict"] == NOT_APPLICABLE
    assert judge(rules, cohort, {}, max_cases=3)[0]["verdict"] == FAIL


def test_the_invariant_attributes_of_a_cohort() -> None:
    data = CohortData("c", None, ("age_at_diagnosis", "race"), clinical=("age_at_diagnosis",))
    assert data.invariant == ("race",)


def test_a_malformed_clinical_list_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "evaluation.yaml"
    path.write_text("version: 9\nclinical_attributes: age*\nfindings: []\n")
    with pytest.raises(EvaluationError, match="clinical_attributes"):
        load_evaluation_config(path)
