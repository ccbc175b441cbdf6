"""Blocking data-validation checks: a failure stops everything downstream."""

import dagster as dg
import polars as pl

from assets.ingestion import harmonized_cohort
from assets.partitions import cohort_partitions
from pipeline.cohorts.identifiers import find_identifier_columns
from pipeline.expectations import load_suite, validate_frame


@dg.asset_check(asset=harmonized_cohort, blocking=True, partitions_def=cohort_partitions)
def harmonized_cohort_meets_expectations(
    harmonized_cohort: pl.DataFrame,
) -> dg.AssetCheckResult:
    """The Great Expectations suite `harmonized_cohort` passes and no column looks like an identifier."""
    outcome = validate_frame(harmonized_cohort, load_suite("harmonized_cohort"))
    identifiers = find_identifier_columns(harmonized_cohort, ignore={"patient_id", "cohort"})
    failures = [{**f, "examples": str(f["examples"])} for f in outcome.failures]
    failures += [
        {
            "expectation": "no_identifier_columns",
            "column": c,
            "unexpected_count": 1,
            "examples": kind,
        }
        for c, kind in identifiers.items()
    ]
    description = outcome.describe() + (f"\nidentifier-like columns: {identifiers}" if identifiers else "")
    return dg.AssetCheckResult(
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "expectations_evaluated": outcome.evaluated,
            "expectations_failed": len(failures),
            "failures": dg.MetadataValue.json(failures),
        },
    )
