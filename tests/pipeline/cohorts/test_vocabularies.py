"""Vocabularies are data files: labels from cBioPortal, MSK, TCGA/GDC and OMB map onto the schema."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.cohorts.harmonize import harmonize
from pipeline.cohorts.spec import CohortSpec
from pipeline.vocabularies import VOCABULARY_DIR, load, missing_tokens
from tests.conftest import schema_named_frame


def run(column: str, labels: list[str | None], **columns) -> tuple[pl.DataFrame, dict]:
    from pipeline.cohorts.report import IngestReport

    n = len(labels)
    frame = schema_named_frame(n).with_columns(pl.Series(column, labels, dtype=pl.String), **columns)
    report = IngestReport()
    out = harmonize(frame, CohortSpec(), cohort="demo", source="demo.csv", salt="s", report=report)
    return out, report.to_dict()


@pytest.mark.parametrize(
    ("column", "label", "expected"),
    [
        ("race", "PATIENT REFUSED TO ANSWER", None),
        ("race", "NO VALUE ENTERED", None),
        ("race", "Asian-far east/indian subcont", "Asian"),
        ("race", "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER", "Native Hawaiian or Pacific Islander"),
        ("race", "NATIVE AMERICAN-AM IND/ALASKA", "American Indian or Alaska Native"),
        ("race", "black or african american", "Black"),
        ("race", "Two or More Races", "Other"),
        ("race", "not reported", None),
        ("ethnicity", "Non-Spanish; Non-Hispanic", "Not Hispanic or Latino"),
        ("ethnicity", "Not Hispanic Or Latino", "Not Hispanic or Latino"),
        ("ethnicity", "Puerto Rican", "Hispanic or Latino"),
        ("ethnicity", "Unknown whether Spanish or not", None),
        ("cancer_stage_group", "Stage X", None),
        ("cancer_stage_group", "STAGE IIIB", "III"),
        ("cancer_stage_group", "Stage IVA", "IV"),
        ("cancer_stage_group", "IC2", "I"),
        ("cancer_stage_group", "Stage 0is", "0"),
        ("cancer_stage_group", "4", "IV"),
        ("tumor_grade", "High Grade", "G3"),
        ("tumor_grade", "Mod-Poorly-Diff", "G3"),
        ("tumor_grade", "GX", None),
        ("msi_status", "Instable", "MSI-H"),
        ("msi_status", "Stable", "MSS"),
        ("msi_status", "Indeterminate", None),
        ("tumor_marker_er_status", "+", "Positive"),
        ("tumor_marker_her2_status", "Equivocal", None),
        ("primary_cancer_condition", "Lung Adenocarcinoma", "LUAD"),
        ("primary_cancer_condition", "TCGA-KIRC", "CCRCC"),
        ("primary_cancer_condition", "PCNSMT", "PCNSMT"),
        ("primary_cancer_condition", "ZZNEWCODE", "ZZNEWCODE"),  # well-formed, kept and counted
    ],
)
def test_vocabulary_labels(column: str, label: str, expected: str | None) -> None:
    out, _ = run(column, [label] * 40)
    assert out[column].cast(pl.String).unique().to_list() == [expected]


def test_unknown_well_formed_codes_are_counted_and_known_ones_get_main_type_and_tissue() -> None:
    out, report = run("primary_cancer_condition", ["ZZNEWCODE"] * 3 + ["GBC"] * 37)
    assert report["unknown_cancer_codes"] == {"ZZNEWCODE": 3}
    assert out.filter(pl.col("primary_cancer_condition") == "GBC")["oncotree_tissue"].unique().to_list() == [
        "Biliary Tract"
    ]


def test_msi_score_fills_a_missing_label_with_the_msisensor_cutoffs() -> None:
    labels = [None, None, None, "MSS"] * 10
    scores = [12.0, 5.0, 0.4, 30.0] * 10  # MSI-H, indeterminate, MSS, label wins
    out, _ = run("msi_status", labels, MSI_SCORE=pl.Series(scores))
    assert out["msi_status"].cast(pl.String).head(4).to_list() == ["MSI-H", None, "MSS", "MSS"]
    assert load("msi")["msisensor"] == {"msi_h_at_least": 10.0, "mss_below": 3.0}


def test_missing_labels_are_counted_per_column() -> None:
    _, report = run("race", ["PATIENT REFUSED TO ANSWER"] * 5 + ["White"] * 35)
    assert report["missing_tokens"]["race"] == {"PATIENT REFUSED TO ANSWER": 5}


def test_vocabularies_are_package_data() -> None:
    names = {p.stem for p in VOCABULARY_DIR.glob("*.yaml")}
    assert {"missing", "race", "ethnicity", "oncotree", "stage", "grade", "msi", "receptor", "sex"} <= names
    assert {"na", "[not available]", "patient refused to answer", "no value entered"} <= missing_tokens()
