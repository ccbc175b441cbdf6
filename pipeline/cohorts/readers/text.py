"""Tab- or comma-separated text as published: cBioPortal headers, trailing tabs, blank lines.

``read_text_table`` returns every cell as text (or null for an empty cell), plus a
``__row`` column with the 1-based data row, so later errors can name the row of the file.
Defects that lose nothing (trailing tabs, blank lines, Windows line ends, a byte-order mark)
are recorded as warnings; defects that would shift or lose values are errors.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.cohorts.quarantine import MAX_QUARANTINED_SHARE
from pipeline.cohorts.report import IngestReport
from pipeline.errors import CohortDataError
from pipeline.vocabularies import missing_tokens

ROW = "__row"
CLINICAL_TYPES = ("STRING", "NUMBER", "BOOLEAN")
_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}


@dataclass(frozen=True)
class Header:
    """The column names and, for cBioPortal files, the declared datatypes."""

    names: list[str]
    types: list[str] | None  # None: no '#' datatype line
    n_meta_lines: int


def read_lines(path: Path) -> list[str]:
    """The file's lines (any line ending, BOM removed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise CohortDataError(f"cannot read: {exc}", file=str(path)) from exc
    if not text.strip():
        raise CohortDataError("the file is empty", file=str(path))
    return text.splitlines()


def _fields(line: str, separator: str) -> list[str]:
    if separator == "\t":
        return line.split("\t")
    return next(csv.reader([line], delimiter=separator))


def _trim(fields: list[str]) -> list[str]:
    end = len(fields)
    while end and not fields[end - 1].strip():
        end -= 1
    return fields[:end]


def parse_header(lines: list[str], path: Path, report: IngestReport | None) -> Header:
    """Leading '#' metadata lines (0, 4, or another count with a warning) and the header row."""
    k = 0
    while k < len(lines) and lines[k].startswith("#"):
        k += 1
    while k < len(lines) and not lines[k].strip():  # blank lines before the header
        k += 1
    if k >= len(lines):
        raise CohortDataError("unparseable cBioPortal header: no header row after the '#' lines", file=str(path))
    raw_names = lines[k].split("\t")
    names = _trim(raw_names)
    meta = [_trim(line.lstrip("#").split("\t")) for line in lines[:k] if line.startswith("#")]
    if len(raw_names) > len(names) and report is not None:
        report.warn(f"{path.name}: header row ends with {len(raw_names) - len(names)} empty field(s) (trailing tabs)")
    if not meta:
        return Header(names, None, 0)
    for number, fields in enumerate(meta, start=1):
        if len(fields) > len(names):
            raise CohortDataError(
                f"unparseable cBioPortal header: metadata line {number} has {len(fields)} "
                f"fields but the header row has {len(names)}",
                file=str(path),
            )
    type_line = next(
        (i for i, f in enumerate(meta) if f and all(t.strip().upper() in CLINICAL_TYPES for t in f)),
        2 if len(meta) >= 3 else None,
    )
    if type_line is None:
        raise CohortDataError(
            f"unparseable cBioPortal header: {len(meta)} '#' line(s) and no datatype line "
            f"(expected four '#' metadata lines, then the header row)",
            file=str(path),
        )
    for number, fields in enumerate(meta, start=1):
        if len(fields) != len(names) and number - 1 in (0, type_line):
            raise CohortDataError(
                f"unparseable cBioPortal header: metadata line {number} has {len(fields)} "
                f"fields but the header row has {len(names)}",
                file=str(path),
            )
    types = [t.strip().upper() for t in meta[type_line]]
    for column, kind in zip(names, types, strict=True):
        if kind not in CLINICAL_TYPES:
            raise CohortDataError(
                f"unparseable cBioPortal header: datatype (line {type_line + 1}) must be one of "
                f"{sorted(CLINICAL_TYPES)}",
                file=str(path),
                column=column,
                value=kind,
            )
    if len(meta) != 4 and report is not None:
        legacy = any(f and all(v.strip().upper() in ("PATIENT", "SAMPLE") for v in f) for f in meta)
        note = " (the legacy single-file layout with a PATIENT/SAMPLE line)" if legacy else ""
        report.warn(
            f"{path.name}: {len(meta)} '#' metadata lines instead of 4{note}; datatypes read from line {type_line + 1}"
        )
    return Header(names, types, k)


