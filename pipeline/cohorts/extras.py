"""The source columns left over after the schema's: typed extras, outcome proxies dropped, OncoTree names added."""

from __future__ import annotations

import polars as pl

from pipeline.cohorts.coerce import Context, clean_text
from pipeline.cohorts.identifiers import snake_case
from pipeline.cohorts.proxies import find_outcome_proxies
from pipeline.cohorts.report import IngestReport
from pipeline.cohorts.spec import CohortSpec
from pipeline.errors import CohortDataError
from pipeline.schema import CORE_COLUMNS
from pipeline.vocabularies import oncotree_codes


def extra_columns(
    frame: pl.DataFrame, spec: CohortSpec, consumed: set[str], ctx: Context
) -> dict[str, tuple[str, pl.Series]]:
    """Remaining source columns, snake_cased and explicitly typed: name -> (source name, values)."""
    core_names = {c.name for c in CORE_COLUMNS}
    extras: dict[str, tuple[str, pl.Series]] = {}
    for source_column in frame.columns:
        if source_column in consumed:
            continue
        name = source_column
        for prefix in spec.strip_prefixes:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        name = snake_case(name)
        if name in core_names:
            ctx.report.warn(
                f"source column {source_column!r} is named like schema column {name!r}: kept as source_{name}"
            )
            name = f"source_{name}"
        if name in core_names or name in extras:
            clash = f"source column {extras[name][0]!r}" if name in extras else f"schema column {name!r}"
            raise CohortDataError(
                f"extra column name {name!r} clashes with {clash}; drop one in the spec",
                file=ctx.file,
                column=source_column,
            )
        values = frame.get_column(source_column)
        if source_column in ctx.report.declared_numbers:
            values = _declared_number(values, source_column, ctx)
        extras[name] = (source_column, _typed_extra(values).alias(name))
    return extras


def _declared_number(values: pl.Series, column: str, ctx: Context) -> pl.Series:
    """A column the file declares NUMBER: the few values that are not numbers are read as null."""
    parsed = clean_text(values).cast(pl.Float64, strict=False)
    bad = values.is_not_null() & parsed.is_null()
    if bad.any():
        rows = ctx.rows.filter(bad).to_list()[:5]
        ctx.report.warn(f"extra column {column!r}: {int(bad.sum())} value(s) that are not numbers read as null "
                        f"(rows {rows})")  # fmt: skip
    return parsed


def _typed_extra(values: pl.Series) -> pl.Series:
    if values.dtype == pl.Boolean:
        return values
    if values.dtype.is_integer():
        return values.cast(pl.Int64)
    if values.dtype.is_numeric():
        return values.cast(pl.Float64)
    return clean_text(values).cast(pl.Categorical)


def drop_outcome_proxies(
    extras: dict[str, tuple[str, pl.Series]], core: dict[str, pl.Series], spec: CohortSpec, report: IngestReport
) -> dict[str, tuple[str, pl.Series]]:
    """Extras that restate the outcome: dropped and reported, unless the spec keeps them."""
    by_source = {source: values for source, values in extras.values()}
    found = find_outcome_proxies(by_source, core["vital_status_event"], core["survival_months"])
    report.outcome_proxies.update(found)
    kept = {c for c in found if spec.keeps_proxy(c)}
    report.outcome_proxies_kept = bool(found) and kept == set(found)
    return {name: (source, values) for name, (source, values) in extras.items() if source not in set(found) - kept}


def oncotree_extras(codes: pl.Series, report: IngestReport, taken: set[str]) -> dict[str, tuple[str, pl.Series]]:
    """Main type and tissue of the curated OncoTree table; unknown codes counted in the report."""
    known = oncotree_codes()
    present = codes.drop_nulls().cast(pl.String)
    if present.len() == 0:
        return {}
    unknown = present.filter(~present.is_in(list(known))).value_counts()
    report.unknown_cancer_codes.update(dict(unknown.iter_rows()))
    text = codes.cast(pl.String)
    out = {}
    for index, name in enumerate(("oncotree_main_type", "oncotree_tissue")):
        if name in taken:
            continue
        lookup = {code: pair[index] for code, pair in known.items()}
        values = text.replace_strict(lookup, default=None, return_dtype=pl.String).cast(pl.Categorical)
        out[name] = (name, values.alias(name))
    return out
