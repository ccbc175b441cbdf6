"""Synthesis assets: synthesizer_model -> synthetic_cohort, partitioned by cohort x synthesizer."""

import dagster as dg
import polars as pl
import yaml

from assets.energy import measured
from assets.executors import TRAINING
from assets.metadata import markdown_preview, png, readable
from assets.partitions import model_partitions
from assets.resources import CohortRegistryResource, ReleaseSettingsResource, RulesResource, WarehouseResource
from pipeline import audit
from pipeline.plots import loss_curve_png
from pipeline.release.power import plan_power
from pipeline.synthesis.base import Synthesizer
from pipeline.synthesis.stage import fit_synthesizer, sample_cohort

SYNTHESIS = "synthesis"


class SynthesisConfig(dg.Config):
    """How to train and sample: profile (fast for CI, full for quality), seed, rows, overrides."""

    profile: str = "full"
    seed: int = 0
    rows: int = 0  # 0: enough for every release task's test events (pipeline.release.power), >= the training rows
    params: dict[str, str] = {}  # noqa: RUF012 (pydantic copies defaults); values parsed as YAML

    def overrides(self) -> dict[str, object]:
        return {key: yaml.safe_load(value) for key, value in self.params.items()}


def _keys(context: dg.AssetExecutionContext) -> tuple[str, str]:
    keys = context.partition_key.keys_by_dimension
    return keys["cohort"], keys["synthesizer"]


@dg.asset(
    partitions_def=model_partitions,
    group_name=SYNTHESIS,
    io_manager_key="model_io_manager",
    kinds={"torch"},
    op_tags=TRAINING,  # a step executor's training concurrency limit (assets.executors)
)
@measured
def synthesizer_model(
    context: dg.AssetExecutionContext,
    config: SynthesisConfig,
    registry: CohortRegistryResource,
    warehouse: WarehouseResource,
    training_cohort: pl.DataFrame,
) -> Synthesizer:
    """A synthesizer fitted on the training split (never the holdout); its parameters, seed and losses."""
    cohort, name = _keys(context)

    def log_progress(epoch: int, total: int, loss: float) -> None:
        if epoch == total or epoch % max(1, total // 10) == 0:
            context.log.info(f"{cohort}/{name}: epoch {epoch}/{total}, loss {loss:.4f}")

    synthesizer = fit_synthesizer(
        training_cohort,
        synthesizer=name,
        profile=config.profile,
        seed=config.seed,
        protected=registry.load().get(cohort).protected,
        overrides=config.overrides(),
        progress=log_progress,
    )
    report = synthesizer.report
    trained = {"params": report.params, "seed": report.seed, "rows": report.n_rows, "run_id": context.run_id}
    audit.append(warehouse.get(), "training", f"{cohort}|{name}", trained)
    context.add_output_metadata(
        readable(
            {
                "loss_curve": png(loss_curve_png(report.history, f"{cohort} / {name}"), "loss curve"),
                "synthesizer": name,
                "profile": config.profile,
                "seed": config.seed,
                "parameters": dg.MetadataValue.json(report.params),
                "training_rows": report.n_rows,
                "modelled_columns": report.n_columns,
                "fit_seconds": report.fit_seconds,
            }
        )
    )
    return synthesizer


@dg.asset(partitions_def=model_partitions, group_name=SYNTHESIS, kinds={"polars"})
@measured
def synthetic_cohort(
    context: dg.AssetExecutionContext,
    config: SynthesisConfig,
    rules: RulesResource,
    release_settings: ReleaseSettingsResource,
    synthesizer_model: Synthesizer,
    training_cohort: pl.DataFrame,
) -> pl.DataFrame:
    """Synthetic patients in the harmonized schema, every row within the schema's hard limits and
    the plausibility rules (rule-breaking rows are redrawn); by default as many as the release needs
    for every task to have its events in the test split (config/release.yaml, `tasks`)."""
    cohort, name = _keys(context)
    release = release_settings.load()
    plan = plan_power(training_cohort, release.test_fraction, release.tasks)
    rows = config.rows or plan.rows
    result = sample_cohort(synthesizer_model, rows, seed=config.seed, rules=rules.load())
    repaired = result.sample.n_repaired_rows
    why = "as configured" if config.rows else f"for {', '.join(t.task for t in plan.tasks) or 'no task'}"
    context.log.info(f"{cohort}/{name}: sampled {rows} rows ({why}) in {result.seconds:.1f}s, {repaired} repaired")
    context.add_output_metadata(
        readable(
            {
                "dagster/row_count": result.frame.height,
                "task_power": dg.MetadataValue.json(plan.as_dict()),  # rows each task needs; tasks not declared
                "sampling_seconds": result.seconds,
                "rows_repaired": repaired,
                "repaired_by_column": dg.MetadataValue.json(result.sample.repaired_by_column),
                "rule_violations_redrawn": dg.MetadataValue.json(
                    {k: v for k, v in result.rules.violations.items() if v}
                ),
                "preview": markdown_preview(result.frame.drop("patient_id")),
            }
        )
    )
    return result.frame
