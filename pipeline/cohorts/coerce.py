"""Source values -> typed values of one schema column: value maps, vocabularies, enums, booleans, numbers.

Labels nothing maps are recorded in the :class:`Context` of the harmonization: they become null,
or ``Other`` for a protected attribute whose schema has it (a benchmark must not erase the
patients it exists to protect), and the report lists them; strict ingestion refuses them all at
once with :func:`unknown_values_error`. A malformed number (text, a fraction for a whole number,
NaN or infinity) puts its row in quarantine (:mod:`pipeline.cohorts.quarantine`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.cohorts.quarantine import Quarantine
from pipeline.cohorts.readers.text import null_missing
from pipeline.cohorts.report import IngestReport
from pipeline.cohorts.vocabulary import normalize_label, vocabulary
from pipeline.errors import CohortDataError
from pipeline.schema import Column

_TRUE = {"true", "yes", "y", "1", "mutated", "present", "positive"}
_FALSE = {"false", "no", "n", "0", "wildtype", "wild-type", "absent", "negative"}


class UnknownValuesError(CohortDataError):
    """Labels or values that no vocabulary or spec maps, listed for every column at once."""


@dataclass(frozen=True)
class _Unknown:
    label: str  # source column(s)
    target: str  # schema column
    counts: list[tuple[Any, int, int]]  # value, count, first row
    expected: str
    action: str = "read as null"


@dataclass
class Context:
    """Where values are coerced: the file, the source row of every frame row, the report, what is unknown."""

    file: str
    rows: pl.Series  # 1-based source row of every frame row
    report: IngestReport
    unknown: list[_Unknown] = field(default_factory=list)
    quarantine: Quarantine | None = None

    def __post_init__(self) -> None:
        if self.quarantine is None:
            self.quarantine = Quarantine(self.file, self.rows)


def coerce(
    values: pl.Series,
    column: Column,
    value_map: Mapping[str, Any] | None,
    ctx: Context,
    label: str,
) -> pl.Series:
    """``values`` as ``column``'s type, after the spec's ``value_map``; what nothing maps is recorded in ``ctx``."""
    if value_map:
        values = _apply_value_map(values, value_map, ctx, label)
    if column.name == "primary_cancer_condition":
        return _to_cancer_code(values, column, ctx, label)
    if isinstance(column.dtype, pl.Enum):
        return _to_enum(values, column, ctx, label)
    if column.dtype == pl.Boolean:
        return _to_boolean(values, ctx, label)
    if column.dtype == pl.String:
        return clean_text(values)
    return _to_number(values, column, ctx, label)


def _apply_value_map(values: pl.Series, value_map: Mapping[Any, Any], ctx: Context, label: str) -> pl.Series:
    for key in value_map:
        if isinstance(key, bool):
            raise CohortDataError(
                "value-map keys must be quoted strings (YAML reads bare yes/no as booleans)",
                file=ctx.file,
                column=label,
                value=key,
            )
    text = values.cast(pl.String).str.strip_chars()
    mapping = {str(k): (None if v is None else str(v)) for k, v in value_map.items()}
    return text.replace(list(mapping), list(mapping.values()))


def clean_text(values: pl.Series) -> pl.Series:
    return null_missing(values)[0]


def _record_unknown(
    ctx: Context, bad: pl.Series, original: pl.Series, label: str, target: str, expected: str,
    action: str = "read as null",
) -> None:  # fmt: skip
    frame = pl.DataFrame({"value": original.cast(pl.String), "row": ctx.rows}).filter(bad)
    grouped = frame.group_by("value", maintain_order=True).agg(pl.len().alias("n"), pl.col("row").min().alias("first"))
    counts = [(v, int(n), int(r)) for v, n, r in grouped.sort("first").iter_rows()]
    ctx.unknown.append(_Unknown(label, target, counts, expected, action))


def _vocabulary_lookup(text: pl.Series, column: Column, ctx: Context, label: str) -> tuple[pl.Series, pl.Series]:
    """Exact schema values first (case-insensitive), then the column's vocabulary."""
    normalized = normalize_label(text)
    lookup = {c.lower(): c for c in column.categories}
    result = normalized.replace_strict(lookup, default=None, return_dtype=pl.String)
    vocab = vocabulary(column.name)
    is_missing = pl.Series([False] * text.len())
    if vocab is not None:
        mapped, is_missing = vocab.lookup(normalized)
        result = result.fill_null(mapped)
        missing_counts = text.filter(is_missing & text.is_not_null()).value_counts()
        if missing_counts.height:
            ctx.report.count_missing(label, dict(missing_counts.iter_rows()))
    return result, is_missing


