"""TCGA Biotab journey tables -> raw event rows; day 0 is the initial pathologic diagnosis.

- ``clinical_drug``: one treatment per row (drug name as typed, start and end days, regimen
  indication); an ongoing drug has no end.
- ``clinical_radiation``: one radiation course per row (type, start and end days, indication).
- ``clinical_nte`` and ``follow_up_*_nte``: a progression (new tumour event, its kind as detail)
  per row, and a surgery where an additional surgery day is recorded.
- ``clinical_patient`` and ``follow_up``: a status per row (death at the death day, else last
  contact), the diagnosis day and the patient table's tumour progression day where recorded.
Column names are the tables' first header line; older names are listed after them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.cohorts.readers.biotab import FOLLOW_UP_GLOB, PATIENT_GLOB, read_biotab_table
from pipeline.journeys.readers import TokenCounter, empty_raw_events, raw_events, text

ID = ("bcr_patient_barcode",)
LINE = "__line"
DRUG_GLOB, RADIATION_GLOB, NTE_GLOBS = (
    "*clinical_drug_*.txt",
    "*clinical_radiation_*.txt",
    ("*clinical_nte_*.txt", "*follow_up*_nte_*.txt"),
)
DRUG = {"start": ("pharmaceutical_tx_started_days_to", "days_to_drug_therapy_start"),
        "stop": ("pharmaceutical_tx_ended_days_to", "days_to_drug_therapy_end"),
        "name": ("pharmaceutical_therapy_drug_name", "drug_name"),
        "indication": ("therapy_regimen", "regimen_indication")}  # fmt: skip
RADIATION = {"start": ("days_to_radiation_therapy_start", "radiation_therapy_started_days_to"),
             "stop": ("days_to_radiation_therapy_end", "radiation_therapy_ended_days_to"),
             "type": ("radiation_therapy_type", "radiation_type"),
             "indication": ("therapy_regimen", "regimen_indication")}  # fmt: skip
NTE = {
    "start": ("new_tumor_event_dx_days_to", "days_to_new_tumor_event_after_initial_treatment"),
    "kind": ("new_neoplasm_event_type",),
    "surgery": ("days_to_new_tumor_event_additional_surgery_procedure",),
}
DEATH, CONTACT = ("death_days_to", "days_to_death"), ("last_contact_days_to", "days_to_last_followup")
DIAGNOSIS = ("days_to_initial_pathologic_diagnosis",)
PROGRESSION = ("days_to_tumor_progression",)


def journey_tables(folder: Path) -> list[Path]:
    """The Biotab tables a journey is read from, in reading order."""
    folder = Path(folder)
    nte = [p for glob in NTE_GLOBS for p in sorted(folder.glob(glob))]
    follow_ups = [p for p in sorted(folder.glob(FOLLOW_UP_GLOB)) if "_nte_" not in p.name]
    return [*sorted(folder.glob(DRUG_GLOB)), *sorted(folder.glob(RADIATION_GLOB)), *nte,
            *sorted(folder.glob(PATIENT_GLOB)), *follow_ups]  # fmt: skip


def _lower(series: pl.Series) -> pl.Series:
    return series.str.to_lowercase()


def _drugs(table: pl.DataFrame, file: str, report: TokenCounter | None) -> pl.DataFrame:
    return raw_events(table, table[LINE], file, source_id=text(table, ID, file=file), event_type="treatment",
                      start=text(table, DRUG["start"], file=file, report=report),
                      stop=text(table, DRUG["stop"], file=file, report=report),
                      source_agent=text(table, DRUG["name"], file=file, report=report),
                      indication=_lower(text(table, DRUG["indication"], file=file, report=report)))  # fmt: skip


def _radiation(table: pl.DataFrame, file: str, report: TokenCounter | None) -> pl.DataFrame:
    kind = text(table, RADIATION["type"], file=file, report=report)
    return raw_events(table, table[LINE], file, source_id=text(table, ID, file=file), event_type="radiation",
                      start=text(table, RADIATION["start"], file=file, report=report),
                      stop=text(table, RADIATION["stop"], file=file, report=report),
                      source_agent=kind, detail=_lower(kind),
                      indication=_lower(text(table, RADIATION["indication"], file=file, report=report)))  # fmt: skip


def _optional(table: pl.DataFrame, file: str, days: tuple[str, ...], event_type: str, detail: str,
              report: TokenCounter | None) -> pl.DataFrame:  # fmt: skip
    """Events of a column that only some rows fill: rows without a day are no event."""
    start = text(table, days, file=file, report=report)
    events = raw_events(table, table[LINE], file, source_id=text(table, ID, file=file), start=start,
                        event_type=event_type, detail=detail)  # fmt: skip
    return events.filter(pl.col("start").is_not_null())


def _new_tumour_events(table: pl.DataFrame, file: str, report: TokenCounter | None) -> pl.DataFrame:
    progression = raw_events(table, table[LINE], file, source_id=text(table, ID, file=file),
                             start=text(table, NTE["start"], file=file, report=report), event_type="progression",
                             detail=_lower(text(table, NTE["kind"], file=file, report=report)))  # fmt: skip
    return pl.concat([progression, _optional(table, file, NTE["surgery"], "surgery", "additional surgery", report)])


def _statuses(table: pl.DataFrame, file: str, report: TokenCounter | None) -> pl.DataFrame:
    death = text(table, DEATH, file=file, report=report)
    contact = text(table, CONTACT, file=file, report=report)
    dead = death.is_not_null()
    status = raw_events(table, table[LINE], file, source_id=text(table, ID, file=file),
                        start=pl.select(pl.when(dead).then(death).otherwise(contact)).to_series(),
                        event_type="status",
                        detail=pl.select(pl.when(dead).then(pl.lit("death")).otherwise(pl.lit("last contact")))
                        .to_series())  # fmt: skip
    return pl.concat([
        status,
        _optional(table, file, DIAGNOSIS, "diagnosis", "initial pathologic diagnosis", report),
        _optional(table, file, PROGRESSION, "progression", "tumor progression", report),
    ])  # fmt: skip


def read_biotab_journey(path: Path, report: TokenCounter | None = None) -> pl.DataFrame:
    """One Biotab table as raw event rows (module docstring); other tables give none."""
    path = Path(path)
    table = read_biotab_table(path)
    name = path.name
    if "bcr_patient_barcode" not in table.columns or table.height == 0:
        return empty_raw_events()
    if path.match(DRUG_GLOB):
        return _drugs(table, name, report)
    if path.match(RADIATION_GLOB):
        return _radiation(table, name, report)
    if "_nte_" in name:
        return _new_tumour_events(table, name, report)
    if path.match(PATIENT_GLOB) or path.match(FOLLOW_UP_GLOB):
        return _statuses(table, name, report)
    return empty_raw_events()
