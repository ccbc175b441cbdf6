"""Every defect of the corpus (tests/defect_corpus.py) ingests: quarantined or tolerated, and named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cohorts.load import ingest, resolve_source
from tests.defect_corpus import make_defect

STUDY = "luad_tcga_pan_can_atlas_2018"  # TCGA PanCancer Atlas: no '#' lines, race and ethnicity
HASH_STUDY = "crc_msk_2017"  # MSK: four '#' lines


def ingested(shared_study, tmp_path: Path, defect: str, study: str = STUDY) -> tuple[int, dict, int]:
    source = shared_study(study)
    clean, _ = ingest(resolve_source(str(source), registry=None), salt="t")
    frame, report = ingest(resolve_source(str(make_defect(source, tmp_path, defect)), registry=None), salt="t")
    return frame.height, report.to_dict(), clean.height


def test_a_truncated_label_maps_by_its_prefix(shared_study, tmp_path: Path) -> None:
    n, report, clean = ingested(shared_study, tmp_path, "truncated_label")
    assert n == clean and not report["unknown_labels"] and not report["quarantined"]


def test_a_negative_survival_row_is_quarantined_and_named(shared_study, tmp_path: Path) -> None:
    n, report, clean = ingested(shared_study, tmp_path, "negative_survival")
    assert n == clean - 1
    [reason] = report["quarantined"]
    assert reason["column"] == "OS_MONTHS" and reason["first_rows"] == [4] and reason["first_values"] == [-0.23]
    assert report["source"].endswith("negative_survival")
    assert any("data_clinical_patient.txt" in f for f in report["files"])


def test_unseen_ethnicity_and_race_labels_keep_the_patients(shared_study, tmp_path: Path) -> None:
    n, report, clean = ingested(shared_study, tmp_path, "unseen_ethnicity")
    assert n == clean, "an unknown label of a protected attribute never leaves a patient out"
    [race] = report["unknown_labels"]
    assert race["target"] == "race" and race["action"].startswith("kept as Other")
    assert race["values"][0]["value"] == "Melanesian"


@pytest.mark.parametrize(("study", "defect"), [(STUDY, "display_headers"), (HASH_STUDY, "display_headers"),
                                               (HASH_STUDY, "no_hash_lines")])  # fmt: skip
def test_headers_as_they_come_give_the_same_cohort(shared_study, tmp_path: Path, study: str, defect: str) -> None:
    n, report, clean = ingested(shared_study, tmp_path, defect, study)
    assert n == clean and not report["quarantined"]


def test_display_headers_map_age_stage_and_survival(shared_study, tmp_path: Path) -> None:
    source = make_defect(shared_study(STUDY), tmp_path, "display_headers")
    frame, _ = ingest(resolve_source(str(source), registry=None), salt="t")
    for column in ("age_at_diagnosis", "cancer_stage_group", "survival_months", "race", "ethnicity"):
        assert frame[column].null_count() < frame.height / 2, column


def test_a_date_column_is_dropped_and_reported(shared_study, tmp_path: Path) -> None:
    n, report, clean = ingested(shared_study, tmp_path, "date_column")
    assert n == clean and "DATE_OF_DIAGNOSIS" in report["dropped_identifiers"]


def test_a_patient_listed_twice_is_quarantined(shared_study, tmp_path: Path) -> None:
    n, report, clean = ingested(shared_study, tmp_path, "patient_twice")
    assert n == clean - 1
    [reason] = report["quarantined"]
    assert reason["column"] == "PATIENT_ID" and reason["n_rows"] == 2 and "more than once" in reason["rule"]
