"""A corpus of real-world defects: each either ingests with a warning or fails with a message
naming the file, column, row and value. Small study folders are written per test."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from pipeline.cohorts.load import ingest, resolve_source
from pipeline.cohorts.spec import CohortSpec
from pipeline.errors import CohortDataError, IdentifierColumnError

PATIENT_HEADER = (
    "#Patient\t#Age\t#Sex\t#OS\t#Status\n#d\td\td\td\td\n#STRING\tNUMBER\tSTRING\tNUMBER\tSTRING\n#1\t1\t1\t1\t1\n"
)
PATIENT_COLUMNS = "PATIENT_ID\tAGE\tSEX\tOS_MONTHS\tOS_STATUS\n"
SAMPLE_HEADER = "#a\tb\tc\td\n#a\tb\tc\td\n#STRING\tSTRING\tSTRING\tSTRING\n#1\t1\t1\t1\n"
SAMPLE_COLUMNS = "PATIENT_ID\tSAMPLE_ID\tSAMPLE_TYPE\tONCOTREE_CODE\n"
MAF_COLUMNS = "Hugo_Symbol\tConsequence\tVariant_Classification\tVariant_Type\tTumor_Sample_Barcode\n"


def patient_rows(n: int = 30) -> str:
    return "".join(
        f"P{i}\t{40 + i}\t{'Female' if i % 2 else 'Male'}\t{i + 1.5}\t{'DECEASED' if i % 3 == 0 else 'LIVING'}\n"
        for i in range(n)
    )


def study(tmp_path: Path, patients: str | None = None, samples: str | None = None, maf: str | None = None) -> Path:
    folder = tmp_path / "study"
    folder.mkdir(exist_ok=True)
    (folder / "data_clinical_patient.txt").write_text(
        PATIENT_HEADER + PATIENT_COLUMNS + patient_rows() if patients is None else patients
    )
    if samples is not None:
        (folder / "data_clinical_sample.txt").write_text(samples)
    if maf is not None:
        (folder / "data_mutations_extended.txt").write_text(maf)
    return folder


def run(source: Path, spec: CohortSpec | None = None, **kwargs) -> tuple[pl.DataFrame, dict]:
    entry = resolve_source(str(source), registry=None)
    if spec is not None:
        from dataclasses import replace

        entry = replace(entry, spec=spec)
    frame, report = ingest(entry, salt="t", **kwargs)
    return frame, report.to_dict()


def table(tmp_path: Path, frame: pl.DataFrame, name: str = "trial.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path


def base_table(n: int = 30) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": [f"S{i:03d}" for i in range(n)],
            "age_at_diagnosis": [50.0 + i % 40 for i in range(n)],
            "race": ["White", "Black"] * (n // 2),
            "survival_months": [float(i + 1) for i in range(n)],
            "vital_status_event": [i % 2 for i in range(n)],
        }
    )


# --- errors: file, column, row and value named -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        (PATIENT_HEADER + PATIENT_COLUMNS, "header but no data rows"),
        (PATIENT_HEADER + PATIENT_COLUMNS + "P1\t40\tFemale\t3\tLIVING\textra\n", r"row 1: ragged row: 6 fields"),
        (PATIENT_HEADER + PATIENT_COLUMNS + "P1\t40\tFemale\t3\n", r"row 1: ragged row: 4 fields"),
        (PATIENT_HEADER.replace("#Patient\t#Age\t#Sex\t#OS\t#Status", "#Patient") + PATIENT_COLUMNS + patient_rows(2),
         "metadata line 1 has 1 fields"),
        (PATIENT_HEADER.replace("#STRING\tNUMBER", "#STRING\tFLOAT") + PATIENT_COLUMNS + patient_rows(2),
         r"column 'AGE', value 'FLOAT'"),
        (PATIENT_HEADER + "PATIENT_ID\tAGE\tAGE\tOS_MONTHS\tOS_STATUS\n" + patient_rows(2), "duplicate header columns"),
        (PATIENT_HEADER + "PATIENT_ID\t\tSEX\tOS_MONTHS\tOS_STATUS\n" + patient_rows(2), "empty column name"),
    ],
)  # fmt: skip
def test_broken_clinical_files(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(CohortDataError, match=message) as error:
        run(study(tmp_path, patients=content))
    assert "data_clinical_patient.txt" in str(error.value)


def test_wrong_types_in_every_typed_column_are_listed_at_once_when_strict(tmp_path: Path) -> None:
    rows = patient_rows(5).replace("P1\t41", "P1\tforty-one").replace("3.5\tLIVING", "three\tLIVING")
    with pytest.raises(CohortDataError) as error:
        run(study(tmp_path, patients=PATIENT_HEADER + PATIENT_COLUMNS + rows), strict=True)
    message = str(error.value)
    assert "forty-one" in message and "three" in message and "data_clinical_patient.txt" in message


def test_a_few_wrong_types_are_quarantined_rows_not_a_refused_study(tmp_path: Path) -> None:
    rows = patient_rows(30).replace("P1\t41", "P1\tforty-one").replace("\t3.5\t", "\tthree\t")
    frame, report = run(study(tmp_path, patients=PATIENT_HEADER + PATIENT_COLUMNS + rows))
    assert frame.height == 28 and report["n_quarantined"] == 2
    reasons = {q["column"]: q for q in report["quarantined"]}
    assert reasons["AGE"]["first_rows"] == [2] and reasons["AGE"]["first_values"] == ["forty-one"]
    assert reasons["OS_MONTHS"]["first_rows"] == [3] and "not a number" in reasons["OS_MONTHS"]["rule"]
    assert not report["left_out"], "a quarantined row is not counted again as missing survival"


def test_a_column_of_wrong_types_still_refuses_the_study(tmp_path: Path) -> None:
    rows = "".join(f"P{i}\tabout {i}\tFemale\t3\tLIVING\n" for i in range(30))
    with pytest.raises(CohortDataError, match=r"'AGE' \(NUMBER\): .*first at row 1"):
        run(study(tmp_path, patients=PATIENT_HEADER + PATIENT_COLUMNS + rows))


def unknown_labels_table() -> pl.DataFrame:
    return base_table().with_columns(
        race=pl.when(pl.int_range(pl.len()).is_in([2, 5, 9])).then(pl.lit("Martian")).otherwise("race"),
        sex=pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("X?")).otherwise(pl.lit("F")),
        cancer_stage_group=pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("Stage V")).otherwise(pl.lit("IIIB")),
    )


def test_unknown_labels_of_every_column_are_listed_at_once_when_strict(tmp_path: Path) -> None:
    with pytest.raises(CohortDataError) as error:
        run(table(tmp_path, unknown_labels_table()), strict=True)
    message = str(error.value)
    assert "column 'sex', row 8, value 'X?'" in message and "3 unknown value(s) in 3 column(s)" in message
    assert "'Martian' x3 (first at row 3)" in message
    assert "column 'sex' -> sex: 'X?' x1 (first at row 8)" in message
    assert "column 'cancer_stage_group' -> cancer_stage_group: 'Stage V' x1 (first at row 5)" in message
    assert "values:\n  sex: {'X?': ...}\n  race: {'Martian': ...}" in message


def test_unknown_labels_are_kept_as_other_or_null_and_reported(tmp_path: Path) -> None:
    frame, report = run(table(tmp_path, unknown_labels_table()))
    assert frame.height == 30, "an unknown label never leaves a patient out"
    assert frame["race"].to_list()[2] == "Other", "a protected attribute keeps the patient as Other"
    assert frame["sex"].to_list()[7] is None and frame["cancer_stage_group"].to_list()[4] is None
    labels = {u["target"]: u for u in report["unknown_labels"]}
    assert labels["race"]["action"].startswith("kept as Other")
    assert labels["race"]["values"] == [{"value": "Martian", "rows": 3, "first_row": 3}]
    assert labels["sex"]["action"] == "read as null"


def test_a_truncated_ethnicity_label_maps_by_its_prefix(tmp_path: Path) -> None:
    frame = base_table().with_columns(
        ethnicity=pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("Other Spanish/Hispanic(incl European; excl Dom Rep"))
        .otherwise(pl.lit("Non-Spanish; Non-Hispanic"))
    )
    out, report = run(table(tmp_path, frame))
    assert out["ethnicity"].to_list()[3] == "Hispanic or Latino" and not report["unknown_labels"]


@pytest.mark.parametrize(
    ("maf", "message"),
    [
        ("", "the MAF is empty"),
        ("Hugo_Symbol\tTumor_Sample_Barcode\nKRAS\tS0\n", r"MAF lacks required columns \['Variant_Classification'\]"),
        (MAF_COLUMNS + "KRAS\tmissense_variant\tmissense\tSNP\tS0\nTP53\tstop_gained\tNonsense_Mutation\tSNP\tS1\n",
         r"column 'Variant_Classification', row 1, value 'missense': .*not MAF variant classes: 'missense' x1"),
        (MAF_COLUMNS + "KRAS\tmissense_variant\tSNP\tSNP\tS0\n", r"not MAF variant classes: 'SNP' x1"),
    ],
)  # fmt: skip
def test_bad_maf_is_an_error_naming_file_and_values(tmp_path: Path, maf: str, message: str) -> None:
    samples = SAMPLE_HEADER + SAMPLE_COLUMNS + "".join(f"P{i}\tS{i}\tPrimary\tCOAD\n" for i in range(30))
    with pytest.raises(CohortDataError, match=message) as error:
        run(study(tmp_path, samples=samples, maf=maf))
    assert "data_mutations_extended.txt" in str(error.value)


def test_not_a_study_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CohortDataError, match="not a cBioPortal study folder"):
        run(tmp_path / "empty")


ROW_DEFECTS = [
    (pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("S001")).otherwise("patient_id").alias("patient_id"),
     "patient_id", "listed more than once with different values", [2, 6]),
    (pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(" ")).otherwise("patient_id").alias("patient_id"),
     "patient_id", "patient id is empty", [4]),
    (pl.when(pl.int_range(pl.len()) == 3).then(-2.0).otherwise("survival_months").alias("survival_months"),
     "survival_months", "survival_months must be >= 0", [4]),
    (pl.when(pl.int_range(pl.len()) == 3).then(4000.0).otherwise("survival_months").alias("survival_months"),
     "survival_months", "survival_months must be <= 1200", [4]),
    (pl.when(pl.int_range(pl.len()) == 1).then(0.5).otherwise("vital_status_event").alias("vital_status_event"),
     "vital_status_event", "expected a whole number", [2]),
    (pl.when(pl.int_range(pl.len()) == 1).then(2).otherwise("vital_status_event").alias("vital_status_event"),
     "vital_status_event", "must be <= 1", [2]),
    (pl.when(pl.int_range(pl.len()) == 6).then(math.nan).otherwise("survival_months").alias("survival_months"),
     "survival_months", "finite number", [7]),
    (pl.when(pl.int_range(pl.len()) == 6).then(math.inf).otherwise("survival_months").alias("survival_months"),
     "survival_months", "finite number", [7]),
]  # fmt: skip


@pytest.mark.parametrize(("change", "column", "rule", "rows"), ROW_DEFECTS)
def test_a_defective_row_is_quarantined_with_file_column_row_and_value(
    tmp_path: Path, change: pl.Expr, column: str, rule: str, rows: list[int]
) -> None:
    frame, report = run(table(tmp_path, base_table().with_columns(change), "trial.parquet"))
    assert frame.height == 30 - len(rows) and report["n_quarantined"] == len(rows)
    [reason] = report["quarantined"]
    assert reason["column"] == column and rule in reason["rule"] and reason["first_rows"] == rows


@pytest.mark.parametrize(("change", "column", "rule", "rows"), ROW_DEFECTS)
def test_strict_ingestion_refuses_a_defective_row(
    tmp_path: Path, change: pl.Expr, column: str, rule: str, rows: list[int]
) -> None:
    with pytest.raises(CohortDataError, match=rf"column '{column}', row {rows[0]}.*{rule}") as error:
        run(table(tmp_path, base_table().with_columns(change), "trial.parquet"), strict=True)
    assert "trial.parquet" in str(error.value)


def test_a_patient_repeated_row_for_row_is_kept_once(tmp_path: Path) -> None:
    frame = base_table()
    frame, report = run(table(tmp_path, pl.concat([frame, frame.slice(4, 1)]), "trial.parquet"))
    assert frame.height == 30 and report["quarantined"][0]["first_rows"] == [31]


def test_many_defective_rows_refuse_the_study_naming_every_defect(tmp_path: Path) -> None:
    change = pl.when(pl.int_range(pl.len()) < 10).then(-1.0).otherwise("survival_months").alias("survival_months")
    with pytest.raises(CohortDataError, match=r"10 of 30 rows \(33%\) have defects") as error:
        run(table(tmp_path, base_table().with_columns(change), "trial.parquet"))
    assert "row 1 (-1.0)" in str(error.value) and "trial.parquet" in str(error.value)


def test_no_survival_at_all_is_refused(tmp_path: Path) -> None:
    frame = base_table().with_columns(pl.lit(None, dtype=pl.Float64).alias("survival_months"))
    with pytest.raises(CohortDataError, match="no patient has both overall survival"):
        run(table(tmp_path, frame, "trial.parquet"))


def test_event_labels_that_mean_nothing_refuse_the_study(tmp_path: Path) -> None:
    frame = base_table().with_columns(vital_status_event=pl.lit("MAYBE"))
    with pytest.raises(CohortDataError, match=r"vital_status_event: not a number.*30 of 30 rows"):
        run(table(tmp_path, frame))


def test_a_cohort_in_which_every_patient_kept_died_is_refused_with_why(tmp_path: Path) -> None:
    frame = base_table().with_columns(
        survival_months=pl.when(pl.col("vital_status_event") == 0).then(None).otherwise("survival_months")
    )
    with pytest.raises(CohortDataError, match=r"every one of the 15 patients kept died.*15 patients were left out"):
        run(table(tmp_path, frame, "trial.parquet"))


def test_a_biased_left_out_set_is_a_warning(tmp_path: Path) -> None:
    n = 200
    frame = base_table(n).with_columns(
        race=pl.when(pl.int_range(pl.len()) // 2 % 2 == 0).then(pl.lit("White")).otherwise(pl.lit("Black")),
        survival_months=pl.when((pl.col("vital_status_event") == 0) & (pl.int_range(pl.len()) < 60))
        .then(None)
        .otherwise("survival_months"),
    )
    out, report = run(table(tmp_path, frame, "trial.parquet"))
    assert out.height == n - 30
    assert [b["attribute"] for b in report["left_out_bias"]] == ["vital_status_event"]
    assert any("differ from the 170 kept in event rate" in w for w in report["warnings"])


def test_a_random_left_out_set_is_not_a_warning(tmp_path: Path) -> None:
    frame = base_table(200).with_columns(
        survival_months=pl.when(pl.int_range(pl.len()) % 7 == 3).then(None).otherwise("survival_months")
    )
    _, report = run(table(tmp_path, frame, "trial.parquet"))
    assert report["left_out"] and not report["left_out_bias"]


def test_missing_survival_is_an_error_when_the_spec_is_strict(tmp_path: Path) -> None:
    frame = base_table().with_columns(
        survival_months=pl.when(pl.int_range(pl.len()) == 4).then(None).otherwise("survival_months")
    )
    with pytest.raises(CohortDataError, match=r"row 5: survival_months is required"):
        run(table(tmp_path, frame, "t.parquet"), CohortSpec(missing_survival="error"))


def test_identifiers_and_dates_in_a_table_are_refused_all_at_once(tmp_path: Path) -> None:
    n = 30
    frame = base_table(n).with_columns(
        pl.Series("gdc_case", [f"3a1b{i:04x}-7e8a-4264-a551-b16621843e28" for i in range(n)]),
        pl.Series("form_completion_date", [f"7/{i % 28 + 1}/2010" for i in range(n)]),
        pl.Series("visit", [f"2011-03-{i % 28 + 1:02d}" for i in range(n)]),
        pl.Series("note", [f"seen by dr {chr(65 + i % 26)}{i} at clinic" for i in range(n)]),
        pl.Series("lab_ref", [f"LAB-{1000 + i}" for i in range(n)]),
    )
    with pytest.raises(IdentifierColumnError) as error:
        run(table(tmp_path, frame))
    message = str(error.value)
    for found in ("'gdc_case' (uuid)", "'form_completion_date' (date)", "'visit' (date)",
                  "'note' (text unique per patient)", "'lab_ref' (accession-like id)"):  # fmt: skip
        assert found in message
    out, report = run(table(tmp_path, frame), drop_identifiers=True)
    assert set(report["dropped_identifiers"]) == {"gdc_case", "form_completion_date", "visit", "note", "lab_ref"}
    assert out.height == n and "gdc_case" not in out.columns


def test_spec_drop_discards_identifiers_explicitly(tmp_path: Path) -> None:
    frame = base_table().with_columns(pl.lit("2020-01-01").alias("date_of_death"))
    out, report = run(table(tmp_path, frame), CohortSpec(drop=("date_of_death",)))
    assert "date_of_death" not in out.columns and report["dropped_identifiers"] == {
        "date_of_death": "dropped by the spec"
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"filter": "race IN (SELECT nope FROM read_csv('/etc/passwd', skip_rows => 3))"}, "subquery not allowed"),
        ({"filter": "getenv('HOME') = 'x'"}, "function 'getenv' not allowed"),
        ({"columns": {"race": "read_text('/etc/passwd')"}}, "function 'read_text' not allowed"),
        ({"columns": {"race": "(SELECT 1)"}}, "not allowed"),
        ({"filter": "1=1; COPY x TO '/tmp/y'"}, "not one expression"),
    ],
)
def test_unsafe_spec_sql_is_refused_before_anything_is_read(raw: dict, message: str) -> None:
    with pytest.raises(CohortDataError, match=message) as error:
        CohortSpec.from_dict(raw, origin="spec.yaml")
    assert "root:" not in str(error.value)  # no line of /etc/passwd


def test_spec_sample_file_must_exist(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text("samples: nope.txt\n")
    path = table(tmp_path, base_table())
    entry = resolve_source(str(path), registry=None, spec_path=spec_path)
    with pytest.raises(CohortDataError, match=r"nope.txt: no such file"):
        ingest(entry, salt="t")


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "trial.xlsx"
    path.write_text("x")
    with pytest.raises(CohortDataError, match="not a registered cohort"):
        resolve_source(str(path), registry=None)


# --- tolerated defects: ingested, with a warning --------------------------------------------------


def test_trailing_tabs_blank_lines_crlf_and_bom_are_warnings(tmp_path: Path) -> None:
    header = PATIENT_HEADER.replace("\n", "\t\n")
    rows = patient_rows().replace("\n", "\t\n")
    content = "\ufeff" + (header + PATIENT_COLUMNS.replace("\n", "\t\n") + rows + "\n").replace("\n", "\r\n")
    frame, report = run(study(tmp_path, patients=content))
    assert frame.height == 30
    warnings = " ".join(report["warnings"])
    assert "trailing tabs" in warnings and "blank line(s) ignored (the last line)" in warnings


def test_a_fifth_hash_line_is_a_warning(tmp_path: Path) -> None:
    header = PATIENT_HEADER.replace(
        "#1\t1\t1\t1\t1\n", "#PATIENT\tPATIENT\tPATIENT\tPATIENT\tPATIENT\n#1\t1\t1\t1\t1\n"
    )
    frame, report = run(study(tmp_path, patients=header + PATIENT_COLUMNS + patient_rows()))
    assert frame.height == 30 and "5 '#' metadata lines" in report["warnings"][0]


def test_missing_tokens_in_number_columns_become_null_and_are_counted(tmp_path: Path) -> None:
    rows = patient_rows().replace("P1\t41", "P1\tUNKNOWN").replace("P2\t42", "P2\t[Not Available]")
    frame, report = run(study(tmp_path, patients=PATIENT_HEADER + PATIENT_COLUMNS + rows))
    assert frame["age_at_diagnosis"].null_count() == 2
    assert report["missing_tokens"]["AGE"] == {"UNKNOWN": 1, "[Not Available]": 1}


def test_na_in_csv_numbers_keeps_the_column_numeric(tmp_path: Path) -> None:
    frame = base_table().with_columns(pl.col("age_at_diagnosis").cast(pl.String), ldh=pl.lit("7"))
    frame = frame.with_columns(
        age_at_diagnosis=pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("NA")).otherwise("age_at_diagnosis")
    )
    out, report = run(table(tmp_path, frame))
    assert out["age_at_diagnosis"].null_count() == 3 and out.schema["ldh"] == pl.Int64
    assert report["missing_tokens"]["age_at_diagnosis"] == {"NA": 3}


def test_patients_without_survival_are_left_out_and_counted(tmp_path: Path) -> None:
    rows = (
        patient_rows()
        .replace("P4\t44\tMale\t5.5\tLIVING", "P4\t44\tMale\tNA\tLIVING")
        .replace("P5\t45\tFemale\t6.5\tLIVING", "P5\t45\tFemale\t6.5\tNA")
    )
    frame, report = run(study(tmp_path, patients=PATIENT_HEADER + PATIENT_COLUMNS + rows))
    assert frame.height == 28
    assert report["left_out"] == {"no overall survival time": 1, "no vital status (overall survival event)": 1}


def test_failed_tests_give_null_flags_and_a_good_test_represents_the_patient(tmp_path: Path) -> None:
    samples = "#a\tb\tc\td\n#a\tb\tc\td\n#STRING\tSTRING\tSTRING\tNUMBER\n#1\t1\t1\t1\n"
    samples += "PATIENT_ID\tSAMPLE_ID\tCTDNA_STATUS\tTMB_NONSYNONYMOUS\n"
    samples += "P0\tS0a\tNegative\t0\nP0\tS0b\tPositive\t3\nP1\tS1\tNegative\t0\n"
    samples += "".join(f"P{i}\tS{i}\tPositive\t1\n" for i in range(2, 30))
    maf = MAF_COLUMNS + "KRAS\tmissense_variant\tMissense_Mutation\tSNP\tS0b\nTP53\tx\tSilent\tSNP\tS2\n"
    frame, report = run(study(tmp_path, samples=samples, maf=maf))
    rows = frame.sort("age_at_diagnosis")
    assert rows["genomic_variant_kras"][:3].to_list() == [True, None, False]  # P0 by its good test; P1 failed
    assert rows["tumor_mutational_burden"][:2].to_list() == [3.0, None]
    assert "2 sample(s) with a failed test" in " ".join(report["warnings"])


def test_a_normal_sample_never_represents_a_patient(tmp_path: Path) -> None:
    samples = SAMPLE_HEADER + SAMPLE_COLUMNS + "P0\tA_N\tNormal\tNormal\nP0\tB_T\tMetastasis\tGBC\n"
    samples += "".join(f"P{i}\tT{i}\tPrimary\tCHOL\n" for i in range(1, 30))
    frame, _ = run(study(tmp_path, samples=samples))
    assert frame.sort("age_at_diagnosis")["primary_cancer_condition"][0] == "GBC"


def test_a_shifted_maf_is_read_from_consequence_with_a_warning(tmp_path: Path) -> None:
    samples = SAMPLE_HEADER + SAMPLE_COLUMNS + "".join(f"P{i}\tS{i}\tPrimary\tCOAD\n" for i in range(30))
    maf = MAF_COLUMNS + "KRAS\tMissense_Mutation\tSNP\tG\tS0\nBRAF\tSilent\tSNP\tT\tS1\n"
    frame, report = run(study(tmp_path, samples=samples, maf=maf))
    assert frame.sort("age_at_diagnosis")["genomic_variant_kras"][:2].to_list() == [True, False]
    assert "shifted one column" in " ".join(report["warnings"])


def test_timeline_files_are_read_and_reported(tmp_path: Path) -> None:
    folder = study(tmp_path)
    (folder / "data_timeline_treatment.txt").write_text("PATIENT_ID\tSTART_DATE\tEVENT_TYPE\nP1\t0\tTREATMENT\n")
    _, report = run(folder)
    assert report["timelines"] == {"data_timeline_treatment.txt": 1}


def test_study_identifier_columns_are_dropped_with_a_report(tmp_path: Path) -> None:
    header = PATIENT_HEADER.replace("\n", "\tx\n").replace(
        "#STRING\tNUMBER\tSTRING\tNUMBER\tSTRING\tx", "#STRING\tNUMBER\tSTRING\tNUMBER\tSTRING\tSTRING"
    )
    rows = "".join(
        line + f"\t9b2c{i:04x}-7e8a-4264-a551-b16621843e28\n" for i, line in enumerate(patient_rows().splitlines())
    )
    frame, report = run(study(tmp_path, patients=header + PATIENT_COLUMNS.replace("\n", "\tCASE_UUID\n") + rows))
    assert report["dropped_identifiers"] == {"CASE_UUID": "identifier"} and "case_uuid" not in frame.columns


def test_outcome_proxies_are_dropped_unless_the_spec_keeps_them(tmp_path: Path) -> None:
    frame = base_table().with_columns(
        status_text=pl.when(pl.col("vital_status_event") == 1).then(pl.lit("gone")).otherwise(pl.lit("here")),
        months_to_x=pl.when(pl.col("vital_status_event") == 1).then(pl.col("survival_months") * 30.4375),
        ldh=(pl.int_range(pl.len()) * 17 % 23).cast(pl.Float64),  # unrelated to survival
    )
    out, report = run(table(tmp_path, frame))
    assert report["outcome_proxies"] == {"status_text": "equals the event", "months_to_x": "filled only for deaths"}
    assert {"status_text", "months_to_x"}.isdisjoint(out.columns) and "ldh" in out.columns
    kept, report = run(table(tmp_path, frame), CohortSpec(keep_outcome_proxies=("status_text",)))
    assert "status_text" in kept.columns and "months_to_x" not in kept.columns


def test_table_route_reads_the_sample_file_and_maf_named_by_the_spec(tmp_path: Path) -> None:
    samples = SAMPLE_HEADER + SAMPLE_COLUMNS + "".join(f"S{i:03d}\tX{i}\tPrimary\tLUAD\n" for i in range(30))
    (tmp_path / "samples.txt").write_text(samples)
    (tmp_path / "muts.maf").write_text(MAF_COLUMNS + "KRAS\tmissense_variant\tMissense_Mutation\tSNP\tX1\n")
    (tmp_path / "spec.yaml").write_text("samples: samples.txt\nmutations: muts.maf\n")
    path = table(tmp_path, base_table().drop("race"))
    frame, report = ingest(resolve_source(str(path), registry=None, spec_path=tmp_path / "spec.yaml"), salt="t")
    assert frame["genomic_variant_kras"].sum() == 1 and frame["genomic_variant_kras"].null_count() == 0
    assert frame["primary_cancer_condition"].cast(pl.String).unique().to_list() == ["LUAD"]
    assert len(report.files) == 3


def test_a_study_view_download_with_display_names_ingests(tmp_path: Path) -> None:
    rows = "".join(f"s\tP{i}\t{50 + i}\t{i + 1}.0\t{'1:DECEASED' if i % 2 else '0:LIVING'}\n" for i in range(30))
    path = tmp_path / "study_view.tsv"
    path.write_text("Study ID\tPatient ID\tDiagnosis Age\tOverall Survival (Months)\tOverall Survival Status\n" + rows)
    frame, report = run(path)
    assert frame.height == 30 and frame["vital_status_event"].sum() == 15 and frame["age_at_diagnosis"].min() == 50
    assert "display-name header" in " ".join(report["warnings"])


def test_a_spec_computes_survival_from_dates_that_never_reach_the_table(tmp_path: Path) -> None:
    n = 30
    frame = pl.DataFrame(
        {
            "pid": [f"P{i}" for i in range(n)],
            "diagnosed": [f"0{i % 9 + 1}/15/2010" for i in range(n)],
            "died": [f"0{i % 9 + 1}/15/2012" if i % 2 else None for i in range(n)],
            "last_seen": [f"0{i % 9 + 1}/15/2013" for i in range(n)],
            "status": ["dead" if i % 2 else "alive" for i in range(n)],
        }
    )
    path = table(tmp_path, frame)
    (tmp_path / "spec.yaml").write_text(
        "id_column: pid\n"
        "columns:\n"
        '  survival_months: "COALESCE(died, last_seen) - diagnosed"\n'
        "  vital_status_event: status\n"
        "values:\n"
        "  vital_status_event: {dead: 1, alive: 0}\n"
        "survival_unit: days\n"
        "drop: [diagnosed, died, last_seen]\n"
    )
    out, _ = ingest(resolve_source(str(path), registry=None, spec_path=tmp_path / "spec.yaml"), salt="t")
    assert out.height == n and not {"diagnosed", "died", "last_seen"} & set(out.columns)
    months = dict(zip(out["vital_status_event"].to_list(), out["survival_months"].to_list(), strict=False))
    assert abs(months[1] - 24.0) < 0.1 and abs(months[0] - 36.0) < 0.1


def test_one_patient_under_two_ids_is_a_warning(tmp_path: Path) -> None:
    frame = base_table().with_columns(
        (pl.col("survival_months") + 0.37).alias("survival_months"),
        *(pl.lit(f"v{i}").alias(f"lab_{i}") for i in range(6)),
    )
    twin = frame.slice(3, 1).with_columns(patient_id=pl.lit("S999"))
    out, report = run(table(tmp_path, pl.concat([frame, twin]), "trial.parquet"))
    assert out.height == 31 and any("possibly one patient listed under two ids" in w for w in report["warnings"])
    _, clean = run(table(tmp_path, frame, "clean.parquet"))
    assert not any("two ids" in w for w in clean["warnings"])


def test_a_registry_export_ingests_without_a_spec(tmp_path: Path) -> None:
    n = 40
    frame = pl.DataFrame(
        {
            "Patient ID": [f"R{i}" for i in range(n)],
            "Age at Diagnosis": [50 + i % 30 for i in range(n)],
            "Sex": ["Female" if i % 2 else "Male" for i in range(n)],
            "Survival months": [float(3 + (i * 7) % 50) for i in range(n)],
            "Vital status recode (study cutoff used)": ["Dead" if i % 3 == 0 else "Alive" for i in range(n)],
        }
    )
    out, report = run(table(tmp_path, frame, "seer_export.csv"))
    assert out.height == n and out["vital_status_event"].sum() == 14
    assert out["age_at_diagnosis"].null_count() == 0 and out["sex"].null_count() == 0
    assert not {"survival_months_1", "patient_id_1"} & set(out.columns) and not report["quarantined"]


def test_a_table_that_is_its_own_sample_file_counts_its_missing_values_once(tmp_path: Path) -> None:
    rows = "".join(f"S{i:03d}\tS{i:03d}\t{'NA' if i < 4 else 'LUAD'}\t{i + 1.5}\t{i % 2}\n" for i in range(30))
    (tmp_path / "combined.txt").write_text("PATIENT_ID\tSAMPLE_ID\tONCOTREE_CODE\tOS_MONTHS\tOS_STATUS\n" + rows)
    (tmp_path / "spec.yaml").write_text("id_column: PATIENT_ID\nsamples: combined.txt\n")
    _, report = ingest(resolve_source(str(tmp_path / "combined.txt"), registry=None, spec_path=tmp_path / "spec.yaml"),
                       salt="t")  # fmt: skip
    assert report.to_dict()["missing_tokens"]["ONCOTREE_CODE"] == {"NA": 4}
