"""Read a harmonized cohort back from a file, typed as the schema says, or say exactly why not.

Every CLI stage after ``ingest`` takes its cohorts through :func:`read_harmonized`, so a CSV
round trip (``sex`` as plain text) is cast back to the schema's enums, and a file that is not a
harmonized cohort (text survival, unknown categories, missing outcome) is refused with every
problem listed at once.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.cohorts.load import read_table
from pipeline.errors import CohortDataError
from pipeline.schema import CORE_BY_NAME

OUTCOME_COLUMNS = ("survival_months", "vital_status_event")
MAX_LISTED = 5


def _cast_problem(frame: pl.DataFrame, column: str, dtype: pl.DataType) -> str | None:
    """Why ``column`` cannot be cast to ``dtype`` (first bad row and value), or None."""
    values = frame.get_column(column)
    if values.dtype == dtype:
        return None
    cast = values.cast(dtype, strict=False)
    bad = values.is_not_null() & cast.is_null()
    if isinstance(dtype, pl.Enum):
        text = values.cast(pl.String)
        bad = text.is_not_null() & ~text.is_in(list(dtype.categories))
    if not bad.any():
        return None
    rows = bad.arg_true()
    unknown = values.filter(bad).cast(pl.String).unique(maintain_order=True).head(MAX_LISTED).to_list()
    allowed = f"; allowed: {list(dtype.categories)}" if isinstance(dtype, pl.Enum) else ""
    return (
        f"column {column!r}: {bad.sum()} value(s) are not {dtype} (first at row {rows[0] + 1}: "
        f"{values[int(rows[0])]!r}; values {unknown}){allowed}"
    )


def read_harmonized(path: Path, *, role: str) -> pl.DataFrame:
    """The harmonized cohort in ``path`` (Parquet/CSV/TSV), with schema columns cast to their dtypes.

    ``role`` names the file in errors (e.g. "real cohort", "synthetic cohort").
    """
    frame = read_table(Path(path))
    problems = [f"column {c!r} is missing (required outcome)" for c in OUTCOME_COLUMNS if c not in frame.columns]
    if frame.is_empty():
        problems.append("it has no rows")
    casts = {}
    for name in frame.columns:
        column = CORE_BY_NAME.get(name)
        if column is None:
            continue
        problem = _cast_problem(frame, name, column.dtype)
        if problem:
            problems.append(problem)
        else:
            casts[name] = column.dtype
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise CohortDataError(f"the {role} is not a harmonized cohort ({len(problems)} problem(s)):\n{listed}",
                              file=str(path))  # fmt: skip
    return frame.cast(casts)
