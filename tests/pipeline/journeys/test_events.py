"""Raw event rows -> the event table: quarantine, hashed ids that join patients, duplicates, agents."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.cohorts.identifiers import hash_patient_ids
from pipeline.journeys.events import harmonize_events
from pipeline.journeys.ingest import study_journeys
from pipeline.journeys.readers.timeline import read_timeline
from pipeline.journeys.report import JourneyReport
from pipeline.journeys.schema import EVENT_SCHEMA

TIMELINE = """PATIENT_ID\tSTART_DATE\tSTOP_DATE\tEVENT_TYPE\tTREATMENT_TYPE\tAGENT\tSUBTYPE\tSTATUS\tSAMPLE_ID
P1\t0\t90\tTREATMENT\tMedical Therapy\tTAXOL\tchemotherapy\t\t
P1\t0\t90\tTREATMENT\tMedical Therapy\tTAXOL\tchemotherapy\t\t
P1\t5\t40\tTREATMENT\tRadiation Therapy\tEXTERNAL BEAM\tadjuvant\t\t
P1\t-10\t\tTREATMENT\tMedical Therapy\tFOLFOX\tchemotherapy\t\t
P1\tNA\t5\tTREATMENT\tMedical Therapy\tCISPLATIN\tchemotherapy\t\t
P1\t50\t20\tTREATMENT\tMedical Therapy\tCISPLATIN\tchemotherapy\t\t
P1\tday 3\t\tTREATMENT\tMedical Therapy\tCISPLATIN\tchemotherapy\t\t
P1\t300\t\tSTATUS\t\t\t\tDeceased\t
P1\t100\t\tSPECIMEN\t\t\t\t\tS-1
P2\t10\t20\tTREATMENT\tMedical Therapy\tZZQ-123\tchemotherapy\t\t
P9\t10\t20\tTREATMENT\tMedical Therapy\tTAXOL\tchemotherapy\t\t
"""


def _events(tmp_path: Path) -> tuple[pl.DataFrame, JourneyReport, pl.Series]:
    path = tmp_path / "data_timeline_treatment.txt"
    path.write_text(TIMELINE)
    report = JourneyReport()
    patient_ids = hash_patient_ids(pl.Series(["P1", "P2"]), cohort="c", salt="s")
    events = harmonize_events(read_timeline(path, report), cohort="c", salt="s", patient_ids=patient_ids,
                              report=report)  # fmt: skip
    return events, report, patient_ids


def test_rows_with_defects_are_quarantined_by_reason(tmp_path: Path) -> None:
    events, report, _ = _events(tmp_path)
    rules = {(q["rule"], tuple(q["first_rows"])) for q in report.quarantined}
    assert rules == {("missing start day", (5,)), ("stop day before start day", (6,)),
                     ("start is not a number of days", (7,))}  # fmt: skip
    counts = report.files["data_timeline_treatment.txt"]
    assert counts == {"rows": 11, "quarantined": 3, "not_in_patients": 1, "added_by_combinations": 2,
                      "duplicates": 1, "events": 8}  # fmt: skip
    assert events.height == 11 - 3 - 1 + 2 - 1
    assert report.n_source_ids_not_in_patients == 1 and report.n_before_day_zero == 3


def test_events_are_typed_hashed_and_agents_normalized(tmp_path: Path) -> None:
    events, report, patient_ids = _events(tmp_path)
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    assert set(events["patient_id"]) <= set(patient_ids)  # hashed exactly as the patient table: they join
    assert not any("P1" in str(v) for row in events.rows() for v in row)
    assert sorted(events.filter(pl.col("start_day") == -10)["agent"]) == ["fluorouracil", "leucovorin", "oxaliplatin"]
    radiation = events.filter(pl.col("event_type") == "radiation").row(0, named=True)
    assert (radiation["agent"], radiation["source_agent"], radiation["detail"], radiation["indication"]) == (
        None, "EXTERNAL BEAM", "external beam", "adjuvant")  # fmt: skip
    status = events.filter(pl.col("event_type") == "status").row(0, named=True)
    assert (status["detail"], status["start_day"]) == ("deceased", 300)
    assert "S-1" not in events.filter(pl.col("event_type") == "specimen").rows()[0]  # sample ids never read
    assert report.unknown_agents == {"zzq-123": 1}
    assert events.filter(pl.col("agent") == "zzq-123")["agent_class"].to_list() == ["other"]


def test_a_source_without_timelines_gives_empty_typed_tables(tmp_path: Path) -> None:
    patients = pl.DataFrame({"patient_id": ["a"]})
    events, lines, report = study_journeys(tmp_path, patients, cohort="c", salt="s")
    assert events.height == 0 and lines.height == 0 and events.schema == pl.Schema(EVENT_SCHEMA)
    assert "no treatment timelines" in report.lines()[-1]
