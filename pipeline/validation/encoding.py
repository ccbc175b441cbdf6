"""One numeric matrix for real and synthetic rows: what distances and classifiers work on.

Numerical columns are scaled to [0, 1] by the reference (real training) range, with a
missingness indicator where any frame has nulls; categorical columns are one-hot over the
union of observed values, a null being a value of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipeline.dtypes import as_labels
from pipeline.validation.columns import ColumnKinds, as_float

NULL_LEVEL = "<null>"


@dataclass
class MixedEncoder:
    """Fitted once on all frames that will be compared, so every matrix has the same columns."""

    kinds: ColumnKinds
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    null_indicators: list[str] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, kinds: ColumnKinds, reference: pl.DataFrame, *others: pl.DataFrame) -> MixedEncoder:
        """Ranges come from ``reference``; indicators and levels from every frame."""
        encoder = cls(kinds)
        frames = (reference, *others)
        for column in kinds.numerical:
            values = as_float(reference[column])
            low, high = (float(np.nanmin(values)), float(np.nanmax(values))) if np.isfinite(values).any() else (0, 1)
            encoder.ranges[column] = (low, high if high > low else low + 1.0)
            if any(f[column].null_count() for f in frames):
                encoder.null_indicators.append(column)
        for column in kinds.categorical:
            observed: set[str] = set()
            for frame in frames:
                observed.update(as_labels(frame[column]).fill_null(NULL_LEVEL).unique().to_list())
            encoder.levels[column] = sorted(observed)
        return encoder

    @property
    def width(self) -> int:
        return len(self.ranges) + len(self.null_indicators) + sum(len(v) for v in self.levels.values())

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        """Rows of ``frame`` as a float32 matrix of ``width`` columns."""
        parts: list[np.ndarray] = []
        for column, (low, high) in self.ranges.items():
            values = (as_float(frame[column]) - low) / (high - low)
            parts.append(np.nan_to_num(values, nan=0.0)[:, None])
        for column in self.null_indicators:
            parts.append(frame[column].is_null().to_numpy()[:, None].astype(np.float64))
        for column, levels in self.levels.items():
            labels = as_labels(frame[column]).fill_null(NULL_LEVEL)
            codes = labels.replace_strict(levels, list(range(len(levels))), default=-1, return_dtype=pl.Int32)
            onehot = np.zeros((frame.height, len(levels)))
            codes_np = codes.to_numpy()
            known = codes_np >= 0
            onehot[np.flatnonzero(known), codes_np[known]] = 1.0
            parts.append(onehot)
        if not parts:
            return np.zeros((frame.height, 0), dtype=np.float32)
        return np.hstack(parts).astype(np.float32)
