"""Subgroups of a protected attribute: its categories, or bands when the attribute is a number."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import polars as pl

from pipeline.dtypes import as_labels
from pipeline.schema import PROTECTED_COLUMNS

AGE_BAND_EDGES = (40.0, 50.0, 60.0, 70.0, 80.0)
QUANTILE_BANDS = 5


def is_banded(series: pl.Series) -> bool:
    if series.dtype.is_float():
        return True
    return series.dtype.is_integer() and series.dtype != pl.Int8 and series.drop_nulls().n_unique() > 10


def band_edges(column: str, reference: pl.Series) -> tuple[float, ...]:
    """Age bands for ages; otherwise the quintiles of the reference (real) values."""
    if column.startswith("age"):
        return AGE_BAND_EDGES
    values = reference.cast(pl.Float64).drop_nulls().to_numpy()
    return tuple(np.unique(np.quantile(values, np.linspace(0, 1, QUANTILE_BANDS + 1)[1:-1])))


def _band_labels(edges: tuple[float, ...]) -> list[str]:
    labels = [f"<{edges[0]:g}"]
    labels += [f"{low:g}-{high:g}" for low, high in itertools.pairwise(edges)]
    return [*labels, f">={edges[-1]:g}"]


def subgroup_labels(frame: pl.DataFrame, column: str, reference: pl.DataFrame | None = None) -> pl.Series:
    """The subgroup of every row as a string (null where the attribute is unknown).

    Floats, and integers with more than 10 values, are banded with edges from ``reference`` (default:
    ``frame``), so real and synthetic rows fall into the same bands.
    """
    series = frame[column]
    if not is_banded((reference if reference is not None else frame)[column]):
        return as_labels(series)
    edges = band_edges(column, (reference if reference is not None else frame)[column])
    codes = np.digitize(series.cast(pl.Float64).fill_null(np.nan).to_numpy(), edges)
    labels = np.asarray(_band_labels(edges), dtype=object)[codes]
    return pl.Series(column, labels, dtype=pl.String).set(series.is_null(), None)


def default_protected(frame: pl.DataFrame, registered: Sequence[str] | None = None) -> list[str]:
    """The protected attributes a stage works on unless told otherwise.

    For a registry cohort, its ``protected`` list; for any other data, every protected schema
    column that records at least two values (a column with one value cannot be compared or flipped).
    """
    if registered is not None:
        return list(registered)
    return [c for c in PROTECTED_COLUMNS if c in frame.columns and frame[c].drop_nulls().n_unique() >= 2]
