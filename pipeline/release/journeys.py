"""Synthetic lines of therapy in a release: split with their patients, given to the counterfactual twins,
and summarized for the manifest and the datasheet."""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.journeys.lines import DAYS_PER_MONTH
from pipeline.journeys.sampling import journey_events
from pipeline.release.tasks import (
    JOURNEY_COLUMNS,
    LINE_1_CLASS,
    LINE_1_DAYS,
    NEXT_LINE_CLASS,
    SURVIVAL_EVENT,
    SURVIVAL_TIME,
    TTNT_EVENT,
    TTNT_MONTHS,
)
from pipeline.stress.tags import EDGE_CASE, TWIN, stable_ids, tagged

TOP = 5  # regimen classes and transitions listed per cohort
RARE_SHARE = 0.02  # a sequence of regimen classes (lines 1..3) held by fewer patients with lines is rare
RARE_DEPTH = 3
MAX_RARE_CELLS, MAX_RARE_ROWS = 20, 50  # rare sequences kept as edge-case cells, test patients per cell
MIN_MONTHS = 0.5 / DAYS_PER_MONTH  # half a day: a next line or death on line 1's first day is not at time 0


def _time_to_next_treatment(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (with line 1's start, line 2's start, survival) with TTNT-or-death in months and its event:
    line 2's start, else death, else censored at last follow-up; null without a first line."""
    if not {SURVIVAL_TIME, SURVIVAL_EVENT} <= set(rows.columns):
        return rows.with_columns(pl.lit(None, pl.Float64).alias(TTNT_MONTHS), pl.lit(None, pl.Int8).alias(TTNT_EVENT))
    follow_up = pl.col(SURVIVAL_TIME).cast(pl.Float64) * DAYS_PER_MONTH
    died = pl.col(SURVIVAL_EVENT).cast(pl.Int64) == 1
    next_line = pl.col("_start_2").is_not_null()
    end = pl.when(next_line).then(pl.col("_start_2").cast(pl.Float64)).otherwise(follow_up)
    months = ((end - pl.col("_start_1")) / DAYS_PER_MONTH).clip(MIN_MONTHS)
    event = pl.when(next_line).then(pl.lit(1, pl.Int8)).otherwise(died.cast(pl.Int8))  # null: status unknown
    known = pl.col("_start_1").is_not_null() & end.is_not_null() & event.is_not_null()
    return rows.with_columns(
        pl.when(known).then(months.round(4)).alias(TTNT_MONTHS),
        pl.when(known).then(event).alias(TTNT_EVENT),
    )


def with_journey_columns(patients: pl.DataFrame, lines: pl.DataFrame | None) -> pl.DataFrame:
    """``patients`` with what the journey tasks need from their lines: the first line's regimen class and
    length in days (what a model may see), the second line's class and the time to next treatment or death
    with its event (labels, hidden from every model); null for a patient without that line. Unchanged
    without lines."""
    if lines is None or "patient_id" not in patients.columns:
        return patients
    first = lines.filter(pl.col("line") == 1).select(
        "patient_id", pl.col("regimen_class").alias(LINE_1_CLASS),
        (pl.col("end_day") - pl.col("start_day")).cast(pl.Int32).alias(LINE_1_DAYS), _start_1=pl.col("start_day"),
    )  # fmt: skip
    second = lines.filter(pl.col("line") == 2).select(
        "patient_id", pl.col("regimen_class").alias(NEXT_LINE_CLASS), _start_2=pl.col("start_day")
    )
    joined = patients.drop(JOURNEY_COLUMNS, strict=False).join(
        first.unique("patient_id", keep="first", maintain_order=True), on="patient_id", how="left",
        maintain_order="left",
    )  # fmt: skip
    joined = joined.join(second.unique("patient_id", keep="first", maintain_order=True), on="patient_id",
                         how="left", maintain_order="left")  # fmt: skip
    return _time_to_next_treatment(joined).drop("_start_1", "_start_2")


def sequences(lines: pl.DataFrame, depth: int = RARE_DEPTH) -> pl.DataFrame:
    """Per patient with lines, its sequence of regimen classes through lines 1..``depth``
    (``chemotherapy -> targeted``)."""
    first = lines.filter(pl.col("line") == 1).select("patient_id")  # a sequence starts at line 1
    return (
        lines.filter(pl.col("line") <= depth).join(first, on="patient_id", how="semi").sort("patient_id", "line")
        .group_by("patient_id", maintain_order=True)
        .agg(pl.col("regimen_class").fill_null("unknown").str.join(" -> ").alias("sequence"))
    )  # fmt: skip


def rare_journeys(
    lines: pl.DataFrame, test: pl.DataFrame, stress_columns: list[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Edge cases of rare treatment sequences: the test patients whose sequence of regimen classes (lines
    1..3) fewer than :data:`RARE_SHARE` of the synthetic patients with lines share, repeated under new ids
    and tagged ``edge_case`` with the cell ``journey: <sequence>`` (the rarest :data:`MAX_RARE_CELLS`
    sequences, :data:`MAX_RARE_ROWS` patients each), and their lines under those ids. A model trained on
    the train split has seen none of them; the stress cells then say how it does on rare journeys."""
    paths = sequences(lines)
    counts = paths.group_by("sequence").len()
    in_test = paths.join(test.select("patient_id"), on="patient_id", how="semi")  # cells the test split can fill
    rare = counts.filter(pl.col("len") < RARE_SHARE * paths.height).join(in_test.select("sequence").unique(),
                                                                          on="sequence", how="semi")  # fmt: skip
    rare = rare.sort("len", "sequence").head(MAX_RARE_CELLS)
    chosen = (
        in_test.filter(pl.col("sequence").is_in(rare["sequence"].implode()))
        .sort("sequence", "patient_id").group_by("sequence", maintain_order=True).head(MAX_RARE_ROWS)
    )  # fmt: skip
    if chosen.is_empty():
        return test.clear(), lines.clear()
    chosen = chosen.with_columns(new_id=stable_ids(chosen["patient_id"], "rare-journey"))
    rows = test.join(chosen, on="patient_id", how="inner", maintain_order="right")
    cases = tagged(rows.drop("patient_id").rename({"new_id": "patient_id"}), stress_type=EDGE_CASE,
                   stress_cell=pl.concat_str(pl.lit("journey: "), pl.col("sequence"))).drop("sequence")  # fmt: skip
    case_lines = lines.join(chosen.select("patient_id", "new_id"), on="patient_id", how="inner")
    case_lines = case_lines.drop("patient_id").rename({"new_id": "patient_id"}).select(lines.columns)
    return cases.select(stress_columns or cases.columns), case_lines.sort("patient_id", "line")


def journey_parts(
    lines: pl.DataFrame | None, train: pl.DataFrame, test: pl.DataFrame, stress_suite: pl.DataFrame | None = None
) -> dict[str, pl.DataFrame]:
    """The synthetic lines of therapy split with their patients (``lines_train``, ``lines_test``), so a
    model trained on the train split never sees a test patient's journey, their events (``events_train``,
    ``events_test``: one treatment event per agent of a line, and the patient's death or last contact),
    and ``lines_stress_suite``: each
    counterfactual twin carries its base patient's lines under its own id (the clinical picture, journey
    included, is what a twin holds fixed), and the stress suite gains the rare journeys as edge cases
    (:func:`rare_journeys`), returned as ``stress_suite``. None without journeys."""
    if lines is None or lines.is_empty():
        return {}
    parts = {f"lines_{name}": lines.filter(pl.col("patient_id").is_in(part["patient_id"].implode()))
             for name, part in (("train", train), ("test", test))}  # fmt: skip
    for name, part in (("train", train), ("test", test)):  # each patient's treatments and death or last contact
        parts[f"events_{name}"] = journey_events(parts[f"lines_{name}"], part)
    given = [lines.clear()]
    if stress_suite is not None and {"base_patient_id", "stress_type"} <= set(stress_suite.columns):
        twins = stress_suite.filter(pl.col("stress_type") == TWIN).select(
            "patient_id", base=pl.col("base_patient_id").cast(pl.String)
        )
        given.append(twins.join(lines.rename({"patient_id": "base"}), on="base", how="inner").drop("base"))
        cases, case_lines = rare_journeys(lines, test, stress_suite.columns)
        if cases.height:
            parts["stress_suite"] = pl.concat([stress_suite, cases.cast(dict(stress_suite.schema))])
            given.append(case_lines)
    stress_lines = pl.concat([g.select(lines.columns) for g in given])
    if stress_lines.height:  # none without twins or rare journeys
        parts["lines_stress_suite"] = stress_lines.sort("patient_id", "line")
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
