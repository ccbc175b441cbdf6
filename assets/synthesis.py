"""Synthesis assets: synthesizer_model -> synthetic_cohort, partitioned by cohort x synthesizer."""

import time

import dagster as dg
import polars as pl
import yaml

from assets.metadata import markdown_preview, png
from assets.partitions import model_partitions
from assets.resources import CohortRegistryResource, WarehouseResource
from pipeline import audit
from pipeline.plots import loss_curve_png
from pipeline.stress.rules import enforce_rules, load_rules
from pipeline.synthesis.base import Synthesizer
from pipeline.synthesis.catalog import make_synthesizer

SYNTHESIS = "synthesis"


class SynthesisConfig(dg.Config):
    """How to train and sample: profile (fast for CI, full for quality), seed, rows, overrides."""

    profile: str = "full"
    seed: int = 0
    rows: int = 0  # 0: as many rows as the real cohort
    params: dict[str, str] = {}  # noqa: RUF012 (pydantic copies defaults); values parsed as YAML

    def overrides(self) -> dict[str, object]:
        return {key: yaml.safe_load(value) for key, value in self.params.items()}


def _keys(context: dg.AssetExecutionContext) -> tuple[str, str]:
    keys = context.partition_key.keys_by_dimension
    return keys["cohort"], keys["synthesizer"]


@dg.asset(partitions_def=model_partitions, group_name=SYNTHESIS, io_manager_key="model_io_manager", kinds={"torch"})
def synthesizer_model(
    context: dg.AssetExecutionContext,
    config: SynthesisConfig,
    registry: CohortRegistryResource,
    warehouse: WarehouseResource,
    training_cohort: pl.DataFrame,
) -> Synthesizer:
    """A synthesizer fitted on the training split (never the holdout); its parameters, seed and losses."""
    cohort, name = _keys(context)
    overrides = config.overrides()
    if name == "flow":  # the registry's protected attributes become conditions (twins, upsampling)
        overrides.setdefault("extra_context", list(registry.load().get(cohort).protected))
    synthesizer = make_synthesizer(name, profile=config.profile, **overrides)

    def log_progress(epoch: int, total: int, loss: float) -> None:
        if epoch == total or epoch % max(1, total // 10) == 0:
            context.log.info(f"{cohort}/{name}: epoch {epoch}/{total}, loss {loss:.4f}")

    synthesizer.fit(training_cohort, seed=config.seed, progress=log_progress)
    report = synthesizer.report
    trained = {"params": report.params, "seed": report.seed, "rows": report.n_rows, "run_id": context.run_id}
    audit.append(warehouse.get(), "training", f"{cohort}|{name}", trained)
    context.add_output_metadata(
        {
            "synthesizer": name,
            "profile": config.profile,
            "seed": config.seed,
            "parameters": dg.MetadataValue.json(report.params),
            "training_rows": report.n_rows,
            "modelled_columns": report.n_columns,
            "fit_seconds": round(report.fit_seconds, 2),
            "loss_curve": png(loss_curve_png(report.history, f"{cohort} / {name}"), "loss curve"),
        }
    )
    return synthesizer


@dg.asset(partitions_def=model_partitions, group_name=SYNTHESIS, kinds={"polars"})
def synthetic_cohort(
    context: dg.AssetExecutionContext,
    config: SynthesisConfig,
    synthesizer_model: Synthesizer,
) -> pl.DataFrame:
    """Synthetic patients in the harmonized schema, every row within the schema's hard limits."""
    cohort, name = _keys(context)
    rows = config.rows or synthesizer_model.report.n_rows  # default: as many rows as the real cohort
    started = time.perf_counter()
    frame = synthesizer_model.sample(rows, seed=config.seed + 1)
    report = synthesizer_model.last_sample
    frame, rules = enforce_rules(
        frame,
        load_rules(),
        redraw=lambda n, round_number: synthesizer_model.sample(n, seed=config.seed + 1000 + round_number),
    )
    seconds = time.perf_counter() - started
    context.log.info(f"{cohort}/{name}: sampled {rows} rows in {seconds:.1f}s, {report.n_repaired_rows} repaired")
    context.add_output_metadata(
        {
            "dagster/row_count": frame.height,
            "sampling_seconds": round(seconds, 3),
            "rows_repaired": report.n_repaired_rows,
            "repaired_by_column": dg.MetadataValue.json(report.repaired_by_column),
            "rule_violations_redrawn": dg.MetadataValue.json({k: v for k, v in rules.violations.items() if v}),
            "preview": markdown_preview(frame.drop("patient_id")),
        }
    )
    return frame
