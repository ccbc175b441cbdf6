"""cBioPortal timelines (``data_timeline_*.txt``) -> raw event rows.

Any event type: TREATMENT rows are drugs, or radiation / surgery by their TREATMENT_TYPE (the
beam type of a radiation row is its AGENT); STATUS, PROGRESSION, SURGERY, DIAGNOSIS, SPECIMEN and
LAB_TEST rows keep what kind of event they are as ``detail`` (events.yaml). START_DATE and
STOP_DATE are days from the study's day 0 (diagnosis). Identifier columns (SAMPLE_ID) are never read.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.cohorts.readers.text import ROW, read_text_table
from pipeline.errors import CohortDataError
from pipeline.journeys.readers import TokenCounter, raw_events, text
from pipeline.journeys.vocabulary import event_vocabulary, indication_map

TIMELINE_GLOB = "data_timeline*.txt"
REQUIRED = ("PATIENT_ID", "START_DATE", "EVENT_TYPE")


def timeline_files(folder: Path) -> list[Path]:
    """The timeline files of a study folder."""
    return sorted(Path(folder).glob(TIMELINE_GLOB))


def _event_types(frame: pl.DataFrame, file: str, report: TokenCounter | None) -> pl.Series:
    vocabulary = event_vocabulary()
    mapped = (
        text(frame, ["EVENT_TYPE"], file=file)
        .str.to_uppercase()
        .replace_strict(vocabulary["timeline_event_types"], default="other")
    )
    kind = text(frame, ["TREATMENT_TYPE"], file=file, report=report).str.to_lowercase().fill_null("")
    radiation = pl.any_horizontal([kind.str.contains(w, literal=True) for w in vocabulary["radiation_words"]])
    surgery = pl.any_horizontal([kind.str.contains(w, literal=True) for w in vocabulary["surgery_words"]])
    is_treatment = mapped == "treatment"
    return pl.select(
        pl.when(is_treatment & radiation).then(pl.lit("radiation"))
        .when(is_treatment & surgery).then(pl.lit("surgery"))
        .otherwise(mapped)
    ).to_series().alias("event_type")  # fmt: skip


def _detail(frame: pl.DataFrame, types: pl.Series, file: str) -> pl.Series:
    detail = pl.Series("detail", [None] * frame.height, dtype=pl.String)
    for event_type, columns in event_vocabulary()["detail_columns"].items():
        values = text(frame, columns, file=file).str.to_lowercase()
        detail = pl.select(pl.when(types == event_type).then(values).otherwise(detail)).to_series()
    return detail.alias("detail")


def _indication(frame: pl.DataFrame, file: str) -> pl.Series:
    known = indication_map()
    if "INDICATION" in frame.columns:
        return text(frame, ["INDICATION"], file=file).str.to_lowercase()
    subtype = text(frame, ["SUBTYPE"], file=file).str.to_lowercase()
    return pl.select(pl.when(subtype.is_in(list(known))).then(subtype)).to_series()


def read_timeline(path: Path, report: TokenCounter | None = None) -> pl.DataFrame:
    """One timeline file as raw event rows (one per data row)."""
    path = Path(path)
    frame, _ = read_text_table(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise CohortDataError(f"a timeline needs the columns {list(REQUIRED)}", file=str(path), column=missing[0])
    file = path.name
    types = _event_types(frame, file, report)
    agent = text(frame, ["AGENT"], file=file, report=report)
    is_drug_or_beam = types.is_in(["treatment", "radiation"])
    return raw_events(
        frame,
        frame.get_column(ROW),
        file,
        source_id=text(frame, ["PATIENT_ID"], file=file),
        start=text(frame, ["START_DATE"], file=file, report=report),
        stop=text(frame, ["STOP_DATE"], file=file, report=report),
        event_type=types,
        source_agent=pl.select(pl.when(is_drug_or_beam).then(agent)).to_series(),
        detail=_detail(frame, types, file),
        indication=_indication(frame, file),
        value=text(frame, event_vocabulary()["value_columns"], file=file, report=report),
    )
