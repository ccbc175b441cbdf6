"""Gates catch a synthesizer that copies its training rows and one that drops a subgroup."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from pipeline.validation import fairness, privacy
from pipeline.validation.columns import column_kinds
from pipeline.validation.gates import ANONYMETER_METRICS, ValidationConfigError, load_validation_config
from pipeline.validation.suite import validate_cohort
from pipeline.validation.verdicts import describe_failures, failed_gates

CONFIG = load_validation_config()
SETTINGS = dataclasses.replace(CONFIG.settings, anonymeter_attacks=0)
FAST_CONFIG = dataclasses.replace(
    CONFIG, settings=SETTINGS, gates=tuple(g for g in CONFIG.gates if g.metric not in ANONYMETER_METRICS)
)


def _gated(train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame) -> pl.DataFrame:
    result = validate_cohort(
        train, holdout, synthetic, protected=["sex"], config=FAST_CONFIG, cohort="colon", synthesizer="test", run_id="r"
    )
    return result.table


def test_a_synthesizer_that_copies_its_training_rows_fails_the_privacy_gates(colon_split) -> None:
    train, holdout = colon_split
    copied = train.sample(train.height, seed=1)
    failed = set(failed_gates(_gated(train, holdout, copied))["metric"])
    assert {"unique_record_copy_excess", "dcr_share", "mia_auc"} <= failed
    assert any(
        "privacy.mia_auc" in line and "must be <= 0.6" in line
        for line in describe_failures(_gated(train, holdout, copied))
    )


def test_unseen_real_patients_pass_the_privacy_gates(colon_three_way) -> None:
    train, reference, fresh = colon_three_way
    table = _gated(train, reference, fresh)
    privacy_rows = table.filter((pl.col("family") == "privacy") & pl.col("gate"))
    assert privacy_rows.height >= 6 and privacy_rows["passed"].all(), describe_failures(privacy_rows)


def test_dropping_a_subgroup_fails_the_fairness_gate(colon_split) -> None:
    train, holdout = colon_split
    no_women = train.filter(pl.col("sex") == "Male")
    failed = failed_gates(_gated(train, holdout, no_women))
    assert ("fairness", "representation_ratio", "sex=Female") in set(
        failed.select("family", "metric", "target").iter_rows()
    )


def test_exact_copies_count_only_patients_no_one_else_matches(colon_split) -> None:
    train, holdout = colon_split
    kinds = column_kinds(train)
    metrics = {m.metric: m for m in privacy.exact_copies(train, holdout, train.head(10), kinds)}
    assert metrics["unique_record_copies"].value == 10
    assert metrics["exact_copy_share"].value == 1.0


def test_representation_ratio_is_synthetic_share_over_real_share() -> None:
    real = pl.DataFrame({"sex": ["Female"] * 40 + ["Male"] * 60})
    synthetic = pl.DataFrame({"sex": ["Female"] * 20 + ["Male"] * 80})
    ratios = {m.target: m.value for m in fairness.representation(real, synthetic, ["sex", "race"])}
    assert ratios == {"sex=Female": pytest.approx(0.5), "sex=Male": pytest.approx(80 / 60), "sex": pytest.approx(0.5)}


def test_a_bad_gate_config_names_the_file_and_the_gate(tmp_path) -> None:
    path = tmp_path / "validation.yaml"
    path.write_text("version: 1\ngates:\n  - {family: privacy, metric: mia_auc, max: 0.6, min: 0.4}\n")
    with pytest.raises(ValidationConfigError, match=r"validation.yaml.*mia_auc.*exactly one of 'max' or 'min'"):
        load_validation_config(path)
    path.write_text("version: 1\nsettings: {c2st_rows: 5}\n")
    with pytest.raises(ValidationConfigError, match="unknown settings \\['c2st_rows'\\]"):
        load_validation_config(path)
    path.write_text(
        "version: 1\nsettings: {anonymeter_attacks: 0}\n"
        "gates:\n  - {family: privacy, metric: linkability_risk, max: 0.25}\n"
    )
    with pytest.raises(ValidationConfigError, match=r"Anonymeter off.*\['linkability_risk'\]; remove those gates"):
        load_validation_config(path)
    path.write_text(
        "version: 1\nsettings: {anonymeter_attacks: 50}\n"
        "cohort_gates:\n  colon:\n    - {family: privacy, metric: inference_risk, max: 0.5, min_rows: 80}\n"
    )
    with pytest.raises(ValidationConfigError, match=r"attacks is 50, fewer than .*'inference_risk'\] need \(80\)"):
        load_validation_config(path)


def test_a_cohort_can_replace_or_disable_a_default_gate(tmp_path) -> None:
    path = tmp_path / "validation.yaml"
    path.write_text(
        "version: 1\nsettings: {anonymeter_attacks: 0}\n"
        "gates:\n  - {family: privacy, metric: dcr_share, max: 0.6, ideal: 0.5}\n"
        "  - {family: survival, metric: km_max_gap, max: 0.3}\n"
        "cohort_gates:\n  colon:\n    - {family: privacy, metric: dcr_share, max: 0.55, ideal: 0.5}\n"
        "    - {family: survival, metric: km_max_gap, disabled: true, why: too short a follow-up}\n"
    )
    config = load_validation_config(path)
    colon = {(g.metric, g.threshold) for g in config.gates_for("colon")}
    assert colon == {("dcr_share", 0.55)}
    assert {(g.metric, g.threshold) for g in config.gates_for("rott2")} == {("dcr_share", 0.6), ("km_max_gap", 0.3)}


def test_numeric_protected_attributes_are_banded_alike_in_real_and_synthetic() -> None:
    from pipeline.subgroups import subgroup_labels

    real = pl.DataFrame({"age_at_diagnosis": [35.0, 45.0, 55.0, 65.0, 75.0, 85.0, 39.9, 40.0, 50.0, 61.0, None]})
    synthetic = pl.DataFrame({"age_at_diagnosis": [20.0, 90.0]})
    assert subgroup_labels(real, "age_at_diagnosis").to_list()[:8] == [
        "<40", "40-50", "50-60", "60-70", "70-80", ">=80", "<40", "40-50",
    ]  # fmt: skip
    assert subgroup_labels(real, "age_at_diagnosis").to_list()[-1] is None
    assert subgroup_labels(synthetic, "age_at_diagnosis", real).to_list() == ["<40", ">=80"]


def test_an_erased_subgroup_of_30_real_patients_fails_its_representation_gate_after_holm() -> None:
    """The exact conditional interval keeps its power at a count of 0 (Katz's interval, with half a
    patient added, left p = 0.04 here: not enough once Holm divides 0.05 among 50 gated rows)."""
    from pipeline.intervals import share_ratio_interval
    from pipeline.validation.verdicts import beyond_p_value

    low, high = share_ratio_interval(0, 250, 30, 500)
    assert low == 0.0 and high < 0.3
    assert beyond_p_value(0.0, "min", 0.5, low, high) < 0.05 / 50
    low, high = share_ratio_interval(100, 250, 200, 500)  # the same share: the ratio 1 is inside
    assert low < 1.0 < high and high < 1.3
