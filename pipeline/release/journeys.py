"""Synthetic lines of therapy in a release: split with their patients, given to the counterfactual twins,
and summarized for the manifest and the datasheet."""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.release.tasks import JOURNEY_COLUMNS, LINE_1_CLASS, LINE_1_DAYS, NEXT_LINE_CLASS
from pipeline.stress.tags import TWIN

TOP = 5  # regimen classes and transitions listed per cohort


def with_journey_columns(patients: pl.DataFrame, lines: pl.DataFrame | None) -> pl.DataFrame:
    """``patients`` with what the journey task needs from their lines: the first line's regimen class and
    length in days (what a model may see) and the second line's class (the label, hidden from every model);
    null for a patient without that line. Unchanged without lines."""
    if lines is None or "patient_id" not in patients.columns:
        return patients
    first = lines.filter(pl.col("line") == 1).select(
        "patient_id", pl.col("regimen_class").alias(LINE_1_CLASS),
        (pl.col("end_day") - pl.col("start_day")).cast(pl.Int32).alias(LINE_1_DAYS),
    )  # fmt: skip
    second = lines.filter(pl.col("line") == 2).select("patient_id", pl.col("regimen_class").alias(NEXT_LINE_CLASS))
    joined = patients.drop(JOURNEY_COLUMNS, strict=False).join(
        first.unique("patient_id", keep="first", maintain_order=True), on="patient_id", how="left",
        maintain_order="left",
    )  # fmt: skip
    return joined.join(second.unique("patient_id", keep="first", maintain_order=True), on="patient_id", how="left",
                       maintain_order="left")  # fmt: skip


def journey_parts(
    lines: pl.DataFrame | None, train: pl.DataFrame, test: pl.DataFrame, stress_suite: pl.DataFrame | None = None
) -> dict[str, pl.DataFrame]:
    """The synthetic lines of therapy split with their patients (``lines_train``, ``lines_test``), so a
    model trained on the train split never sees a test patient's journey, and ``lines_stress_suite``: each
    counterfactual twin carries its base patient's lines under its own id (the clinical picture, journey
    included, is what a twin holds fixed). None without journeys."""
    if lines is None or lines.is_empty():
        return {}
    parts = {f"lines_{name}": lines.filter(pl.col("patient_id").is_in(part["patient_id"].implode()))
             for name, part in (("train", train), ("test", test))}  # fmt: skip
    if stress_suite is not None and {"base_patient_id", "stress_type"} <= set(stress_suite.columns):
        twins = stress_suite.filter(pl.col("stress_type") == TWIN).select(
            "patient_id", base=pl.col("base_patient_id").cast(pl.String)
        )
        given = twins.join(lines.rename({"patient_id": "base"}), on="base", how="inner").drop("base")
        if given.height:  # none without twins
            parts["lines_stress_suite"] = given.select(lines.columns).sort("patient_id", "line")
    return parts


def _shares(column: pl.Series) -> dict[str, float]:
    """The ``TOP`` most frequent values and their shares (ties in value order, so releases are reproducible)."""
    counts = column.fill_null("unknown").cast(pl.String).value_counts(name="n")
    counts = counts.sort(["n", column.name], descending=[True, False]).head(TOP)
    return {str(k): round(v / column.len(), 3) for k, v in counts.iter_rows()}


def journey_summary(lines: pl.DataFrame | None, patients: int) -> dict[str, Any] | None:
    """What the datasheet says of a cohort's synthetic journeys: patients with lines, lines per patient,
    the line-1 regimen classes, the most frequent line 1 -> 2 transitions and the median time to next
    treatment per line (days); None without journeys."""
    if lines is None or lines.is_empty():
        return None
    per_patient = lines.group_by("patient_id").agg(pl.col("line").max().alias("lines"))
    bands = per_patient["lines"].cut([1, 2], labels=["1", "2", "3+"]).cast(pl.String)
    first = lines.filter(pl.col("line") == 1)
    pairs = first.join(lines.filter(pl.col("line") == 2), on="patient_id", suffix="_next")
    arrow = pl.concat_str(
        pl.col("regimen_class").fill_null("unknown"), pl.lit(" -> "), pl.col("regimen_class_next").fill_null("unknown")
    )  # fmt: skip
    transitions = pairs.select(arrow.alias("transition"))["transition"]
    ttnt = lines.filter(pl.col("time_to_next_treatment").is_not_null() & (pl.col("line") <= 3))
    medians = ttnt.group_by("line").agg(pl.col("time_to_next_treatment").median()).sort("line")
    rule_sets = lines["rule_set"].drop_nulls()
    return {
        "patients": patients,
        "patients_with_lines": per_patient.height,
        "lines": lines.height,
        "lines_per_patient": {band: round(share, 3) for band, share in _shares(bands).items()},
        "line_1_classes": _shares(first["regimen_class"]),
        "line_1_to_2": {k: round(v * pairs.height / max(first.height, 1), 3) for k, v in _shares(transitions).items()},
        "median_days_to_next_treatment": {str(line): float(days) for line, days in medians.iter_rows()},
        "rule_set": rule_sets.mode().sort().first() if rule_sets.len() else None,
    }
