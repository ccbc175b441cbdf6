"""Great Expectations suites: in sync with the schema; pass good data; catch bad data."""

from __future__ import annotations

import polars as pl

from pipeline.cohorts.harmonize import harmonize
from pipeline.cohorts.spec import CohortSpec
from pipeline.expectations import harmonized_cohort_suite, load_suite, validate_frame
from tests.conftest import schema_named_frame


def _cohort() -> pl.DataFrame:
    return harmonize(schema_named_frame(), CohortSpec(), cohort="demo", source="demo.csv", salt="s")


def test_committed_suite_matches_the_schema() -> None:
    assert load_suite("harmonized_cohort") == harmonized_cohort_suite(), "run `make expectations`"


def test_harmonized_cohort_passes_its_suite() -> None:
    outcome = validate_frame(_cohort(), load_suite("harmonized_cohort"))
    assert outcome.success, outcome.describe()


def test_suite_catches_bad_values_and_source_ids() -> None:
    bad = _cohort().with_columns(
        pl.col("age_at_diagnosis").clip(upper_bound=200) + 150,
        pl.lit("SRC-1").alias("patient_id"),
        pl.lit(-1.0).alias("survival_months"),
    )
    outcome = validate_frame(bad, load_suite("harmonized_cohort"))
    failed = {(f["expectation"], f["column"]) for f in outcome.failures}
    assert ("expect_column_values_to_be_between", "age_at_diagnosis") in failed
    assert ("expect_column_values_to_be_between", "survival_months") in failed
    assert ("expect_column_values_to_match_regex", "patient_id") in failed
    assert ("expect_column_values_to_be_unique", "patient_id") in failed
    assert "failed" in outcome.describe()


def test_suite_refuses_nan_and_infinite_survival_and_malformed_cancer_codes() -> None:
    n = _cohort().height
    survival = [float("nan"), float("inf")] + [1.0] * (n - 2)
    bad = _cohort().with_columns(
        pl.Series("survival_months", survival),
        pl.Series("primary_cancer_condition", ["Lung cancer"] + ["LUAD"] * (n - 1), dtype=pl.Categorical),
    )
    failed = {(f["expectation"], f["column"]) for f in validate_frame(bad, load_suite("harmonized_cohort")).failures}
    assert ("expect_column_values_to_not_be_null", "survival_months") in failed  # NaN
    assert ("expect_column_values_to_be_between", "survival_months") in failed  # inf
    assert ("expect_column_values_to_match_regex", "primary_cancer_condition") in failed


def test_any_well_formed_oncotree_code_passes() -> None:
    n = _cohort().height
    codes = pl.Series("primary_cancer_condition", ["PCNSMT", "BILIARY_TRACT"] * (n // 2), dtype=pl.Categorical)
    outcome = validate_frame(_cohort().with_columns(codes), load_suite("harmonized_cohort"))
    assert outcome.success, outcome.describe()
