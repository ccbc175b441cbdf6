"""Raw source frame + cohort spec -> one typed row per patient in the harmonized schema.

Steps, in order: missing-value tokens become null (counted); the spec's filter (rows removed
counted); identifier and date columns are dropped (cBioPortal studies) or refused all at once
(tables); source ids are salted and hashed; every schema column is mapped through its
vocabulary, and labels that are still unknown become null (``Other`` for a protected
attribute that has it) and are reported; rows with a defect (empty or conflicting id, a value
beyond the schema's limits, an unparseable or non-finite number) are quarantined; patients
without overall survival are left out and counted; outcome proxies are dropped unless the spec
keeps them; the remaining source columns become typed extras.

A study is refused (:class:`CohortDataError` naming the file, the column and, where it applies,
the (1-based) data row and the offending value) only for structural defects: a missing
required column, more than a fifth of its rows quarantined, no patient with survival, a cohort
in which every patient died or none did; with ``strict``, for any defective row or unknown
label too. Nothing is written here. Values are
typed in :mod:`pipeline.cohorts.coerce`; the leftover source columns become extras in
:mod:`pipeline.cohorts.extras`.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from pipeline.cohorts.coerce import Context, coerce, unknown_values_error
from pipeline.cohorts.dates import durations_as_days, with_dates
from pipeline.cohorts.extras import drop_outcome_proxies, extra_columns, oncotree_extras
from pipeline.cohorts.identifiers import find_identifier_columns, hash_patient_ids
from pipeline.cohorts.left_out import check_left_out
from pipeline.cohorts.readers.cbioportal import header_key
from pipeline.cohorts.readers.text import ROW as READER_ROW
from pipeline.cohorts.readers.text import null_missing
from pipeline.cohorts.report import IngestReport
from pipeline.cohorts.spec import SURVIVAL_UNITS_TO_MONTHS, CohortSpec, looks_like_column
from pipeline.cohorts.vocabulary import msisensor_cutoffs, normalize_label, vocabulary
from pipeline.errors import CohortDataError, IdentifierColumnError
from pipeline.schema import CORE_COLUMNS, Column

ROW = "__source_row"
MSI_SCORE_COLUMNS = ("MSI_SCORE", "msi_score", "MSISENSOR_SCORE")
CANCER_NAME_COLUMNS = ("CANCER_TYPE_DETAILED", "CANCER_TYPE")  # free text: known names only
Identifiers = Literal["refuse", "drop"]
MIN_TWIN_VALUES = 8  # rows agreeing on at least this many known values may be one patient


def harmonize(
    raw: pl.DataFrame,
    spec: CohortSpec,
    *,
    cohort: str,
    source: str,
    salt: str,
    report: IngestReport | None = None,
    identifiers: Identifiers = "refuse",
    strict: bool = False,
) -> pl.DataFrame:
    """Map ``raw`` onto the harmonized schema; ``source`` names the file in errors and the report."""
    report = report if report is not None else IngestReport(source=source)
    if raw.height == 0:
        raise CohortDataError("the source has no data rows", file=source)
    frame = raw.rename({READER_ROW: ROW}) if READER_ROW in raw.columns else raw.with_row_index(ROW, offset=1)
    frame = _null_tokens(frame, spec, report)
    n_read = frame.height
    frame = _apply_filter(frame, spec, source)
    report.n_filtered_out = n_read - frame.height
    report.n_source_patients = frame.height
    ctx = Context(file=source, rows=frame.get_column(ROW).cast(pl.Int64), report=report)
    mapped = _mapped_source_columns(frame, spec)
    full = frame  # spec expressions read the source before identifier and date columns are dropped
    frame = _handle_identifiers(frame, spec, source, report, identifiers, keep={*mapped, spec.id_column})

    source_ids = _source_ids(frame, spec, ctx)
    core: dict[str, pl.Series] = {
        "patient_id": hash_patient_ids(source_ids, cohort=cohort, salt=salt),
        "cohort": pl.Series("cohort", [cohort] * frame.height, dtype=pl.String),
    }
    consumed = {spec.id_column, ROW, *spec.drop}
    for column in CORE_COLUMNS:
        if column.name in core:
            continue
        values, source_columns = _evaluate(frame, full, column, spec, ctx)
        consumed.update(source_columns)
        label = "|".join(source_columns) or column.name
        values = coerce(values, column, spec.values.get(column.name), ctx, label)
        if column.name == "msi_status":
            values = _msi_from_score(values, frame, spec)
        if column.name == "primary_cancer_condition":
            values = _cancer_from_names(values, frame, spec)
        if column.name == "survival_months":
            values = values * SURVIVAL_UNITS_TO_MONTHS[spec.survival_unit]
        core[column.name] = values.alias(column.name)
        if column.name not in ("patient_id", "cohort"):
            _check_limits(core[column.name], column, ctx, label)
    if ctx.unknown and strict:
        raise unknown_values_error(ctx)
    report.record_unknown_labels(ctx.unknown)
    ctx.quarantine.refuse_if_too_many(frame.height, strict=strict)

    with_survival = _rows_with_survival(core, spec, ctx)
    keep = with_survival & ~ctx.quarantine.mask
    report.record_quarantine(ctx.quarantine)
    check_left_out(core, keep, report, file=source)
    if not keep.all():
        frame, core = frame.filter(keep), {name: values.filter(keep) for name, values in core.items()}
        ctx = Context(file=source, rows=ctx.rows.filter(keep), report=report)

    extras = extra_columns(frame, spec, consumed, ctx) if spec.keep_extras else {}
    extras = drop_outcome_proxies(extras, core, spec, report)
    extras.update(oncotree_extras(core["primary_cancer_condition"], report, taken=set(extras)))
    report.n_patients = frame.height
    harmonized = pl.DataFrame({**core, **{name: series for name, (_, series) in extras.items()}})
    _warn_same_patient_twice(harmonized, ctx)
    return harmonized


def _warn_same_patient_twice(frame: pl.DataFrame, ctx: Context) -> None:
    """Warn when rows under different ids agree on everything, a fractional survival time included."""
    values = frame.drop("patient_id", "cohort")
    measured = values.select(pl.sum_horizontal(pl.all().is_not_null()).alias("n"))["n"] >= MIN_TWIN_VALUES
    fractional = (frame["survival_months"] != frame["survival_months"].round(0)).fill_null(False)
    twice = values.is_duplicated() & measured & fractional
    if twice.any():
        rows = ctx.rows.filter(twice).to_list()
        ctx.report.warn(f"{len(rows)} rows under different patient ids agree on every value, survival time "
                        f"included (rows {rows[:10]}): possibly one patient listed under two ids")  # fmt: skip


def _null_tokens(frame: pl.DataFrame, spec: CohortSpec, report: IngestReport) -> pl.DataFrame:
    """Missing-value tokens of every text column -> null, counted per column."""
    cleaned = []
    for name, dtype in frame.schema.items():
        if name in (ROW, spec.id_column) or not (dtype == pl.String or isinstance(dtype, pl.Categorical)):
            continue
        values, counts = null_missing(frame.get_column(name))
        report.count_missing(name, counts)
        cleaned.append(values)
    return frame.with_columns(cleaned) if cleaned else frame


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


def _mapped_source_columns(frame: pl.DataFrame, spec: CohortSpec) -> set[str]:
    """Source columns a schema column is mapped from by name (never identifiers by intent)."""
    used = set()
    for column in CORE_COLUMNS:
        mapping = spec.columns.get(column.name, column.name)
        candidates = mapping if isinstance(mapping, list) else [mapping]
        used.update(_present(frame, [c for c in candidates if isinstance(c, str)]))
    return used


def _present(frame: pl.DataFrame, candidates: list[str]) -> list[str]:
    """The source columns the candidates name, exactly or ignoring case, blanks and punctuation."""
    by_key: dict[str, str] = {}
    for name in frame.columns:
        by_key.setdefault(header_key(name), name)
    found = [c if c in frame.columns else by_key.get(header_key(c)) for c in candidates]
    return list(dict.fromkeys(c for c in found if c is not None and c != ROW))


def _handle_identifiers(
    frame: pl.DataFrame,
    spec: CohortSpec,
    source: str,
    report: IngestReport,
    identifiers: Identifiers,
    keep: set[str],
) -> pl.DataFrame:
    dropped_by_spec = [c for c in spec.drop if c in frame.columns]
    for column in dropped_by_spec:
        report.dropped_identifiers.setdefault(column, "dropped by the spec")
    found = find_identifier_columns(frame, ignore={*keep, ROW, *spec.drop})
    if found and identifiers == "refuse" and not spec.drop_identifiers:
        listing = ", ".join(f"{c!r} ({kind})" for c, kind in found.items())
        raise IdentifierColumnError(
            f"columns that look like identifiers or dates: {listing}. They never enter the harmonized "
            "table; list them under 'drop:' in the spec (or pass --drop-identifiers) to discard them",
            file=source,
            column=next(iter(found)),
        )
    report.dropped_identifiers.update(found)
    return frame.drop([*found, *dropped_by_spec])


def _source_ids(frame: pl.DataFrame, spec: CohortSpec, ctx: Context) -> pl.Series:
    """The source ids; empty ones are quarantined, and so is every row of an id listed more than once.

    Rows that repeat a patient exactly are one patient: the repeats are quarantined and the
    first is kept. Rows that disagree cannot be told apart: all of them are quarantined.
    """
    if spec.id_column not in frame.columns:
        raise CohortDataError(
            "missing required patient id column (set 'id_column' in the spec)",
            file=ctx.file,
            column=spec.id_column,
        )
    ids = frame.get_column(spec.id_column).cast(pl.String).str.strip_chars()
    ctx.quarantine.add(ids.is_null() | (ids == ""), ids, spec.id_column, "patient id is empty")
    duplicated = ids.is_duplicated() & ids.is_not_null() & (ids != "")
    if duplicated.any():
        content = frame.drop(ROW)
        clashing = ids.filter(duplicated & ~content.is_duplicated()).unique().implode()
        clash = duplicated & ids.is_in(clashing)
        rule = "patient id listed more than once with different values (all its rows left out)"
        ctx.quarantine.add(clash, ids, spec.id_column, rule)
        first = content.select(pl.struct(pl.all()).is_first_distinct()).to_series()
        repeat = duplicated & ~clash & ~first
        ctx.quarantine.add(repeat, ids, spec.id_column, "the same patient repeated row for row (first row kept)")
    return ids


def _evaluate(
    frame: pl.DataFrame, full: pl.DataFrame, column: Column, spec: CohortSpec, ctx: Context
) -> tuple[pl.Series, list[str]]:
    """The source values for one schema column, and the plain source columns they came from.

    A list of candidate columns takes, row by row, the first non-null value among the
    candidates present in the source. An expression reads ``full``, the source with its date
    columns (parsed as dates where it names them; a difference of dates is in days).
    """
    mapping = spec.columns.get(column.name)
    if mapping is None and column.name in frame.columns:
        mapping = column.name
    candidates = mapping if isinstance(mapping, list) else [mapping] if mapping else []
    present = _present(frame, [c for c in candidates if c in frame.columns or looks_like_column(c)])
    if not present and isinstance(mapping, list) and column.name in frame.columns:
        present = [column.name]  # default candidates absent: the schema-named column
    if present:
        return _first_non_null(frame, present).alias(column.name), present
    if isinstance(mapping, str) and not looks_like_column(mapping):
        try:
            # with_columns broadcasts literals such as "'COAD'" to every row
            evaluated = with_dates(full, mapping).with_columns(pl.sql_expr(mapping).alias("__value"))
            return durations_as_days(evaluated.get_column("__value")).alias(column.name), []
        except Exception as exc:
            raise CohortDataError(f"cannot evaluate {mapping!r}: {exc}", file=ctx.file, column=column.name) from exc
    if column.required or isinstance(mapping, str):
        looked_for = candidates or [column.name]
        raise CohortDataError(
            f"missing required column (schema column {column.name!r}; looked for {looked_for})",
            file=ctx.file,
            column=looked_for[0],
        )
    return pl.Series(column.name, [None] * frame.height, dtype=pl.String), []


def _first_non_null(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    if len(columns) == 1:
        return frame.get_column(columns[0])
    numeric = all(frame.schema[c].is_numeric() for c in columns)
    target = pl.Float64 if numeric else pl.String
    return frame.select(pl.coalesce(pl.col(c).cast(target) for c in columns)).to_series()


def _msi_from_score(status: pl.Series, frame: pl.DataFrame, spec: CohortSpec) -> pl.Series:
    """Fill a missing MSI label from the MSIsensor score with the documented cut-offs."""
    if "msi_status" in spec.columns and not isinstance(spec.columns["msi_status"], list):
        return status
    score_column = next((c for c in MSI_SCORE_COLUMNS if c in frame.columns), None)
    if score_column is None:
        return status
    score = frame.get_column(score_column).cast(pl.Float64, strict=False)
    msi_h, mss = msisensor_cutoffs()
    derived = pl.select(pl.when(score >= msi_h).then(pl.lit("MSI-H")).when(score < mss).then(pl.lit("MSS"))).to_series()
    return status.fill_null(derived.cast(status.dtype))


def _cancer_from_names(codes: pl.Series, frame: pl.DataFrame, spec: CohortSpec) -> pl.Series:
    """Fill a missing code from a cancer-name column when the vocabulary knows the name."""
    if "primary_cancer_condition" in spec.columns and not isinstance(spec.columns["primary_cancer_condition"], list):
        return codes
    vocab = vocabulary("primary_cancer_condition")
    for name in (c for c in CANCER_NAME_COLUMNS if c in frame.columns):
        if not codes.is_null().any():
            break
        mapped, _ = vocab.lookup(normalize_label(frame.get_column(name).cast(pl.String)))
        codes = codes.cast(pl.String).fill_null(mapped).cast(pl.Categorical)
    return codes


def _rows_with_survival(core: dict[str, pl.Series], spec: CohortSpec, ctx: Context) -> pl.Series:
    """Rows with both survival time and event; the others are left out and counted."""
    no_time = core["survival_months"].is_null()
    no_event = core["vital_status_event"].is_null()
    missing = no_time | no_event
    if not missing.any():
        return ~missing
    no_time, no_event = no_time & ~ctx.quarantine.mask, no_event & ~ctx.quarantine.mask  # counted there
    if spec.missing_survival == "error":
        row = ctx.rows.filter(missing)[0]
        which = "survival_months" if no_time.filter(missing)[0] else "vital_status_event"
        raise CohortDataError(f"{which} is required and must not be empty", file=ctx.file, column=which, row=row)
    if (missing | ctx.quarantine.mask).all():
        raise CohortDataError(
            "no patient has both overall survival time and vital status", file=ctx.file, column="survival_months"
        )
    for reason, mask in (
        ("no overall survival time or vital status", no_time & no_event),
        ("no overall survival time", no_time & ~no_event),
        ("no vital status (overall survival event)", no_event & ~no_time),
    ):
        if mask.any():
            ctx.report.left_out[reason] = int(mask.sum())
    return ~missing


def _check_limits(values: pl.Series, column: Column, ctx: Context, label: str) -> None:
    """Quarantine the rows beyond the schema's hard limits (a negative survival, an event of 2)."""
    if column.minimum is not None:
        ctx.quarantine.add(values < column.minimum, values, label, f"{column.name} must be >= {column.minimum}")
    if column.maximum is not None:
        ctx.quarantine.add(values > column.maximum, values, label, f"{column.name} must be <= {column.maximum}")
