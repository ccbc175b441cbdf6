"""Line-of-therapy tables read back from files, typed as ``LINE_SCHEMA``, or refused naming the file and column."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.cohorts.load import read_table
from pipeline.errors import CohortDataError
from pipeline.journeys.schema import LINE_SCHEMA

REQUIRED = ("patient_id", "line", "regimen", "regimen_class", "start_day", "end_day")


def check_lines(frame: pl.DataFrame, *, file: str) -> pl.DataFrame:
    """``frame`` as a line table: the required columns present and castable, the others filled."""
    for column in REQUIRED:
        if column not in frame.columns:
            raise CohortDataError(f"the line table has no such column (needs {', '.join(REQUIRED)})", file=file,
                                  column=column)  # fmt: skip
    typed = []
    for name, dtype in LINE_SCHEMA.items():
        if name not in frame.columns:
            typed.append(pl.lit(None, dtype).alias(name))
            continue
        cast = frame[name].cast(dtype, strict=False)
        bad = frame[name].is_not_null() & cast.is_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            raise CohortDataError(f"not {dtype}", file=file, column=name, row=row + 1, value=frame[name][row])
        if name in REQUIRED[:2] + REQUIRED[4:] and cast.null_count():
            row = int(cast.is_null().arg_true()[0])
            raise CohortDataError("missing value", file=file, column=name, row=row + 1)
        typed.append(cast.alias(name))
    return frame.select(typed)


def read_lines(path: Path | str) -> pl.DataFrame:
    """The line table in ``path`` (Parquet/CSV/TSV), e.g. ``<stem>.lines.parquet`` from ``oncobench ingest``."""
    return check_lines(read_table(Path(path)), file=str(path))
