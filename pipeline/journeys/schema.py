"""The event and line tables: column names, dtypes and the event types."""

from __future__ import annotations

import polars as pl

EVENT_TYPES = ("treatment", "radiation", "surgery", "status", "progression", "diagnosis", "specimen", "lab", "other")
AGENT_CLASSES = ("chemotherapy", "targeted", "immunotherapy", "hormone", "other")

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "cohort": pl.String(),
    "start_day": pl.Int32(),  # days from diagnosis (day 0); negative before it
    "stop_day": pl.Int32(),  # null: a point event, ongoing, or not recorded
    "event_type": pl.Enum(EVENT_TYPES),
    "agent": pl.String(),  # normalized generic name (lower case); null for non-drug events
    "agent_class": pl.Enum(AGENT_CLASSES),
    "source_agent": pl.String(),  # the drug or beam name as written in the source
    "detail": pl.String(),  # what kind of status, progression, radiation, lab test (lower case)
    "numeric_value": pl.Float64(),  # a lab result, where numeric
    "indication": pl.String(),  # adjuvant, progression, recurrence, palliative, ... where given
    "source_file": pl.String(),
    "source_row": pl.Int64(),  # as the patient report names rows: file line (Biotab) or data row (cBioPortal)
}

LINE_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "cohort": pl.String(),
    "line": pl.Int32(),
    "regimen": pl.String(),  # sorted agents joined by '+'
    "regimen_class": pl.String(),  # chemotherapy, targeted, chemo+targeted, ...
    "start_day": pl.Int32(),
    "end_day": pl.Int32(),
    "time_to_next_treatment": pl.Int32(),  # days from this line's start to the next line's start
    "ended_by": pl.Enum(("next_line", "death", "censored", "unknown")),
    "rule_set": pl.String(),  # the line rules applied: "<profile>@<version>"
}


def empty_events() -> pl.DataFrame:
    """An event table with no rows."""
    return pl.DataFrame(schema=EVENT_SCHEMA)


def empty_lines() -> pl.DataFrame:
    """A line table with no rows."""
    return pl.DataFrame(schema=LINE_SCHEMA)
