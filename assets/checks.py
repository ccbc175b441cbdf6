"""Blocking data-validation checks: a failure stops everything downstream."""

import dagster as dg
import polars as pl

from assets.ingestion import harmonized_cohort
from assets.partitions import cohort_partitions, model_partitions
from assets.resources import CohortRegistryResource
from assets.stress import stress_suite
from assets.synthesis import synthetic_cohort
from pipeline.cohorts.identifiers import find_identifier_columns
from pipeline.expectations import ValidationOutcome, load_suite, validate_frame
from pipeline.stress.consistency import twin_problems


def _expectations_result(outcome: ValidationOutcome, extra: list[str] = ()) -> dg.AssetCheckResult:
    """A blocking result from a GX outcome plus further problems found outside GX."""
    failures = [{**f, "examples": str(f["examples"])} for f in outcome.failures]
    return dg.AssetCheckResult(
        passed=outcome.success and not extra,
        severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.describe() + "".join(f"\n- {p}" for p in extra),
        metadata={
            "expectations_evaluated": outcome.evaluated,
            "expectations_failed": len(failures),
            "failures": dg.MetadataValue.json(failures),
            "other_problems": dg.MetadataValue.json(list(extra)),
        },
    )


@dg.asset_check(asset=harmonized_cohort, blocking=True, partitions_def=cohort_partitions)
def harmonized_cohort_meets_expectations(
    harmonized_cohort: pl.DataFrame,
) -> dg.AssetCheckResult:
    """The Great Expectations suite `harmonized_cohort` passes and no column looks like an identifier."""
    outcome = validate_frame(harmonized_cohort, load_suite("harmonized_cohort"))
    identifiers = find_identifier_columns(harmonized_cohort, ignore={"patient_id", "cohort"})
    return _expectations_result(outcome, [f"identifier-like columns: {identifiers}"] if identifiers else [])


@dg.asset_check(asset=synthetic_cohort, blocking=True, partitions_def=model_partitions)
def synthetic_cohort_meets_expectations(synthetic_cohort: pl.DataFrame) -> dg.AssetCheckResult:
    """The Great Expectations suite `synthetic_cohort` (schema and plausibility) passes."""
    return _expectations_result(validate_frame(synthetic_cohort, load_suite("synthetic_cohort")))


@dg.asset_check(asset=stress_suite, blocking=True, partitions_def=cohort_partitions)
def stress_suite_meets_expectations(
    context: dg.AssetCheckExecutionContext, registry: CohortRegistryResource, stress_suite: pl.DataFrame
) -> dg.AssetCheckResult:
    """The GX suite `stress_suite` passes, every pair is complete, and twins differ only where allowed."""
    entry = registry.load().get(context.partition_key)
    outcome = validate_frame(stress_suite, load_suite("stress_suite"))
    return _expectations_result(
        outcome, twin_problems(stress_suite, {a: entry.descendants(a) for a in entry.protected})
    )
