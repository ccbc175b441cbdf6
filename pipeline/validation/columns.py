"""Which columns are compared, and how: numerical (distributions) or categorical (frequencies)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.dtypes import is_categorical
from pipeline.errors import OncoBenchError

NOT_COMPARED = frozenset({"patient_id", "cohort"})
SURVIVAL_TIME = "survival_months"
SURVIVAL_EVENT = "vital_status_event"


@dataclass(frozen=True)
class ColumnKinds:
    """The compared columns of a cohort, split by kind."""

    numerical: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.numerical + self.categorical

    def kind(self, column: str) -> str:
        return "numerical" if column in self.numerical else "categorical"


def column_kinds(real: pl.DataFrame, synthetic: pl.DataFrame | None = None) -> ColumnKinds:
    """Compared columns: present in both frames, not identifiers, with at least one real value and,
    in the synthetic frame, at least one value (a column the synthesizer left out on purpose, such
    as free text, is listed by :func:`not_synthesized` instead).

    Int8 columns (event indicators) count as categorical; other numbers as numerical.
    """
    if synthetic is not None:
        missing = [c for c in real.columns if c not in synthetic.columns and c not in NOT_COMPARED]
        if missing:
            raise OncoBenchError(f"synthetic data lacks real columns: {', '.join(missing)}")
    left_out = set(not_synthesized(real, synthetic)) if synthetic is not None else set()
    compared = [
        c for c in real.columns if c not in NOT_COMPARED and c not in left_out and real[c].null_count() < real.height
    ]
    numerical = tuple(c for c in compared if real.schema[c].is_numeric() and not is_categorical(real.schema[c]))
    categorical = tuple(c for c in compared if c not in numerical)
    return ColumnKinds(numerical=numerical, categorical=categorical)


def not_synthesized(real: pl.DataFrame, synthetic: pl.DataFrame) -> list[str]:
    """Columns with real values that the synthetic frame leaves entirely null (dropped by the synthesizer)."""
    return [
        c
        for c in real.columns
        if c not in NOT_COMPARED
        and c in synthetic.columns
        and real[c].null_count() < real.height
        and synthetic[c].null_count() == synthetic.height
    ]


def as_float(series: pl.Series) -> np.ndarray:
    """A numerical column as float64 with NaN for nulls."""
    return series.cast(pl.Float64).fill_null(np.nan).to_numpy()
