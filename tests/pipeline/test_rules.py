"""Each plausibility rule rejects a row built to break it and accepts its mirror."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.cancer_types import load_cancer_types
from pipeline.rules import RuleError, count_violations, enforce_rules, load_rules, rule_table

RULES = {rule.id: rule for rule in load_rules()}
# rule id -> (a row that breaks it, its mirror that does not)
CASES = {
    "ovarian_requires_female": ({"primary_cancer_condition": "HGSOC", "sex": "Male"}, {"sex": "Female"}),
    "uterine_requires_female": ({"primary_cancer_condition": "UEC", "sex": "Male"}, {"sex": "Female"}),
    "cervical_requires_female": ({"primary_cancer_condition": "CESC", "sex": "Male"}, {"sex": "Female"}),
    "vulvovaginal_requires_female": ({"primary_cancer_condition": "VSC", "sex": "Male"}, {"sex": "Female"}),
    "testicular_requires_male": ({"primary_cancer_condition": "SEM", "sex": "Female"}, {"sex": "Male"}),
    "prostate_requires_male": ({"primary_cancer_condition": "PRAD", "sex": "Female"}, {"sex": "Male"}),
    "penile_requires_male": ({"primary_cancer_condition": "PSCC", "sex": "Female"}, {"sex": "Male"}),
    "cns_tumour_has_no_stage_group": (
        {"primary_cancer_condition": "GBM", "cancer_stage_group": "II"},
        {"cancer_stage_group": None},
    ),
    "leukaemia_has_no_stage_group": (
        {"primary_cancer_condition": "AML", "cancer_stage_group": "I"},
        {"cancer_stage_group": None},
    ),
    "age_within_human_lifespan": ({"age_at_diagnosis": -1.0}, {"age_at_diagnosis": 0.0}),
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


def _broken(rows: list[dict[str, object]]) -> list[bool]:
    """Per row: does it break any rule? Columns typed as harmonized cohorts type them."""
    frame = pl.DataFrame(rows).with_columns(
        pl.col("primary_cancer_condition").cast(pl.Categorical),
        pl.col("sex").cast(pl.Enum(["Female", "Male"])),
        pl.col("cancer_stage_group").cast(pl.Enum(["0", "I", "II", "III", "IV"])),
    )
    return count_violations(frame, list(RULES.values()))[0].to_list()


@pytest.mark.parametrize(
    ("code", "sex", "stage", "impossible"),
    [
        ("HGSOC", "Male", None, True),  # what ingestion makes of TCGA's OV
        ("OV", "Male", None, True),  # TCGA's own code, as a study may publish it
        ("UCEC", "Male", None, True),
        ("SEM", "Female", None, True),
        ("NSGCT", "Female", None, True),
        ("TGCT", "Female", None, True),  # TCGA testicular germ cell tumours (config/oncotree_tissues.yaml)
        ("GBM", "Male", "IV", True),
        ("LGG", "Female", "II", True),
        ("AML", "Female", "I", True),
        ("LAML", "Male", "III", True),
        ("BRCA", "Male", "II", False),  # male breast cancer is real
        ("IDC", "Male", "I", False),
        ("CLL", "Male", "II", False),  # Rai stages
        ("MLYM", "Female", "I", False),  # CNS lymphoma: Lugano stages
        ("NOT_A_CODE", "Male", "IV", False),  # unknown codes never break a rule
        ("HGSOC", None, "III", False),  # unknown sex never breaks one either
    ],
)
def test_sex_and_stage_rules_follow_the_oncotree_table(code: str, sex: str | None, stage: str | None,
                                                       impossible: bool) -> None:  # fmt: skip
    row = {"primary_cancer_condition": code, "sex": sex, "cancer_stage_group": stage}
    assert _broken([row, {**row, "primary_cancer_condition": "LUAD"}]) == [impossible, False]


def test_cancer_rules_cover_every_code_of_their_organ() -> None:
    table = load_cancer_types()
    for rule_id, tissue in [("ovarian_requires_female", "Ovary/Fallopian Tube"), ("testicular_requires_male", "Testis"),
                            ("cns_tumour_has_no_stage_group", "CNS/Brain")]:  # fmt: skip
        organ = set(table.select(tissues=[tissue]))
        assert organ - set(RULES[rule_id].codes) <= {"MLYM", "ONBL", "MCHSCNS"}  # the CNS rule's stated exceptions
    assert {"HGSOC", "OV", "SOC", "OVARY"} <= set(RULES["ovarian_requires_female"].codes)


def test_a_cancer_selector_names_what_the_table_lacks(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    rule = "{id: r1, description: d, source: s, columns: [primary_cancer_condition, sex], require: \"sex = 'Male'\""
    path.write_text(f"rules:\n  - {rule}, cancer: {{tissues: [Ovary]}}}}\n")
    with pytest.raises(RuleError, match=r"rule 'r1': .*no tissue \['Ovary'\]"):
        load_rules(path)
    path.write_text(f"rules:\n  - {rule.replace('primary_cancer_condition, ', '')}, cancer: {{tissues: [Testis]}}}}\n")
    with pytest.raises(RuleError, match="list primary_cancer_condition in its columns"):
        load_rules(path)


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


def test_suspect_counts_the_patients_a_rule_judges_and_ignores_a_single_odd_row() -> None:
    rule = RULES["testicular_requires_male"]
    lung = [{"primary_cancer_condition": "LUAD", "sex": s} for s in ("Female", "Male") * 300]
    # a study that codes another tumour as a testis code: rare in the cohort, common among the code's patients
    wrong = pl.DataFrame(lung + [{"primary_cancer_condition": "SEM", "sex": "Female"}] * 5)
    row = rule_table([rule], wrong, "real").row(0, named=True)
    assert (row["rows_checked"], row["violations"], row["suspect"]) == (5, 5, True)
    # one miscoded patient among many testicular ones is a data error, not a wrong rule
    testis = [{"primary_cancer_condition": "SEM", "sex": s} for s in ["Male"] * 60 + ["Female"]]
    assert rule_table([rule], pl.DataFrame(lung + testis), "real")["suspect"].to_list() == [False]


def test_a_rule_with_bad_sql_names_the_file_and_rule(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {id: r1, description: d, source: s, columns: [a], when: 'a >>> 1', require: 'a = 1'}\n"
    )
    with pytest.raises(RuleError, match=r"rules.yaml: rule 'r1': invalid SQL"):
        load_rules(path)
