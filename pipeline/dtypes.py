"""One definition of a categorical column, shared by synthesis, validation and stress."""

from __future__ import annotations

import polars as pl


def is_categorical(dtype: pl.DataType) -> bool:
    """Text, booleans and enums are categories; so are Int8 indicators (the event flag)."""
    return dtype in (pl.String, pl.Boolean, pl.Int8) or isinstance(dtype, pl.Enum | pl.Categorical)


def as_labels(series: pl.Series) -> pl.Series:
    """A categorical column as strings (nulls stay null), so frames with different enums line up."""
    return series.cast(pl.String)
