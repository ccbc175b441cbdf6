"""validation_metrics: every fidelity, utility, survival, privacy and fairness metric, in DuckDB."""

import dagster as dg
import polars as pl

from assets.metadata import png, table
from assets.partitions import model_partitions
from assets.resources import CohortRegistryResource, ValidationConfigResource, WarehouseResource
from pipeline import audit
from pipeline.validation.columns import column_kinds
from pipeline.validation.gates import describe_failures
from pipeline.validation.plots import km_overlay_png, marginals_png, pair_gap_png, representation_png
from pipeline.validation.suite import headline_scores, metric_table, run_validation

VALIDATION = "validation"
METRICS_TABLE = "validation_metrics"
ARM_COLUMN = "cancer_related_medication"


@dg.asset(partitions_def=model_partitions, group_name=VALIDATION, kinds={"duckdb", "polars"})
def validation_metrics(
    context: dg.AssetExecutionContext,
    registry: CohortRegistryResource,
    validation_config: ValidationConfigResource,
    warehouse: WarehouseResource,
    training_cohort: pl.DataFrame,
    holdout_cohort: pl.DataFrame,
    synthetic_cohort: pl.DataFrame,
) -> pl.DataFrame:
    """The long metric table of one synthetic cohort against its real holdout, gates applied.

    Written to the DuckDB table `validation_metrics` (replacing this cohort x synthesizer) and
    kept as Parquet for releases. Gate failures are recorded here, not raised: the blocking
    check on `synthetic_cohort` is what stops a failing cohort.
    """
    keys = context.partition_key.keys_by_dimension
    cohort, synthesizer = keys["cohort"], keys["synthesizer"]
    config = validation_config.load()
    protected = list(registry.load().get(cohort).protected)
    metrics = run_validation(
        training_cohort,
        holdout_cohort,
        synthetic_cohort,
        protected=protected,
        settings=config.settings,
        progress=lambda step: context.log.info(f"{cohort}/{synthesizer}: {step}"),
    )
    frame = metric_table(metrics, config, cohort=cohort, synthesizer=synthesizer, run_id=context.run_id)
    store = warehouse.get()
    store.replace_rows(
        METRICS_TABLE, frame.drop("cohort", "synthesizer"), {"cohort": cohort, "synthesizer": synthesizer}
    )
    failures = describe_failures(frame)
    outcome = {"config_version": config.version, "failed_gates": failures, "run_id": context.run_id}
    audit.append(store, "validation", f"{cohort}|{synthesizer}", outcome)
    for line in failures:
        context.log.warning(f"{cohort}/{synthesizer}: gate failed: {line}")
    kinds = column_kinds(training_cohort, synthetic_cohort)
    group = ARM_COLUMN if ARM_COLUMN in kinds.categorical else None
    context.add_output_metadata(
        {
            "dagster/row_count": frame.height,
            "config_version": config.version,
            **{k: v for k, v in headline_scores(frame).items() if v is not None},
            "failed_gates": dg.MetadataValue.json(failures),
            "gates": table(
                frame.filter(pl.col("gate")).select(
                    "family", "metric", "target", "value", "threshold", "bound", "passed"
                )
            ),
            "marginals": png(marginals_png(holdout_cohort, synthetic_cohort, kinds), "marginals real vs synthetic"),
            "pair_trend_gaps": png(pair_gap_png(frame), "pair-trend gap heatmap"),
            "kaplan_meier": png(km_overlay_png(holdout_cohort, synthetic_cohort, group), "Kaplan-Meier overlay"),
            "representation": png(representation_png(frame), "subgroup representation"),
            "warehouse": dg.MetadataValue.path(str(store.path)),
        }
    )
    return frame