def _to_enum(values: pl.Series, column: Column, ctx: Context, label: str) -> pl.Series:
    text = clean_text(values)
    result, is_missing = _vocabulary_lookup(text, column, ctx, label)
    unknown = text.is_not_null() & result.is_null() & ~is_missing
    other = "Other" if column.protected and "Other" in column.categories else None
    if unknown.any():
        action = "kept as Other (a protected attribute)" if other else "read as null"
        _record_unknown(ctx, unknown, text, label, column.name, f"allowed: {list(column.categories)}", action)
    return pl.select(pl.when(unknown).then(pl.lit(other)).otherwise(result)).to_series().cast(column.dtype)


def _to_cancer_code(values: pl.Series, column: Column, ctx: Context, label: str) -> pl.Series:
    """Known labels and TCGA names map to codes; any other well-formed OncoTree code is kept."""
    text = clean_text(values)
    result, is_missing = _vocabulary_lookup(text, column, ctx, label)
    well_formed = text.str.contains(column.pattern or ".").fill_null(False)
    result = pl.select(pl.when(result.is_null() & well_formed).then(text).otherwise(result)).to_series()
    unknown = text.is_not_null() & result.is_null() & ~is_missing
    if unknown.any():
        expected = "an OncoTree code (upper case, e.g. LUAD) or a TCGA name"
        _record_unknown(ctx, unknown, text, label, column.name, expected)
    return result.cast(pl.Categorical)


def _to_boolean(values: pl.Series, ctx: Context, label: str) -> pl.Series:
    if values.dtype == pl.Boolean:
        return values
    text = clean_text(values).str.to_lowercase()
    result = pl.select(
        pl.when(text.is_in(list(_TRUE))).then(True).when(text.is_in(list(_FALSE))).then(False)
    ).to_series()
    bad = text.is_not_null() & result.is_null()
    if bad.any():
        _record_unknown(ctx, bad, values, label, label, "yes/no, true/false or 1/0")
    return pl.select(pl.when(bad).then(None).otherwise(result)).to_series()


def _to_number(values: pl.Series, column: Column, ctx: Context, label: str) -> pl.Series:
    dtype = column.dtype
    if values.dtype.is_numeric():
        parsed = values.cast(pl.Float64)
    else:
        text = clean_text(values)
        vocab = vocabulary(column.name)
        if vocab is not None:  # e.g. the event: DECEASED -> 1
            mapped, is_missing = vocab.lookup(normalize_label(text))
            text = pl.select(pl.when(is_missing).then(None).otherwise(mapped.fill_null(text))).to_series()
        parsed = text.cast(pl.Float64, strict=False)
        bad = text.is_not_null() & parsed.is_null()
        if bad.any():
            _record_unknown(ctx, bad, values, label, column.name, "a number", "row quarantined")
            ctx.quarantine.add(bad, values, label, f"{column.name}: not a number")
    if dtype.is_integer():
        fractional = parsed.is_not_null() & parsed.is_finite() & (parsed != parsed.round(0))
        ctx.quarantine.add(fractional, values, label, f"{column.name}: wrong type, expected a whole number")
        parsed = pl.select(pl.when(fractional).then(None).otherwise(parsed)).to_series()
    not_finite = parsed.is_not_null() & ~parsed.is_finite()
    ctx.quarantine.add(not_finite, values, label, f"{column.name} must be a finite number (NaN or infinity)")
    parsed = pl.select(pl.when(not_finite).then(None).otherwise(parsed)).to_series()
    return parsed.cast(dtype, strict=False) if dtype.is_integer() else parsed


def first_bad(bad: pl.Series, original: pl.Series, ctx: Context) -> tuple[int, Any]:
    index = bad.arg_true()[0]
    value = original[index]
    if isinstance(value, float) and math.isnan(value):
        value = "NaN"
    return ctx.rows[index], value


def unknown_values_error(ctx: Context) -> UnknownValuesError:
    first = ctx.unknown[0]
    value, _, row = first.counts[0]
    n_values = sum(len(u.counts) for u in ctx.unknown)
    lines = [
        f"unknown value for {first.target}; {first.expected} ({n_values} unknown value(s) in "
        f"{len(ctx.unknown)} column(s), all listed below)"
    ]
    for u in ctx.unknown:
        listing = ", ".join(f"{v!r} x{n} (first at row {r})" for v, n, r in u.counts)
        lines.append(f"  column {u.label!r} -> {u.target}: {listing}; {u.expected}")
    paste = [f'  {u.target}: {{{", ".join(f"{str(v)!r}: ..." for v, _, _ in u.counts)}}}' for u in ctx.unknown
             if u.expected != "a number"]  # fmt: skip
    if paste:
        lines += ["map them in the spec (replace ... by an allowed value, or null):", "values:", *paste]
    return UnknownValuesError("\n".join(lines), file=ctx.file, column=first.label, row=row, value=value)
