"""validation_metrics: every fidelity, utility, survival, privacy and fairness metric, in DuckDB."""

import dagster as dg
import polars as pl

from assets.energy import measured
from assets.metadata import png, readable, table
from assets.partitions import model_partitions
from assets.resources import CohortRegistryResource, RulesResource, ValidationConfigResource, WarehouseResource
from pipeline import audit
from pipeline.validation.columns import column_kinds
from pipeline.validation.plots import km_overlay_png, marginals_png, pair_gap_png, representation_png
from pipeline.validation.suite import headline_scores, validate_cohort

VALIDATION = "validation"
METRICS_TABLE = "validation_metrics"
ARM_COLUMN = "cancer_related_medication"


GATES_CHECK = "passes_release_gates"
GATE_COLUMNS = (
    "metric", "target", "verdict", "value", "threshold", "bound", "blocking", "ci_lower", "ci_upper", "family",
)  # fmt: skip


@dg.asset(
    partitions_def=model_partitions,
    group_name=VALIDATION,
    kinds={"duckdb", "polars"},
    check_specs=[
        dg.AssetCheckSpec(
            GATES_CHECK,
            asset="validation_metrics",
            partitions_def=model_partitions,  # the verdict belongs to one cohort x synthesizer
            description="Every gate of config/validation.yaml holds on this metric table (the release reads the same "
            "verdict: a cohort that fails is withheld). A failed gate is an outcome, not a failed run.",
        )
    ],
)
@measured
def validation_metrics(
    context: dg.AssetExecutionContext,
    registry: CohortRegistryResource,
    validation_config: ValidationConfigResource,
    rules: RulesResource,
    warehouse: WarehouseResource,
    training_cohort: pl.DataFrame,
    holdout_cohort: pl.DataFrame,
    synthetic_cohort: pl.DataFrame,
):  # a MaterializeResult carrying the frame (an annotation would make Dagster type-check it as Nothing)
    """The long metric table of one synthetic cohort against its real holdout, gates applied.

    Written to the DuckDB table `validation_metrics` (replacing this cohort x synthesizer) and
    kept as Parquet for releases. The check `passes_release_gates` reads its verdict from this table.
    """
    keys = context.partition_key.keys_by_dimension
    cohort, synthesizer = keys["cohort"], keys["synthesizer"]
    result = validate_cohort(
        training_cohort,
        holdout_cohort,
        synthetic_cohort,
        protected=list(registry.load().get(cohort).protected),
        config=validation_config.load(),
        cohort=cohort,
        synthesizer=synthesizer,
        run_id=context.run_id,
        rules=rules.load(),
        progress=lambda step: context.log.info(f"{cohort}/{synthesizer}: {step}"),
    )
    frame, version = result.table, result.config.version
    store = warehouse.get()
    store.replace_rows(
        METRICS_TABLE,
        frame.drop("cohort", "synthesizer"),
        {"cohort": cohort, "synthesizer": synthesizer},
        add_columns=True,
    )
    outcome = {"config_version": version, "failed_gates": result.failures, "run_id": context.run_id}
    audit.append(store, "validation", f"{cohort}|{synthesizer}", outcome)
    for line in result.failures:
        context.log.warning(f"{cohort}/{synthesizer}: gate failed: {line}")
    kinds = column_kinds(training_cohort, synthetic_cohort)
    group = ARM_COLUMN if ARM_COLUMN in kinds.categorical else None
    # blocking gates first, then inconclusive ones, the columns that decide first: readable without scrolling
    gates = table(result.gates.sort("blocking", "passed", descending=[True, False]), first=GATE_COLUMNS)
    scores = {k: v for k, v in headline_scores(frame).items() if v is not None and k != "gates_passed"}
    return dg.MaterializeResult(
        value=frame,
        metadata=readable(
            {
                "gates_passed": result.passed,
                "failed_gates": dg.MetadataValue.json(result.failures),
                "inconclusive_gates": dg.MetadataValue.json(result.inconclusive),
                "verdicts": dg.MetadataValue.json(result.verdicts),
                # plots near the top, where the partition's metadata is looked at
                "kaplan_meier": png(km_overlay_png(holdout_cohort, synthetic_cohort, group), "Kaplan-Meier overlay"),
                "marginals": png(marginals_png(holdout_cohort, synthetic_cohort, kinds), "marginals real vs synthetic"),
                "pair_trend_gaps": png(pair_gap_png(frame), "pair-trend gap heatmap"),
                "representation": png(representation_png(frame), "subgroup representation"),
                "gates": gates,
                **scores,
                "dagster/row_count": frame.height,
                "config_version": version,
                "warehouse": dg.MetadataValue.path(str(store.path)),
            }
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=GATES_CHECK,
                passed=result.passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=result.verdict(),
                metadata={
                    "config_version": version,
                    "failed_gates": dg.MetadataValue.json(result.failures),
                    "inconclusive_gates": dg.MetadataValue.json(result.inconclusive),
                    "verdicts": dg.MetadataValue.json(result.verdicts),
                    "gates": gates,
                },
            )
        ],
    )
