"""Harmonization: typing, units, hashing, and a clear error for every kind of bad input.

Defective rows are quarantined by default (tests/pipeline/cohorts/test_bad_inputs.py); here
``strict`` ingestion shows the message a refused row gets."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.cohorts.harmonize import harmonize
from pipeline.cohorts.identifiers import hash_patient_ids
from pipeline.cohorts.report import IngestReport
from pipeline.cohorts.spec import CohortSpec
from pipeline.errors import CohortDataError, IdentifierColumnError
from pipeline.schema import CORE_COLUMNS
from tests.conftest import schema_named_frame

SALT = "test-salt"


def run(frame: pl.DataFrame, spec: CohortSpec | None = None, *, strict: bool = True) -> pl.DataFrame:
    return harmonize(frame, spec or CohortSpec(), cohort="demo", source="demo.csv", salt=SALT, strict=strict)


def test_schema_named_file_needs_no_spec_and_gets_every_core_column() -> None:
    out = run(schema_named_frame())
    assert out.columns[: len(CORE_COLUMNS)] == [c.name for c in CORE_COLUMNS]
    assert out.schema["sex"] == pl.Enum(["Female", "Male"])
    assert out.schema["vital_status_event"] == pl.Int8
    assert out["ldh"].dtype == pl.Float64  # extras stay, typed
    assert out["insurance"].null_count() == out.height  # absent attributes are null


def test_source_ids_become_salted_hashes_never_source_ids() -> None:
    out = run(schema_named_frame())
    assert not out["patient_id"].str.starts_with("SRC-").any()
    assert out["patient_id"].str.contains(r"^[0-9a-f]{20}$").all()
    expected = hash_patient_ids(pl.Series(["SRC-0000"]), cohort="demo", salt=SALT)[0]
    assert out["patient_id"][0] == expected
    other_salt = harmonize(schema_named_frame(), CohortSpec(), cohort="demo", source="x", salt="other")
    assert other_salt["patient_id"][0] != expected


def test_survival_unit_conversion_and_sql_expressions() -> None:
    frame = schema_named_frame().rename({"survival_months": "days"})
    spec = CohortSpec(columns={"survival_months": "days", "primary_cancer_condition": "'COAD'"}, survival_unit="days")
    out = run(frame, spec)
    assert out["survival_months"][1] == pytest.approx(1.5 * 12 / 365.25)
    assert out["primary_cancer_condition"].unique().to_list() == ["COAD"]


def test_value_maps_and_synonyms_normalize_labels() -> None:
    frame = schema_named_frame().with_columns(
        sex=pl.when(pl.col("sex") == "Male").then(pl.lit("1")).otherwise(pl.lit("0")),
        cancer_stage_group=pl.lit("Stage IIIB"),
    )
    out = run(frame, CohortSpec(values={"sex": {"0": "Female", "1": "Male"}}))
    assert set(out["sex"].to_list()) == {"Female", "Male"}
    assert out["cancer_stage_group"].unique().to_list() == ["III"]


def test_missing_required_column_names_file_and_column() -> None:
    with pytest.raises(CohortDataError, match=r"file demo.csv, column 'survival_months'.*missing required"):
        run(schema_named_frame().drop("survival_months"))


def test_wrong_type_names_row_and_value() -> None:
    frame = schema_named_frame().with_columns(pl.col("age_at_diagnosis").cast(pl.String))
    frame = frame.with_columns(
        age_at_diagnosis=pl.when(pl.int_range(pl.len()) == 6).then(pl.lit("sixty")).otherwise("age_at_diagnosis")
    )
    with pytest.raises(CohortDataError) as error:
        run(frame)
    message = str(error.value)
    assert "column 'age_at_diagnosis'" in message and "row 7" in message and "'sixty'" in message


def test_negative_survival_is_refused_with_row_and_value() -> None:
    frame = schema_named_frame().with_columns(
        survival_months=pl.when(pl.int_range(pl.len()) == 3).then(-2.0).otherwise("survival_months")
    )
    with pytest.raises(CohortDataError, match=r"column 'survival_months', row 4, value -2.0: .*>= 0"):
        run(frame)


def test_duplicate_patient_ids_are_refused() -> None:
    frame = schema_named_frame().with_columns(
        patient_id=pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("SRC-0001")).otherwise("patient_id")
    )
    with pytest.raises(CohortDataError, match=r"row 2, value 'SRC-0001': patient id listed more than once"):
        run(frame)
    assert run(frame, strict=False).height == frame.height - 2


def test_empty_source_is_refused() -> None:
    with pytest.raises(CohortDataError, match="no data rows"):
        run(schema_named_frame().head(0))


def test_unknown_category_value_lists_allowed_values() -> None:
    frame = schema_named_frame().with_columns(
        race=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("Martian")).otherwise("race")
    )
    with pytest.raises(CohortDataError, match=r"column 'race', row 3, value 'Martian'.*allowed: \['White'"):
        run(frame)


def test_event_outside_zero_one_is_refused() -> None:
    frame = schema_named_frame().with_columns(vital_status_event=pl.lit(2))
    with pytest.raises(CohortDataError, match=r"vital_status_event must be <= 1"):
        run(frame)


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("last_name", ["Smith"] * 40),
        ("MRN", [f"{i}" for i in range(40)]),
        ("Date of Birth", ["1950-01-01"] * 40),
        ("contact", [f"p{i}@example.org" for i in range(40)]),  # detected by value
        ("callback", [f"555-010-{i:04d}" for i in range(40)]),  # detected by value
    ],
)
def test_identifier_columns_are_refused_by_name(column: str, values: list[str]) -> None:
    frame = schema_named_frame().with_columns(pl.Series(column, values))
    with pytest.raises(IdentifierColumnError, match=rf"'{column}' \("):
        run(frame)


def test_identifier_columns_listed_under_drop_are_discarded() -> None:
    frame = schema_named_frame().with_columns(pl.Series("last_name", ["Smith"] * 40))
    out = run(frame, CohortSpec(drop=("last_name",)))
    assert "last_name" not in out.columns


def test_date_columns_are_identifiers() -> None:
    frame = schema_named_frame().with_columns(pl.date(2020, 1, 1).alias("visit"))
    with pytest.raises(IdentifierColumnError, match=r"'visit' \(date\)"):
        run(frame)


def test_filter_keeps_matching_rows_and_rows_are_numbered_in_the_source() -> None:
    frame = schema_named_frame()
    out = run(frame, CohortSpec(filter="cancer_stage_group = 'IV'"))
    assert out.height == 10
    bad = frame.with_columns(
        survival_months=pl.when(pl.int_range(pl.len()) == 7).then(-1.0).otherwise("survival_months")
    )
    with pytest.raises(CohortDataError, match="row 8"):  # row 8 is stage IV, numbered as in the source
        run(bad, CohortSpec(filter="cancer_stage_group = 'IV'"))
    report = IngestReport()
    harmonize(bad, CohortSpec(filter="cancer_stage_group = 'IV'"), cohort="d", source="d.csv", salt=SALT,
              report=report)  # fmt: skip
    assert report.n_filtered_out == frame.height - 10 and report.quarantined[0]["first_rows"] == [8]


def test_candidate_lists_take_the_first_non_null_value() -> None:
    frame = (
        schema_named_frame()
        .with_columns(
            os_a=pl.when(pl.int_range(pl.len()) < 5).then(None).otherwise(pl.col("survival_months")),
            os_b=pl.lit(99.0),
        )
        .drop("survival_months")
    )
    out = run(frame, CohortSpec(columns={"survival_months": ["os_a", "os_b"]}))
    assert out["survival_months"].head(5).to_list() == [99.0] * 5
    assert out["survival_months"][5] == 5.5
    assert "os_a" not in out.columns and "os_b" not in out.columns