def read_text_table(
    path: Path,
    *,
    report: IngestReport | None = None,
    separator: str = "\t",
    cbioportal_header: bool = True,
) -> tuple[pl.DataFrame, Header]:
    """All cells as text (empty -> null) plus ``__row``; defects warned or refused (module docstring)."""
    lines = read_lines(path)
    if cbioportal_header:
        header = parse_header(lines, path, report)
    else:
        header = Header(_trim(_fields(lines[0], separator)), None, 0)
    names = header.names
    if any(not n.strip() for n in names):
        raise CohortDataError(
            f"empty column name at position {[i + 1 for i, n in enumerate(names) if not n.strip()]}", file=str(path)
        )
    if len(set(names)) != len(names):
        dupes = sorted({c for c in names if names.count(c) > 1})
        raise CohortDataError(f"duplicate header columns {dupes}", file=str(path))
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    blank: list[int] = []
    trailing = 0
    for number, line in enumerate(lines[header.n_meta_lines + 1 :], start=1):
        if not line.strip():
            blank.append(number)
            continue
        fields = _fields(line, separator)
        if len(fields) > len(names):
            if any(f.strip() for f in fields[len(names) :]):
                raise CohortDataError(
                    f"ragged row: {len(fields)} fields but the header has {len(names)} columns",
                    file=str(path),
                    row=number,
                )
            trailing += 1
            fields = fields[: len(names)]
        elif len(fields) < len(names):
            raise CohortDataError(
                f"ragged row: {len(fields)} fields but the header has {len(names)} columns",
                file=str(path),
                row=number,
            )
        rows.append([f.strip() or None for f in fields])
        numbers.append(number)
    if not rows:
        raise CohortDataError("the file has a header but no data rows", file=str(path))
    if report is not None:
        if blank:
            where = "the last line" if blank == [numbers[-1] + 1] or blank[0] > numbers[-1] else f"rows {blank[:5]}"
            report.warn(f"{path.name}: {len(blank)} blank line(s) ignored ({where})")
        if trailing:
            report.warn(f"{path.name}: {trailing} row(s) end with empty fields (trailing tabs)")
    columns = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    frame = pl.DataFrame(columns, schema={n: pl.String for n in names}).with_columns(
        pl.Series(ROW, numbers, dtype=pl.Int64)
    )
    return frame, header


def null_missing(values: pl.Series) -> tuple[pl.Series, dict[str, int]]:
    """Missing-value tokens -> null, with the count of each token seen (blank cells not counted)."""
    text = values.cast(pl.String).str.strip_chars()
    lowered = text.str.to_lowercase().str.replace_all(r"\s+", " ")
    is_token = lowered.is_in(sorted(missing_tokens())).fill_null(False)
    counts = {}
    if is_token.any():
        found = text.filter(is_token & (text != "")).value_counts()
        counts = dict(zip(found[found.columns[0]].to_list(), found["count"].to_list(), strict=True))
    cleaned = pl.select(pl.when(is_token).then(None).otherwise(text)).to_series().alias(values.name)
    return cleaned, counts


def type_columns(
    frame: pl.DataFrame,
    types: dict[str, str],
    *,
    path: Path,
    report: IngestReport | None,
) -> pl.DataFrame:
    """Cast NUMBER / BOOLEAN columns; every value that fails, in every column, in one error.

    A column where only a few values fail (at most :data:`MAX_QUARANTINED_SHARE`) is a defect of
    those rows, not of the file: it stays text, with a warning, and the rows are quarantined (or
    their values read as null for an extra column) when the cohort is harmonized.
    """
    problems: list[tuple[str, int, str]] = []
    typed = []
    for column, kind in types.items():
        if kind == "STRING" or column not in frame.columns:
            continue
        values, counts = null_missing(frame.get_column(column))
        if report is not None:
            report.count_missing(column, counts)
        if kind == "NUMBER":
            parsed = values.cast(pl.Float64, strict=False)
        else:
            lowered = values.str.to_lowercase()
            parsed = pl.select(
                pl.when(lowered.is_in(list(_TRUE))).then(True).when(lowered.is_in(list(_FALSE))).then(False)
            ).to_series()
        bad = values.is_not_null() & parsed.is_null()
        if (
            bad.any()
            and kind == "NUMBER"
            and report is not None
            and bad.sum() <= MAX_QUARANTINED_SHARE * (values.is_not_null().sum())
        ):
            report.declared_numbers.add(column)
            report.warn(f"{path.name}: {_describe_bad(frame, column, values, bad, kind)[0]}: read as text; "
                        "the rows are quarantined where the column is used")  # fmt: skip
            typed.append(values.alias(column))
            continue
        if bad.any():
            problems.append(_describe_bad(frame, column, values, bad, kind))
        typed.append(parsed.alias(column))
    if problems:
        message, row, value = problems[0]
        column = message.split("'")[1]
        detail = "\n  ".join(p[0] for p in problems)
        raise CohortDataError(
            f"wrong type: the header declares {types[column]}; typed columns holding other values:\n  {detail}",
            file=str(path),
            column=column,
            row=row,
            value=value,
        )
    return frame.with_columns(typed)


def _describe_bad(
    frame: pl.DataFrame, column: str, values: pl.Series, bad: pl.Series, kind: str
) -> tuple[str, int, str]:
    first = bad.arg_true()[0]
    counts = values.filter(bad).value_counts(sort=True)
    listing = ", ".join(f"{v!r} x{n}" for v, n in counts.iter_rows())
    row = int(frame[ROW][first])
    return f"'{column}' ({kind}): {listing}; first at row {row}", row, values[first]


def infer_numbers(frame: pl.DataFrame, *, keep_text: set[str], report: IngestReport | None) -> pl.DataFrame:
    """For files without datatypes: missing tokens -> null (counted); all-numeric columns -> Float64."""
    out = []
    for column in frame.columns:
        if column == ROW:
            continue
        values, counts = null_missing(frame.get_column(column))
        if report is not None:
            report.count_missing(column, counts)
        parsed = values.cast(pl.Float64, strict=False)
        has_values = values.null_count() < values.len()
        numeric = column not in keep_text and has_values and parsed.null_count() == values.null_count()
        if numeric and not values.str.contains(r"[.eE]").any():
            parsed = values.cast(pl.Int64, strict=False)
            numeric = parsed.null_count() == values.null_count()
            parsed = parsed if numeric else values.cast(pl.Float64, strict=False)
            numeric = True
        out.append(parsed.alias(column) if numeric else values)
    return frame.with_columns(out)
