"""Source tables -> raw event rows: every cell as text, missing-value tokens null (counted).

A raw event row is one source row's event (a drug row with two agents is still one raw row):
:data:`RAW_SCHEMA`. :mod:`pipeline.journeys.events` parses its days, resolves its agents and
hashes its patient id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import polars as pl

from pipeline.cohorts.readers.text import null_missing

RAW_SCHEMA: dict[str, pl.DataType] = {
    "source_id": pl.String(),
    "start": pl.String(),
    "stop": pl.String(),
    "event_type": pl.String(),
    "source_agent": pl.String(),
    "detail": pl.String(),
    "indication": pl.String(),
    "value": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}


class TokenCounter(Protocol):
    def count_missing(self, column: str, counts: dict[str, int]) -> None: ...


def text(frame: pl.DataFrame, candidates: Sequence[str], *, file: str, report: TokenCounter | None = None) -> pl.Series:
    """The first present of ``candidates`` as text, missing-value and ``[...]`` tokens null (counted)."""
    name = next((c for c in candidates if c in frame.columns), None)
    if name is None:
        return pl.Series([None] * frame.height, dtype=pl.String)
    values, counts = null_missing(frame.get_column(name))
    bracketed = values.str.starts_with("[") & values.str.ends_with("]")
    if bracketed.any():
        for token, n in values.filter(bracketed).value_counts().iter_rows():
            counts[token] = counts.get(token, 0) + n
        values = pl.select(pl.when(bracketed).then(None).otherwise(values)).to_series()
    if report is not None:
        report.count_missing(f"{file}:{name}", counts)
    return values.alias(name)


def raw_events(frame: pl.DataFrame, rows: pl.Series, file: str, **columns: pl.Series | str | None) -> pl.DataFrame:
    """Raw event rows of ``frame``: the given columns (a text constant or a series), the rest null."""
    out = {}
    for name, dtype in RAW_SCHEMA.items():
        value = {"source_file": file, "source_row": rows}.get(name, columns.get(name))
        if isinstance(value, pl.Series):
            out[name] = value.cast(dtype).alias(name)
        else:
            out[name] = pl.Series(name, [value] * frame.height, dtype=dtype)
    return pl.DataFrame(out)


def empty_raw_events() -> pl.DataFrame:
    return pl.DataFrame(schema=RAW_SCHEMA)
