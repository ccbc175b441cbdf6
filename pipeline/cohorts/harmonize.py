"""Raw source frame + cohort spec -> one typed row per patient in the harmonized schema.

Every failure raises :class:`CohortDataError` naming the file, the column and, where it
applies, the (1-based) data row and the offending value. Nothing is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.cohorts.identifiers import (
    find_identifier_columns,
    hash_patient_ids,
    snake_case,
)
from pipeline.cohorts.spec import SURVIVAL_UNITS_TO_MONTHS, CohortSpec
from pipeline.errors import CohortDataError, IdentifierColumnError
from pipeline.schema import CORE_COLUMNS, NULL_TOKENS, Column

ROW = "__source_row"
_TRUE = {"true", "yes", "y", "1", "mutated", "present", "positive"}
_FALSE = {"false", "no", "n", "0", "wildtype", "wild-type", "absent", "negative"}


@dataclass(frozen=True)
class _Context:
    file: str
    rows: pl.Series  # 1-based source row of every frame row


def harmonize(raw: pl.DataFrame, spec: CohortSpec, *, cohort: str, source: str, salt: str) -> pl.DataFrame:
    """Map ``raw`` onto the harmonized schema; ``source`` names the file in errors."""
    if raw.height == 0:
        raise CohortDataError("the source has no data rows", file=source)
    frame = raw.with_row_index(ROW, offset=1)
    frame = _apply_filter(frame, spec, source)
    ctx = _Context(file=source, rows=frame.get_column(ROW))
    _refuse_identifiers(frame, spec, source)

    source_ids = _source_ids(frame, spec, ctx)
    core: dict[str, pl.Series] = {
        "patient_id": hash_patient_ids(source_ids, cohort=cohort, salt=salt),
        "cohort": pl.Series("cohort", [cohort] * frame.height, dtype=pl.String),
    }
    consumed = {spec.id_column, ROW, *spec.drop}
    for column in CORE_COLUMNS:
        if column.name in core:
            continue
        values, source_columns = _evaluate(frame, column, spec, ctx)
        consumed.update(source_columns)
        label = "|".join(source_columns) or column.name
        values = _coerce(values, column, spec.values.get(column.name), ctx, label)
        if column.name == "survival_months":
            values = values * SURVIVAL_UNITS_TO_MONTHS[spec.survival_unit]
        _check_limits(values, column, ctx, label)
        core[column.name] = values.alias(column.name)

    extras = _extras(frame, spec, consumed, ctx) if spec.keep_extras else {}
    return pl.DataFrame({**core, **extras})


def _apply_filter(frame: pl.DataFrame, spec: CohortSpec, source: str) -> pl.DataFrame:
    if not spec.filter:
        return frame
    try:
        filtered = frame.filter(pl.sql_expr(spec.filter))
    except Exception as exc:  # polars raises several error types for bad SQL
        raise CohortDataError(f"cannot apply filter {spec.filter!r}: {exc}", file=source) from exc
    if filtered.height == 0:
        raise CohortDataError(f"no rows left after filter {spec.filter!r}", file=source)
    return filtered


def _refuse_identifiers(frame: pl.DataFrame, spec: CohortSpec, source: str) -> None:
    ignore = {spec.id_column, ROW, *spec.drop}
    found = find_identifier_columns(frame, ignore=ignore)
    found.update(
        {c: "date" for c, dtype in frame.schema.items() if c not in ignore and dtype in (pl.Date, pl.Datetime)}
    )
    if found:
        listing = ", ".join(f"{c!r} ({kind})" for c, kind in found.items())
        raise IdentifierColumnError(
            f"columns that look like direct identifiers: {listing}. They never enter the "
            "harmonized table; list them under 'drop:' in the spec to discard them explicitly",
            file=source,
            column=next(iter(found)),
        )


def _source_ids(frame: pl.DataFrame, spec: CohortSpec, ctx: _Context) -> pl.Series:
    if spec.id_column not in frame.columns:
        raise CohortDataError(
            "missing required patient id column (set 'id_column' in the spec)",
            file=ctx.file,
            column=spec.id_column,
        )
    ids = frame.get_column(spec.id_column).cast(pl.String)
    missing = ids.is_null()
    if missing.any():
        row = ctx.rows.filter(missing)[0]
        raise CohortDataError("patient id is empty", file=ctx.file, column=spec.id_column, row=row)
    duplicated = ids.is_duplicated()
    if duplicated.any():
        value = ids.filter(duplicated)[0]
        rows = ctx.rows.filter(ids == value).to_list()
        raise CohortDataError(
            f"duplicate patient id in rows {rows}",
            file=ctx.file,
            column=spec.id_column,
            row=rows[1],
            value=value,
        )
    return ids


def _evaluate(frame: pl.DataFrame, column: Column, spec: CohortSpec, ctx: _Context) -> tuple[pl.Series, list[str]]:
    """The source values for one schema column, and the plain source columns they came from.

    A list of candidate columns takes, row by row, the first non-null value among the
    candidates present in the source.
    """
    mapping = spec.columns.get(column.name)
    if mapping is None and column.name in frame.columns:
        mapping = column.name
    candidates = mapping if isinstance(mapping, list) else [mapping] if mapping else []
    present = [c for c in candidates if c in frame.columns]
    if present:
        return _first_non_null(frame, present).alias(column.name), present
    if isinstance(mapping, str) and not _looks_like_column(mapping):
        try:
            # with_columns broadcasts literals such as "'COAD'" to every row
            evaluated = frame.with_columns(pl.sql_expr(mapping).alias("__value"))
            return evaluated.get_column("__value").alias(column.name), []
        except Exception as exc:
            raise CohortDataError(f"cannot evaluate {mapping!r}: {exc}", file=ctx.file, column=column.name) from exc
    if column.required or isinstance(mapping, str):
        looked_for = candidates or [column.name]
        raise CohortDataError(
            f"missing required column (schema column {column.name!r}; looked for {looked_for})",
            file=ctx.file,
            column=looked_for[0],
        )
    return pl.Series(column.name, [None] * frame.height, dtype=column.dtype), []


def _first_non_null(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    if len(columns) == 1:
        return frame.get_column(columns[0])
    numeric = all(frame.schema[c].is_numeric() for c in columns)
    target = pl.Float64 if numeric else pl.String
    return frame.select(pl.coalesce(pl.col(c).cast(target) for c in columns)).to_series()


def _looks_like_column(text: str) -> bool:
    return text.replace("_", "").isalnum()


def _coerce(
    values: pl.Series,
    column: Column,
    value_map: Mapping[str, Any] | None,
    ctx: _Context,
    label: str,
) -> pl.Series:
    if value_map:
        values = _apply_value_map(values, value_map, ctx, label)
    if isinstance(column.dtype, pl.Enum):
        return _to_enum(values, column, ctx, label)
    if column.dtype == pl.Boolean:
        return _to_boolean(values, ctx, label)
    if column.dtype == pl.String:
        return _clean_text(values)
    return _to_number(values, column.dtype, ctx, label)


def _apply_value_map(values: pl.Series, value_map: Mapping[Any, Any], ctx: _Context, label: str) -> pl.Series:
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


def _is_null_token(text: pl.Series) -> pl.Series:
    return text.is_null() | text.str.to_lowercase().is_in(list(NULL_TOKENS))


def _clean_text(values: pl.Series) -> pl.Series:
    text = values.cast(pl.String).str.strip_chars()
    return pl.select(pl.when(_is_null_token(text)).then(None).otherwise(text)).to_series()


def _first_bad(bad: pl.Series, original: pl.Series, ctx: _Context) -> tuple[int, Any]:
    index = bad.arg_true()[0]
    return ctx.rows[index], original[index]


def _to_enum(values: pl.Series, column: Column, ctx: _Context, label: str) -> pl.Series:
    text = _clean_text(values)
    lookup = {c.lower(): c for c in column.categories}
    lookup.update({k.lower(): v for k, v in column.synonyms.items()})
    result = text.str.to_lowercase().replace_strict(lookup, default=None, return_dtype=pl.String)
    unknown = text.is_not_null() & result.is_null()
    if unknown.any():
        row, value = _first_bad(unknown, text, ctx)
        raise CohortDataError(
            f"unknown category value for {column.name}; allowed: {list(column.categories)} "
            "(map it in the spec's 'values:')",
            file=ctx.file,
            column=label,
            row=row,
            value=value,
        )
    return result.cast(column.dtype)


def _to_boolean(values: pl.Series, ctx: _Context, label: str) -> pl.Series:
    if values.dtype == pl.Boolean:
        return values
    text = _clean_text(values).str.to_lowercase()
    result = pl.select(
        pl.when(text.is_in(list(_TRUE))).then(True).when(text.is_in(list(_FALSE))).then(False)
    ).to_series()
    bad = text.is_not_null() & result.is_null()
    if bad.any():
        row, value = _first_bad(bad, values, ctx)
        raise CohortDataError("not a yes/no value", file=ctx.file, column=label, row=row, value=value)
    return result


def _to_number(values: pl.Series, dtype: pl.DataType, ctx: _Context, label: str) -> pl.Series:
    if values.dtype.is_numeric():
        parsed = values.cast(pl.Float64)
    else:
        text = _clean_text(values)
        parsed = text.cast(pl.Float64, strict=False)
        bad = text.is_not_null() & parsed.is_null()
        if bad.any():
            row, value = _first_bad(bad, values, ctx)
            raise CohortDataError(
                "wrong type: expected a number",
                file=ctx.file,
                column=label,
                row=row,
                value=value,
            )
    if dtype.is_integer():
        fractional = parsed.is_not_null() & (parsed != parsed.round(0))
        if fractional.any():
            row, value = _first_bad(fractional, values, ctx)
            raise CohortDataError(
                "wrong type: expected a whole number",
                file=ctx.file,
                column=label,
                row=row,
                value=value,
            )
    return parsed.cast(dtype, strict=False) if dtype.is_integer() else parsed


def _check_limits(values: pl.Series, column: Column, ctx: _Context, label: str) -> None:
    if column.required and values.is_null().any():
        row = ctx.rows.filter(values.is_null())[0]
        raise CohortDataError(
            f"{column.name} is required and must not be empty",
            file=ctx.file,
            column=label,
            row=row,
        )
    if column.minimum is not None:
        _check_bound(values < column.minimum, values, column, ctx, label, f">= {column.minimum}")
    if column.maximum is not None:
        _check_bound(values > column.maximum, values, column, ctx, label, f"<= {column.maximum}")


def _check_bound(
    bad: pl.Series,
    values: pl.Series,
    column: Column,
    ctx: _Context,
    label: str,
    rule: str,
) -> None:
    bad = bad.fill_null(False)
    if bad.any():
        row, value = _first_bad(bad, values, ctx)
        raise CohortDataError(
            f"{column.name} must be {rule}",
            file=ctx.file,
            column=label,
            row=row,
            value=value,
        )


def _extras(frame: pl.DataFrame, spec: CohortSpec, consumed: set[str], ctx: _Context) -> dict[str, pl.Series]:
    """Remaining source columns, snake_cased and explicitly typed."""
    core_names = {c.name for c in CORE_COLUMNS}
    extras: dict[str, pl.Series] = {}
    origin: dict[str, str] = {}
    for source_column in frame.columns:
        if source_column in consumed:
            continue
        name = source_column
        for prefix in spec.strip_prefixes:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        name = snake_case(name)
        if name in core_names or name in extras:
            clash = origin.get(name, f"schema column {name!r}")
            raise CohortDataError(
                f"extra column name {name!r} clashes with {clash}; drop one in the spec",
                file=ctx.file,
                column=source_column,
            )
        origin[name] = f"source column {source_column!r}"
        extras[name] = _typed_extra(frame.get_column(source_column)).alias(name)
    return extras


def _typed_extra(values: pl.Series) -> pl.Series:
    if values.dtype == pl.Boolean:
        return values
    if values.dtype.is_integer():
        return values.cast(pl.Int64)
    if values.dtype.is_numeric():
        return values.cast(pl.Float64)
    return _clean_text(values).cast(pl.Categorical)
