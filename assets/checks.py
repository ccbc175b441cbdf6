"""Blocking data-validation checks: a failure stops everything downstream."""

import dagster as dg
import polars as pl

from assets.ingestion import harmonized_cohort
from assets.metadata import table
from assets.partitions import cohort_partitions, model_partitions
from assets.resources import CohortRegistryResource, ValidationConfigResource
from assets.stress import stress_suite
from assets.synthesis import synthetic_cohort
from pipeline.cohorts.identifiers import find_identifier_columns
from pipeline.expectations import ValidationOutcome, load_suite, validate_frame
from pipeline.stress.consistency import twin_problems
from pipeline.validation.gates import describe_failures
from pipeline.validation.suite import gated_metrics, metric_table


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


@dg.asset_check(
    asset=synthetic_cohort,
    blocking=True,
    partitions_def=model_partitions,
    additional_ins={"training_cohort": dg.AssetIn(), "holdout_cohort": dg.AssetIn()},
)
def synthetic_cohort_passes_gates(
    context: dg.AssetCheckExecutionContext,
    registry: CohortRegistryResource,
    validation_config: ValidationConfigResource,
    synthetic_cohort: pl.DataFrame,
    training_cohort: pl.DataFrame,
    holdout_cohort: pl.DataFrame,
) -> dg.AssetCheckResult:
    """Release gates of config/validation.yaml: copies, DCR share, MIA AUC, representation, C2ST."""
    keys = context.partition_key.keys_by_dimension
    cohort, synthesizer = keys["cohort"], keys["synthesizer"]
    config = validation_config.load()
    metrics = gated_metrics(
        training_cohort,
        holdout_cohort,
        synthetic_cohort,
        protected=list(registry.load().get(cohort).protected),
        settings=config.settings,
    )
    frame = metric_table(metrics, config, cohort=cohort, synthesizer=synthesizer, run_id=context.run.run_id)
    gated = frame.filter(pl.col("gate"))
    failures = describe_failures(frame)
    description = (
        f"all {gated.height} gated values within bounds (config {config.version})"
        if not failures
        else f"{len(failures)} gate(s) failed (config {config.version}):\n" + "\n".join(f"- {f}" for f in failures)
    )
    return dg.AssetCheckResult(
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "config_version": config.version,
            "failed_gates": dg.MetadataValue.json(failures),
            "gates": table(gated.select("family", "metric", "target", "value", "threshold", "bound", "passed")),
        },
    )


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
