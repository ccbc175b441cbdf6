"""What a journey is conditioned on and bounded by: a patient's cancer, stage and follow-up in days."""

from __future__ import annotations

import polars as pl

from pipeline.journeys.lines import DAYS_PER_MONTH

UNKNOWN = "(unknown)"
BASELINE_COLUMNS = ("patient_id", "cancer", "stage", "follow_up", "event")


def _column(patients: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in patients.columns else pl.lit(None, dtype)


def baseline(patients: pl.DataFrame) -> pl.DataFrame:
    """One row per patient: ``cancer`` and ``stage`` (text, ``(unknown)`` when missing), ``follow_up``
    (survival in days, rounded as lines of therapy round it; null when unknown) and ``event`` (0/1/null)."""
    return patients.select(
        pl.col("patient_id").cast(pl.String),
        _column(patients, "primary_cancer_condition", pl.String()).fill_null(UNKNOWN).alias("cancer"),
        _column(patients, "cancer_stage_group", pl.String()).fill_null(UNKNOWN).alias("stage"),
        (_column(patients, "survival_months", pl.Float64()) * DAYS_PER_MONTH).round().cast(pl.Int64).alias("follow_up"),
        _column(patients, "vital_status_event", pl.Int8()).alias("event"),
    )
