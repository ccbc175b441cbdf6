"""The journey stage: real events -> lines -> a model fitted on training -> journeys for synthetic
patients, validated against the holdout, with the treatment-sequence plot (what the
``synthetic_journeys`` asset runs)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.journeys.features import JourneySet
from pipeline.journeys.lines import derive_lines
from pipeline.journeys.model import JourneyModel, JourneySample
from pipeline.journeys.plots import sequence_png
from pipeline.journeys.schema import empty_lines
from pipeline.journeys.synthesis import fit, sample
from pipeline.journeys.validation import ROUNDS, validate_journeys

NO_TIMELINES = "the cohort has no treatment timelines: no journeys to learn or synthesize"


@dataclass
class JourneyRun:
    """Synthetic lines and what was learned and measured (``model`` None without real journeys)."""

    lines: pl.DataFrame
    note: str
    model: JourneyModel | None = None
    sample: JourneySample | None = None
    metrics: pl.DataFrame | None = None
    plot: bytes | None = None


def patients_lines(lines: pl.DataFrame, patients: pl.DataFrame) -> pl.DataFrame:
    """The lines of ``patients``."""
    return lines.filter(pl.col("patient_id").is_in(patients["patient_id"].implode()))


def synthesize_journeys(
    events: pl.DataFrame,
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    *,
    cohort: str,
    synthesizer: str = "journeys",
    seed: int = 0,
    min_lines: int = 0,
    rounds: int = ROUNDS,
) -> JourneyRun:
    """Lines of the real patients derived from ``events`` (as ingestion derives them), a model fitted on
    the training patients' lines, journeys for ``synthetic``, and their validation against the holdout."""
    if events.filter(pl.col("event_type") == "treatment").is_empty():
        return JourneyRun(empty_lines(), NO_TIMELINES)
    real = derive_lines(events, pl.concat([train, holdout], how="diagonal_relaxed"), cohort=cohort)
    if real.is_empty():
        return JourneyRun(empty_lines(), "the cohort's timelines hold no line of therapy: no journeys")
    train_lines, holdout_lines = patients_lines(real, train), patients_lines(real, holdout)
    model = fit(train, train_lines, seed=seed, cohort=cohort)
    drawn = sample(model, synthetic, seed=seed, min_lines=min_lines)
    metrics = validate_journeys(
        (train, train_lines), (holdout, holdout_lines), (synthetic, drawn.lines),
        cohort=cohort, synthesizer=synthesizer, seed=seed, rounds=rounds,
    )  # fmt: skip
    plot = sequence_png(JourneySet.of(holdout, holdout_lines), JourneySet.of(synthetic, drawn.lines))
    note = (f"{drawn.lines.height} lines for {drawn.n_patients} synthetic patients from a model of "
            f"{model.summary['lines']} lines of {model.summary['patients']} training patients")  # fmt: skip
    return JourneyRun(drawn.lines, note, model, drawn, metrics, plot)
