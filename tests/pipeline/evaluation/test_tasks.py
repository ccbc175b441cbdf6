"""Tasks are declared in the manifest (and derived for older releases); labels follow their definitions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.evaluation.config import load_evaluation_config
from pipeline.evaluation.errors import EvaluationError
from pipeline.evaluation.findings import candidate_verdict
from pipeline.evaluation.registry import load_models_registry
from pipeline.evaluation.tasks import cohort_tasks
from pipeline.release.tasks import declare_tasks, mortality_labels


def test_manifest_declares_tasks_and_protected_attributes(release_dir: Path) -> None:
    manifest = json.loads((release_dir / "manifest.json").read_text())
    colon, support2 = manifest["cohorts"]["colon"], manifest["cohorts"]["support2_cancer"]
    assert set(colon["tasks"]) == {"mortality_12m", "overall_survival", "treatment"}
    assert colon["tasks"]["treatment"]["classes"] == ["Levamisole", "Levamisole + 5-FU", "Observation"]
    assert set(support2["tasks"]) == {"mortality_12m", "overall_survival"}  # no arms in support2
    assert support2["protected"] == ["education_band", "income_band", "race", "sex"] and colon["protected"] == ["sex"]
    train = pl.read_parquet(release_dir / "cohorts" / "colon" / "train.parquet")
    # a release written before tasks were declared gets the same tasks, derived from its train split
    assert cohort_tasks({}, train) == cohort_tasks(colon, train)
    threshold = colon["tasks"]["mortality_12m"]["threshold"]
    known, died = mortality_labels(train, 12)
    assert threshold == pytest.approx(died[known].mean(), abs=1e-4)


def test_mortality_leaves_out_patients_censored_before_12_months() -> None:
    frame = pl.DataFrame({"survival_months": [3.0, 6.0, 12.0, 30.0, 30.0], "vital_status_event": [1, 0, 1, 0, 1]})
    known, died = mortality_labels(frame, 12)
    assert known.tolist() == [True, False, True, True, True] and died.tolist() == [1, 0, 1, 0, 0]
    assert "treatment" not in declare_tasks(frame) and set(declare_tasks(frame)) == {
        "mortality_12m",
        "overall_survival",
    }
    assert np.isclose(declare_tasks(frame)["mortality_12m"]["threshold"], 0.5)


def test_config_and_models_registry_refuse_malformed_files(tmp_path: Path) -> None:
    config = load_evaluation_config()
    assert {r.id for r in config.findings} >= {"counterfactual_flip_rate", "adversarial_change"}
    flip = next(r for r in config.findings if r.id == "counterfactual_flip_rate")
    assert candidate_verdict(flip, 0.05, 0.02, 0.08)[0] == "fail"  # the whole interval lies above 1%
    assert candidate_verdict(flip, 0.05, 0.005, 0.08)[0] == "inconclusive"  # above on its value, not beyond chance
    (tmp_path / "old.yaml").write_text(  # `when` of config files written before verdicts: accepted, not used
        "version: 1\nfindings: [{id: flips, score: counterfactual.flip_rate, max: 0.01, when: ci_low}]\n"
    )
    assert load_evaluation_config(tmp_path / "old.yaml").findings[0].when == "ci_low"
    (tmp_path / "bad.yaml").write_text("version: 1\nsettings: {bootstrapp: 3}\n")
    with pytest.raises(EvaluationError, match="unknown settings"):
        load_evaluation_config(tmp_path / "bad.yaml")
    assert load_models_registry().names == ["reference_fair", "reference_biased"]
    (tmp_path / "models.yaml").write_text("models:\n  Bad-Name: {model: reference:fair}\n")
    with pytest.raises(EvaluationError, match="lower_snake_case"):
        load_models_registry(tmp_path / "models.yaml")
