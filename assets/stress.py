"""stress_suite: counterfactual twins, rare edge cases and upsampling for one cohort, rule-checked."""

from collections.abc import Mapping

import dagster as dg
import polars as pl

from assets.energy import measured
from assets.metadata import markdown_preview, table
from assets.partitions import cohort_partitions
from assets.resources import BY_PARTITION, CohortRegistryResource, RulesResource, WarehouseResource
from assets.synthesis import synthesizer_model
from pipeline import audit
from pipeline.stress.suite import StressSettings, build_stress_suite
from pipeline.synthesis.base import Synthesizer
from pipeline.synthesis.catalog import DEFAULT_SYNTHESIZER

STRESS = "stress"


class StressConfig(dg.Config):
    """Which fitted synthesizer draws the stress cases, and how many."""

    synthesizer: str = DEFAULT_SYNTHESIZER
    base_rows: int = 300
    rare_k: int = 10
    rows_per_cell: int = 20
    seed: int = 0


@dg.asset(
    partitions_def=cohort_partitions,
    group_name=STRESS,
    kinds={"polars", "duckdb"},
    ins={
        "models": dg.AssetIn(
            key=synthesizer_model.key,
            partition_mapping=dg.MultiToSingleDimensionPartitionMapping("cohort"),
            metadata=BY_PARTITION,
            dagster_type=dg.Any,  # a lazy mapping: only the partitions used are read
        )
    },
)
@measured
def stress_suite(
    context: dg.AssetExecutionContext,
    config: StressConfig,
    registry: CohortRegistryResource,
    rules: RulesResource,
    warehouse: WarehouseResource,
    training_cohort: pl.DataFrame,
    models: Mapping[str, Synthesizer],
) -> pl.DataFrame:
    """Twins for every protected attribute, rare-cell and extreme cases, subgroup upsampling.

    Drawn from the cohort's fitted `synthesizer_model` of the configured synthesizer (flow by
    default). Rows are tagged by `stress_type` (twin / edge_case / upsample); every row passed the
    plausibility rules of config/plausibility_rules.yaml. Counts per type and target and rule
    violations per dataset go to the DuckDB tables `stress_counts` and `rule_violations`.
    """
    cohort = context.partition_key
    key = f"{cohort}|{config.synthesizer}"
    if key not in models:
        raise dg.Failure(f"no fitted synthesizer_model {key}: materialize it first (found {sorted(models)})")
    entry = registry.load().get(cohort)
    suite = build_stress_suite(
        training_cohort,
        models[key],
        protected=list(entry.protected),
        descendants={a: entry.descendants(a) for a in entry.protected},
        rules=rules.load(),
        settings=StressSettings(
            base_rows=config.base_rows, rare_k=config.rare_k, rows_per_cell=config.rows_per_cell, seed=config.seed
        ),
        progress=lambda step: context.log.info(f"{cohort}: {step}"),
    )
    for reason in suite.skipped:
        context.log.warning(f"{cohort}: skipped {reason}")
    counts, rules = suite.counts(), suite.rules
    store = warehouse.get()
    store.replace_rows("stress_counts", counts, {"cohort": cohort})
    store.replace_rows("rule_violations", rules, {"cohort": cohort})
    rows_by_type = dict(suite.frame.group_by("stress_type").len().sort("stress_type").iter_rows())
    audit.append(
        store, "stress", cohort, {"synthesizer": config.synthesizer, "rows": rows_by_type, "run_id": context.run_id}
    )
    suspect = rules.filter(pl.col("suspect"))
    for row in suspect.iter_rows(named=True):
        context.log.warning(
            f"{cohort}: rule {row['rule_id']} is broken by {row['rate']:.1%} of real patients:"
            " a wrong rule or a data problem"
        )
    context.add_output_metadata(
        {
            "dagster/row_count": suite.frame.height,
            "synthesizer": config.synthesizer,
            "rows_by_type": dg.MetadataValue.json(rows_by_type),
            "counts": table(counts),
            "rule_violations": table(rules.filter(pl.col("applies"))),
            "suspect_rules": dg.MetadataValue.json(suspect["rule_id"].to_list()),
            "skipped": dg.MetadataValue.json(suite.skipped),
            "preview": markdown_preview(suite.frame.drop("patient_id")),
        }
    )
    return suite.frame
