"""Each plausibility rule rejects a row built to break it and accepts its mirror."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.rules import RuleError, enforce_rules, load_rules, rule_table

RULES = {rule.id: rule for rule in load_rules()}
# rule id -> (a row that breaks it, its mirror that does not)
CASES = {
    "prostate_requires_male": ({"primary_cancer_condition": "PRAD", "sex": "Female"}, {"sex": "Male"}),
    "ovarian_requires_female": ({"primary_cancer_condition": "OV", "sex": "Male"}, {"sex": "Female"}),
    "cervical_requires_female": ({"primary_cancer_condition": "CESC", "sex": "Male"}, {"sex": "Female"}),
    "adult_age_bounds": ({"age_at_diagnosis": 12.0}, {"age_at_diagnosis": 45.0}),
    "stage_iv_iff_distant_metastasis": (
        {"cancer_stage_group": "IV", "distant_metastasis": False},
        {"distant_metastasis": True},
    ),
    "triple_negative_receptors": (
        {
            "breast_subtype": "TNBC",
            "tumor_marker_er_status": "Positive",
            "tumor_marker_pr_status": "Negative",
            "tumor_marker_her2_status": "Negative",
        },
        {"tumor_marker_er_status": "Negative"},
    ),
    "anti_egfr_requires_ras_wild_type": (
        {
            "primary_cancer_condition": "COADREAD",
            "cancer_related_medication": "FOLFIRI + Cetuximab",
            "genomic_variant_kras": True,
            "genomic_variant_nras": False,
        },
        {"genomic_variant_kras": False},
    ),
    "osimertinib_requires_egfr": (
        {"cancer_related_medication": "Osimertinib", "genomic_variant_egfr": False},
        {"genomic_variant_egfr": True},
    ),
    "survival_non_negative": ({"survival_months": -1.0}, {"survival_months": 0.0}),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_rejects_the_broken_row_and_accepts_its_mirror(rule_id: str) -> None:
    broken, fix = CASES[rule_id]
    frame = pl.DataFrame([broken, {**broken, **fix}])
    assert RULES[rule_id].violations(frame).to_list() == [True, False]


def test_unknown_values_never_break_a_rule() -> None:
    frame = pl.DataFrame({"primary_cancer_condition": ["PRAD", None], "sex": [None, "Female"]})
    assert not RULES["prostate_requires_male"].violations(frame).any()


def test_enforce_drops_or_redraws_and_counts_per_rule() -> None:
    rules = [RULES["survival_non_negative"]]
    frame = pl.DataFrame({"survival_months": [1.0, -2.0, -3.0, 4.0]})
    kept, report = enforce_rules(frame, rules)
    assert kept["survival_months"].to_list() == [1.0, 4.0] and report.violations == {"survival_non_negative": 2}
    redrawn, report = enforce_rules(frame, rules, redraw=lambda n, _: pl.DataFrame({"survival_months": [5.0] * n}))
    assert redrawn.height == 4 and report.redrawn == 2 and report.unfilled == 0


def test_a_rule_real_data_breaks_often_is_flagged_suspect() -> None:
    real = pl.DataFrame({"survival_months": [-1.0] * 5 + [3.0] * 95})
    table = rule_table([RULES["survival_non_negative"]], real, "real")
    assert table["suspect"].to_list() == [True]


def test_a_rule_with_bad_sql_names_the_file_and_rule(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {id: r1, description: d, source: s, columns: [a], when: 'a >>> 1', require: 'a = 1'}\n"
    )
    with pytest.raises(RuleError, match=r"rules.yaml: rule 'r1': invalid SQL"):
        load_rules(path)
