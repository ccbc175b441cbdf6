"""The journey model's data: settings, the fitted tables, a sample (see :mod:`pipeline.journeys.synthesis`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipeline.journeys.tables import ALL, BackoffTable, QuantileTable

POOL_PREFIX = "other "
SYNTHETIC_SOURCE = "synthetic"


@dataclass(frozen=True)
class JourneySettings:
    """How the journey model smooths and pools (defaults: documented in the README)."""

    min_regimen_count: int = 5  # rarer regimens are pooled into "other <class>"
    prior: float = 0.5  # additive smoothing over the support at the top level
    strength: float = 5.0  # pseudo-rows a cell borrows from its parent cell
    follow_up_bins: int = 8  # quantile bins of follow-up the number of lines is conditioned on
    min_quantile_rows: int = 20  # fewest values behind a regimen's (or class's) own time table
    max_redraws: int = 20  # times redrawn for a journey that does not fit its follow-up


@dataclass
class JourneyModel:
    """A fitted journey model: plain tables, saved as JSON (:mod:`pipeline.journeys.model_file`)."""

    cohort: str | None
    seed: int
    settings: JourneySettings
    states: list[str]  # regimens kept and the "other <class>" pools
    state_class: dict[str, str]
    follow_up_edges: list[float]
    min_start: int  # the earliest first-line start a journey may have (<= 0)
    line_counts: BackoffTable  # number of lines | follow-up bin, cancer, stage
    first: BackoffTable  # first regimen | cancer, stage
    following: BackoffTable  # next regimen | cancer, previous regimen
    first_start: QuantileTable
    durations: QuantileTable
    gaps: QuantileTable
    rule_sets: dict[str, str]  # cancer -> the line rules of its real lines
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def max_lines(self) -> int:
        return len(self.line_counts.support) - 1


@dataclass
class JourneySample:
    """Synthetic lines of therapy (``LINE_SCHEMA``) and how many journeys had to be redrawn or compressed."""

    lines: pl.DataFrame
    n_patients: int
    n_redrawn: int
    n_compressed: int
    seconds: float


def follow_up_bin(days: np.ndarray, edges: list[float]) -> np.ndarray:
    """``fu0`` .. ``fuN`` by the training quantile edges; ``fu?`` for unknown follow-up."""
    labels = np.char.add("fu", np.searchsorted(np.asarray(edges, dtype=float), days, side="right").astype(str))
    return np.where(np.isnan(days), "fu?", labels)


def start_chain(cancer: str, stage: str) -> list[str]:
    """The groups whose first-line start times a patient's first line may take, finest first."""
    return [f"cancer={cancer}|stage={stage}", f"cancer={cancer}", ALL]


def line_position(line: int) -> str:
    """The position a line's times are told apart by: ``line=1``, ``line=2``, ``line=3+``."""
    return f"line={min(line, 3)}" + ("+" if line >= 3 else "")


def regimen_chain(state: str, regimen_class: str, follow_up: str, line: int) -> list[str]:
    """The groups whose durations (or gaps) a line may take, finest first: its regimen at its
    position, its class at its position, its position, all lines; each within the patient's
    follow-up bin first."""
    at = line_position(line)
    return [f"regimen={state}|{at}|{follow_up}", f"regimen={state}|{at}", f"class={regimen_class}|{at}|{follow_up}",
            f"class={regimen_class}|{at}", f"{at}|{follow_up}", at, ALL]  # fmt: skip
