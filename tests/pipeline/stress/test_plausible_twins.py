"""Sex twins of patients with a sex-specific cancer never reach a stress suite; the others do."""

from __future__ import annotations

import polars as pl

from pipeline.rules import count_violations, load_rules
from pipeline.stress.consistency import twin_problems
from pipeline.stress.suite import StressSettings, build_stress_suite

CANCERS = [("HGSOC", "Female"), ("UEC", "Female"), ("SEM", "Male"), ("PRAD", "Male"), ("BRCA", "Female"),
           ("BRCA", "Male"), ("LUAD", "Female"), ("LUAD", "Male")]  # fmt: skip


def _base(per_cancer: int = 10) -> pl.DataFrame:
    rows = [
        {"patient_id": f"p{i}-{j}", "primary_cancer_condition": code, "sex": sex, "age_at_diagnosis": 40.0 + j,
         "survival_months": 12.0, "vital_status_event": j % 2 == 0}
        for i, (code, sex) in enumerate(CANCERS) for j in range(per_cancer)
    ]  # fmt: skip
    return pl.DataFrame(rows).with_columns(
        pl.col("primary_cancer_condition").cast(pl.Categorical), pl.col("sex").cast(pl.Enum(["Female", "Male"]))
    )


def test_sex_twins_of_sex_specific_cancers_are_dropped_with_their_pairs() -> None:
    rules, base = load_rules(), _base()
    suite = build_stress_suite(
        base, None, protected=["sex"], descendants={}, rules=rules, settings=StressSettings(kinds=("twins",)), base=base
    )
    twins = suite.frame
    assert not count_violations(twins, rules)[0].any()
    assert twin_problems(twins) == []
    kept = set(twins["primary_cancer_condition"].cast(pl.String).unique())
    assert kept == {"BRCA", "LUAD"}  # breast and lung twins kept in both directions; no man with an ovary
    assert twins.filter(pl.col("twin_role") == "twin").height == 40 * len(StressSettings().modes)
    dropped = suite.dropped_by_rule()
    per_mode = 10 * len(StressSettings().modes)
    assert dropped == {
        "ovarian_requires_female": per_mode,
        "prostate_requires_male": per_mode,
        "testicular_requires_male": per_mode,
        "uterine_requires_female": per_mode,
    }
