"""The synthesis stage: fit a synthesizer on a training split, then sample a synthetic cohort.

The ``synthesizer_model`` and ``synthetic_cohort`` assets and ``oncobench synthesize`` call
exactly these two functions, so the same cohort, synthesizer, profile and seed give the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.rules import Rule, RuleReport, enforce_rules
from pipeline.synthesis.base import ProgressCallback, SampleReport, Synthesizer
from pipeline.synthesis.catalog import engine, make_synthesizer

SAMPLE_SEED_OFFSET = 1  # the sampling seed stream differs from the training one
REDRAW_SEED_OFFSET = 1000  # rows that break a plausibility rule are redrawn from further streams


@dataclass(frozen=True)
class SyntheticCohort:
    """Sampled rows, how many values were repaired, and which rule-breaking rows were redrawn."""

    frame: pl.DataFrame
    sample: SampleReport
    rules: RuleReport
    seconds: float


def fit_synthesizer(
    training: pl.DataFrame,
    *,
    synthesizer: str,
    profile: str,
    seed: int,
    protected: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> Synthesizer:
    """A synthesizer fitted on ``training``; an engine that ``conditions_on_protected`` (the flow) also
    conditions on the ``protected`` attributes (so twins, upsampling and rare cells are drawn directly)."""
    params = dict(overrides or {})
    if engine(synthesizer).conditions_on_protected:
        params.setdefault("extra_context", [c for c in protected if c in training.columns])
    model = make_synthesizer(synthesizer, profile=profile, **params)
    return model.fit(training, seed=seed, progress=progress)


def sample_cohort(
    model: Synthesizer,
    rows: int,
    *,
    seed: int,
    rules: list[Rule],
    conditions: Mapping[str, Any] | None = None,
) -> SyntheticCohort:
    """``rows`` synthetic patients under ``conditions``; rows breaking a plausibility rule are redrawn."""
    started = time.perf_counter()
    conditions = model.validate_conditions(conditions or {})  # fail before sampling, with the allowed values
    frame, report = model.sample_with_report(rows, conditions=conditions, seed=seed + SAMPLE_SEED_OFFSET)
    frame, rule_report = enforce_rules(
        frame,
        rules,
        redraw=lambda n, round_number: model.sample(
            n, conditions=conditions, seed=seed + REDRAW_SEED_OFFSET + round_number
        ),
    )
    return SyntheticCohort(frame, report, rule_report, time.perf_counter() - started)
