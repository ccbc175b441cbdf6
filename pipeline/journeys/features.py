"""What journey validation compares, per patient: lines per patient, regimen class by line, line
k -> k+1 transitions, time to next treatment, durations, regimen sequences, temporal-rule breaks.

Counts are sparse patient x category matrices, so a bootstrap over patients is one product per
resample (:func:`bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

from pipeline.journeys.baseline import baseline

MAX_COUNT = 6  # lines per patient are compared as 0, 1, ..., 5, 6+
STOP = "(stop)"
SEQUENCE_SEPARATOR = " > "


@dataclass(frozen=True)
class JourneySet:
    """One side of a comparison: patients' baselines (one row each) and the lines of those patients."""

    base: pl.DataFrame
    lines: pl.DataFrame  # with ``row`` (the patient's row in ``base``), sorted by patient and line

    @classmethod
    def of(cls, patients: pl.DataFrame, lines: pl.DataFrame) -> JourneySet:
        base = baseline(patients).unique("patient_id", keep="first", maintain_order=True).with_row_index("row")
        kept = lines.join(base.select("patient_id", "row", "follow_up"), on="patient_id", how="inner")
        return cls(base, kept.sort("row", "line"))

    @property
    def n(self) -> int:
        return self.base.height

    def counts(self) -> np.ndarray:
        """Lines per patient, in ``base`` order (0 for a patient without lines)."""
        return np.bincount(self.lines["row"].to_numpy(), minlength=self.n)


def _matrix(rows: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int) -> sparse.csr_matrix:
    data = np.ones(len(rows))
    return sparse.coo_matrix((data, (rows, columns)), shape=(n_rows, n_columns)).tocsr()


def count_matrix(journeys: JourneySet) -> sparse.csr_matrix:
    """One-hot lines per patient (0 .. ``MAX_COUNT``+)."""
    counts = np.minimum(journeys.counts(), MAX_COUNT)
    return _matrix(np.arange(journeys.n), counts, journeys.n, MAX_COUNT + 1)


def class_matrix(journeys: JourneySet, lines: tuple[int, int | None], classes: list[str]) -> sparse.csr_matrix:
    """Per patient, its lines numbered within ``lines`` (first, last or None) by regimen class."""
    first, last = lines
    chosen = journeys.lines.filter((pl.col("line") >= first) & (pl.col("line") <= (last or 10**6)))
    index = {c: i for i, c in enumerate(classes)}
    columns = np.array([index[c] for c in chosen["regimen_class"].to_list()], dtype=np.int64)
    return _matrix(chosen["row"].to_numpy(), columns, journeys.n, len(classes))


def states(journeys: JourneySet, state_of: Callable[[str, str], str]) -> list[str]:
    """Each line's state (``state_of(regimen, regimen_class)``), in line order."""
    pairs = journeys.lines.select("regimen", "regimen_class").iter_rows()
    return [state_of(regimen, regimen_class) for regimen, regimen_class in pairs]


def transition_matrix(journeys: JourneySet, line_states: list[str], vocabulary: list[str]) -> sparse.csr_matrix:
    """Per patient, its transitions from each line's state to the next line's (or ``STOP``): a
    row of ``len(vocabulary) x (len(vocabulary) + 1)`` counts."""
    index = {s: i for i, s in enumerate(vocabulary)}
    rows = journeys.lines["row"].to_numpy()
    codes = np.array([index[s] for s in line_states], dtype=np.int64)
    last = np.append(rows[1:] != rows[:-1], True) if len(rows) else np.zeros(0, dtype=bool)
    following = np.where(last, len(vocabulary), np.roll(codes, -1))
    return _matrix(rows, codes * (len(vocabulary) + 1) + following, journeys.n, len(vocabulary) * (len(vocabulary) + 1))


def time_to_next(journeys: JourneySet, line: int) -> tuple[np.ndarray, np.ndarray]:
    """(days, event) from the start of each patient's line ``line`` to its next line (event 1), else
    to the follow-up (or the line's end when unknown), censored; never below 0."""
    frame = journeys.lines.with_columns(next_start=pl.col("start_day").shift(-1).over("row")).filter(
        pl.col("line") == line
    )
    censored_at = pl.coalesce(pl.col("follow_up"), pl.col("end_day"))
    days = pl.coalesce(pl.col("next_start"), censored_at) - pl.col("start_day")
    out = frame.select(days.clip(0).cast(pl.Float64).alias("t"), pl.col("next_start").is_not_null().cast(pl.Float64))
    return out["t"].to_numpy(), out["next_start"].to_numpy()


def durations(journeys: JourneySet) -> np.ndarray:
    """Days from each line's start to its end."""
    return (journeys.lines["end_day"] - journeys.lines["start_day"]).cast(pl.Float64).to_numpy()


def sequences(journeys: JourneySet, min_lines: int = 2) -> pl.Series:
    """Each patient's regimens in line order (``a > b > c``), for patients with at least ``min_lines`` lines."""
    grouped = journeys.lines.group_by("row", maintain_order=True).agg(pl.col("regimen"))
    grouped = grouped.filter(pl.col("regimen").list.len() >= min_lines)
    return grouped["regimen"].list.join(SEQUENCE_SEPARATOR)


def temporal_breaks(patients: pl.DataFrame, lines: pl.DataFrame) -> dict[str, int]:
    """Lines that break a rule of time: a stop before its start, out of order (numbers not 1, 2, ...
    or a line starting before the previous one ends), a day after the patient's follow-up (death or
    last contact), or a patient not in ``patients``."""
    base = baseline(patients).unique("patient_id", keep="first")
    frame = lines.join(base.select("patient_id", "follow_up"), on="patient_id", how="left").sort(
        "patient_id", "line", "start_day"
    )
    previous_end = pl.col("end_day").shift(1).over("patient_id")
    expected = pl.int_range(1, pl.len() + 1).over("patient_id")
    checks = frame.select(
        stop_before_start=(pl.col("end_day") < pl.col("start_day")).sum(),
        out_of_order=((pl.col("line") != expected) | (pl.col("start_day") <= previous_end).fill_null(False)).sum(),
        after_follow_up=(pl.max_horizontal("start_day", "end_day") > pl.col("follow_up")).fill_null(False).sum(),
        unknown_patient=pl.col("patient_id").is_in(base["patient_id"].implode()).not_().sum(),
    )
    return {name: int(value) for name, value in checks.row(0, named=True).items()}


def bootstrap(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    real: sparse.csr_matrix,
    candidate: sparse.csr_matrix,
    *,
    rng: np.random.Generator,
    rounds: int,
) -> tuple[float, float]:
    """(value, bootstrap standard error) of ``statistic`` on the column sums of two patient matrices."""
    value = statistic(np.asarray(real.sum(axis=0)).ravel(), np.asarray(candidate.sum(axis=0)).ravel())
    draws = []
    for _ in range(rounds if real.shape[0] and candidate.shape[0] else 0):
        weights = [
            np.bincount(rng.integers(0, m.shape[0], m.shape[0]), minlength=m.shape[0]) for m in (real, candidate)
        ]
        draws.append(statistic(real.T @ weights[0], candidate.T @ weights[1]))
    finite = np.asarray(draws)[np.isfinite(draws)]
    se = float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan")
    return value, se
