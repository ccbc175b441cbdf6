"""Dates a spec expression reads: text columns parsed as dates, so survival can be computed from them.

An expression such as ``survival_months: "date_last_contact - date_of_diagnosis"`` sees the source
columns before identifier and date columns are dropped (they never reach the harmonized table).
A text column the expression names whose values are dates in one common format becomes a date
column; the difference of two dates is a number of days (set ``survival_unit: days``).
"""

from __future__ import annotations

import re

import polars as pl

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%b-%Y", "%d %b %Y", "%Y%m%d")
MIN_PARSED_SHARE = 0.95  # a column is a date column when this share of its values parse in one format


def with_dates(frame: pl.DataFrame, expression: str) -> pl.DataFrame:
    """``frame`` with every text column ``expression`` names that holds dates parsed as dates."""
    named = {c for c in frame.columns if re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])", expression)}
    parsed = [d for c in sorted(named) if frame.schema[c] == pl.String and (d := _as_date(frame[c])) is not None]
    return frame.with_columns(parsed) if parsed else frame


def _as_date(values: pl.Series) -> pl.Series | None:
    present = values.drop_nulls()
    if present.len() == 0:
        return None
    best, best_count = None, 0
    for fmt in DATE_FORMATS:
        dates = values.str.strip_chars().str.to_date(fmt, strict=False)
        count = dates.drop_nulls().len()
        if count > best_count:
            best, best_count = dates, count
    return best if best_count >= MIN_PARSED_SHARE * present.len() else None


def durations_as_days(values: pl.Series) -> pl.Series:
    """A difference of dates as a number of days; other values unchanged."""
    if isinstance(values.dtype, pl.Duration):
        return (values.dt.total_milliseconds() / 86_400_000).alias(values.name)
    return values
