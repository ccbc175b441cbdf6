"""A study's journeys: its timeline or Biotab tables -> events, lines of therapy and a report.

A study has journeys when its folder holds cBioPortal timelines (``data_timeline_*.txt``) or
TCGA Biotab drug / radiation tables. Other sources (tables, SurvSet datasets) have none: their
events and lines are empty typed frames, and the report says so.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from pipeline.cohorts.identifiers import id_salt
from pipeline.cohorts.readers.biotab import is_biotab_folder
from pipeline.cohorts.registry import CohortEntry
from pipeline.journeys.events import harmonize_events
from pipeline.journeys.line_rules import LineRuleBook
from pipeline.journeys.lines import derive_lines
from pipeline.journeys.readers import empty_raw_events
from pipeline.journeys.readers.biotab import DRUG_GLOB, RADIATION_GLOB, journey_tables, read_biotab_journey
from pipeline.journeys.readers.timeline import read_timeline, timeline_files
from pipeline.journeys.report import JourneyReport
from pipeline.journeys.schema import empty_events, empty_lines


def journey_files(folder: Path | str) -> list[Path]:
    """The files a study folder's journeys are read from; empty when it has none."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    timelines = timeline_files(folder)
    if timelines:
        return timelines
    has_treatments = any(folder.glob(DRUG_GLOB)) or any(folder.glob(RADIATION_GLOB))
    return journey_tables(folder) if is_biotab_folder(folder) and has_treatments else []


def read_raw_journey(folder: Path | str, report: JourneyReport) -> pl.DataFrame:
    """Raw event rows of every journey file of a study folder."""
    frames = []
    for path in journey_files(folder):
        reader = read_timeline if path.match("data_timeline*") else read_biotab_journey
        frames.append(reader(path, report))
    return pl.concat(frames) if frames else empty_raw_events()


def study_journeys(
    folder: Path | str | None,
    patients: pl.DataFrame,
    *,
    cohort: str,
    salt: str,
    rule_book: LineRuleBook | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, JourneyReport]:
    """Events, lines of therapy and the report of one study; ``patients`` is its harmonized patient table."""
    report = JourneyReport(source=str(folder or ""))
    if folder is None or not journey_files(folder):
        report.warn("the source has no treatment timelines: no events and no lines")
        return empty_events(), empty_lines(), report
    began = time.perf_counter()
    raw = read_raw_journey(folder, report)
    events = harmonize_events(raw, cohort=cohort, salt=salt, patient_ids=patients["patient_id"], report=report)
    report.seconds["events"] = time.perf_counter() - began
    began = time.perf_counter()
    lines = derive_lines(events, patients, cohort=cohort, rule_book=rule_book)
    report.seconds["lines"] = time.perf_counter() - began
    report.n_lines = lines.height
    counts = lines.group_by("patient_id").len().group_by("len").len(name="patients").sort("len")
    report.lines_per_patient = {int(k): int(n) for k, n in counts.iter_rows()}
    report.rule_sets = sorted(lines["rule_set"].unique().to_list())
    return events, lines, report


def has_journeys(entry: CohortEntry) -> bool:
    """The entry's source holds treatment timelines (cBioPortal timelines or Biotab drug tables)."""
    return entry.kind == "cbioportal" and bool(journey_files(entry.location))


def ingest_journeys(
    entry: CohortEntry, patients: pl.DataFrame, *, salt: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, JourneyReport]:
    """The journeys of an ingested entry: (events, lines of therapy, report), ids hashed as ``patients``'.

    ``patients`` is the entry's harmonized patient table; ``salt`` as for :func:`harmonize_entry`.
    A source without timelines gives empty typed frames and a report that says so.
    """
    folder = entry.location if has_journeys(entry) else None
    return study_journeys(folder, patients, cohort=entry.name, salt=id_salt(public=entry.public, explicit=salt))
