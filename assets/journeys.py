"""Journey assets: synthetic_journeys, lines of therapy for each synthetic patient, per cohort x synthesizer."""

import dagster as dg
import polars as pl

from assets.energy import measured
from assets.metadata import markdown_preview, png, readable, table
from assets.partitions import model_partitions
from pipeline.journeys.stage import synthesize_journeys
from pipeline.journeys.validation import journey_failures, summary_table

JOURNEYS = "journeys"


class JourneyConfig(dg.Config):
    """Seed of the journey model's draws, and the fewest lines every synthetic patient gets (0: as learned)."""

    seed: int = 0
    min_lines: int = 0


@dg.asset(partitions_def=model_partitions, group_name=JOURNEYS, kinds={"polars"})
@measured
def synthetic_journeys(
    context: dg.AssetExecutionContext,
    config: JourneyConfig,
    cohort_journeys: pl.DataFrame,
    training_cohort: pl.DataFrame,
    holdout_cohort: pl.DataFrame,
    synthetic_cohort: pl.DataFrame,
) -> pl.DataFrame:
    """Lines of therapy for every synthetic patient, consistent with its baseline (nothing after its
    follow-up), from a journey model fitted on the training patients' real lines; validated against
    the holdout's lines (metrics beside their noise floors, verdicts) with a treatment-sequence plot.
    A cohort without treatment timelines gives an empty line table and says so."""
    keys = context.partition_key.keys_by_dimension
    cohort, name = keys["cohort"], keys["synthesizer"]
    run = synthesize_journeys(
        cohort_journeys, training_cohort, holdout_cohort, synthetic_cohort,
        cohort=cohort, synthesizer=name, seed=config.seed, min_lines=config.min_lines,
    )  # fmt: skip
    context.log.info(f"{cohort}/{name}: {run.note}")
    metadata: dict[str, object] = {"dagster/row_count": run.lines.height, "has_timelines": run.model is not None,
                                   "journeys": dg.MetadataValue.md(run.note)}  # fmt: skip
    if run.model is not None:
        failures = journey_failures(run.metrics)
        for failure in failures:
            context.log.warning(f"{cohort}/{name}: {failure}")
        metadata |= {
            "journey_metrics": table(summary_table(run.metrics), limit=50),
            "journey_failures": dg.MetadataValue.json(failures),
            "temporal_violations": int(run.metrics.filter(pl.col("metric") == "temporal_violations")["value"][0]),
            "journeys_redrawn": run.sample.n_redrawn,
            "journeys_compressed": run.sample.n_compressed,
            "sampling_seconds": run.sample.seconds,
            "model_summary": dg.MetadataValue.json(run.model.summary),
            "treatment_sequences": png(run.plot, "treatment sequences, real holdout vs synthetic"),
            "preview": markdown_preview(run.lines.drop("patient_id")),
        }
    context.add_output_metadata(readable(metadata))
    return run.lines
