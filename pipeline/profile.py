"""Cohort profiles: row counts, missingness, per-column summaries and subgroup counts."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.cohorts.proxies import proxy_by_name, proxy_by_values
from pipeline.schema import CORE_BY_NAME, IDENTITY_COLUMNS, PROTECTED_COLUMNS
from pipeline.subgroups import subgroup_labels

OUTCOME_PROXY_GROUP = "outcome_proxy"


def column_group(frame: pl.DataFrame, name: str) -> str:
    """The schema group of a column; an extra that restates the outcome is ``outcome_proxy``."""
    if name in CORE_BY_NAME:
        return CORE_BY_NAME[name].group
    if {"vital_status_event", "survival_months"} <= set(frame.columns):
        event, survival = frame.get_column("vital_status_event"), frame.get_column("survival_months")
        if proxy_by_name(name) or proxy_by_values(frame.get_column(name), event, survival):
            return OUTCOME_PROXY_GROUP
    return "extra"


def column_profiles(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per column: dtype, group, missingness, distinct values and a numeric or top-value summary.

    Extras that restate the outcome (kept on purpose by a spec) have group ``outcome_proxy``.
    """
    rows = []
    for name, dtype in frame.schema.items():
        if name in IDENTITY_COLUMNS:
            continue
        values = frame.get_column(name)
        non_null = values.drop_nulls()
        numeric = dtype.is_numeric() and non_null.len() > 0
        top = non_null.cast(pl.String).value_counts(sort=True).head(1) if not numeric else None
        rows.append(
            {
                "column": name,
                "dtype": str(dtype),
                "group": column_group(frame, name),
                "null_count": values.null_count(),
                "null_share": values.null_count() / max(frame.height, 1),
                "n_unique": non_null.n_unique(),
                "mean": float(non_null.mean()) if numeric else None,
                "std": float(non_null.std()) if numeric and non_null.len() > 1 else None,
                "min": float(non_null.min()) if numeric else None,
                "median": float(non_null.median()) if numeric else None,
                "max": float(non_null.max()) if numeric else None,
                "top_value": top[0, 0] if top is not None and top.height else None,
                "top_share": top[0, 1] / non_null.len() if top is not None and top.height else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema_overrides={c: pl.Float64 for c in ("mean", "std", "min", "median", "max", "top_share")},
    )


def subgroup_attributes(frame: pl.DataFrame, declared: Sequence[str]) -> list[str]:
    """Declared protected attributes plus every core protected column with data (numbers are banded)."""
    core = [c for c in PROTECTED_COLUMNS if c in frame.columns and frame.get_column(c).null_count() < frame.height]
    return list(dict.fromkeys([*(c for c in declared if c in frame.columns), *core]))


def subgroup_counts(frame: pl.DataFrame, attributes: Sequence[str]) -> pl.DataFrame:
    """Patients per subgroup of each attribute (``subgroup_labels``; null counted as 'missing'), with shares."""
    parts = [
        subgroup_labels(frame, a)
        .fill_null("missing")
        .alias("value")
        .to_frame()
        .group_by("value")
        .len("n")
        .with_columns(attribute=pl.lit(a), share=pl.col("n") / frame.height)
        for a in attributes
    ]
    empty = pl.DataFrame(
        schema={
            "attribute": pl.String,
            "value": pl.String,
            "n": pl.UInt32,
            "share": pl.Float64,
        }
    )
    if not parts:
        return empty
    return pl.concat(parts).select("attribute", "value", "n", "share").sort("attribute", "n", descending=[False, True])


def cohort_summary(frame: pl.DataFrame, cohort: str) -> dict[str, object]:
    """Headline numbers of a harmonized cohort."""
    core = [c for c in frame.columns if c in CORE_BY_NAME]
    return {
        "cohort": cohort,
        "n_patients": frame.height,
        "n_columns": frame.width,
        "n_extra_columns": frame.width - len(core),
        "n_events": int(frame.get_column("vital_status_event").sum()),
        "median_follow_up_months": float(frame.get_column("survival_months").median()),
    }
