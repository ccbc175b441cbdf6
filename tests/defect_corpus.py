"""A corpus of real-world defects, made from a real study in ../shared/cohorts.

Each defect is a copy of the study's folder with one change a new user's download could bring:
a truncated label, a negative survival row, an unseen ethnicity label, display-name headers,
no ``#`` lines, a date column, one patient twice. ``tests/pipeline/cohorts/test_defect_corpus.py``
ingests each and checks that the defect is quarantined or tolerated and named, never the reason
the study is refused. Run it by hand to look at the copies:
``python -m tests.defect_corpus ../shared/cohorts/luad_tcga_pan_can_atlas_2018 /tmp/defects``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

PATIENT_FILE = "data_clinical_patient.txt"
META_LINES = 4  # cBioPortal's '#' lines: display names, descriptions, datatypes, priorities

Table = tuple[list[str], list[str], list[list[str]]]  # '#' lines, attribute ids, rows of cells


def _read(path: Path) -> Table:
    lines = path.read_text().rstrip("\n").split("\n")
    meta = [line for line in lines if line.startswith("#")]
    body = [line.split("\t") for line in lines[len(meta) :]]
    return meta, body[0], body[1:]


def _write(path: Path, table: Table) -> None:
    meta, header, rows = table
    path.write_text("\n".join([*meta, "\t".join(header), *("\t".join(row) for row in rows)]) + "\n")


def _set(table: Table, row: int, column: str, value: str) -> Table:
    meta, header, rows = table
    rows = [list(r) for r in rows]
    rows[row][header.index(column)] = value
    return meta, header, rows


def _first_row_with(table: Table, column: str, value: str) -> int:
    _, header, rows = table
    return next(i for i, r in enumerate(rows) if r[header.index(column)] == value)


def truncated_label(table: Table) -> Table:
    """A label cut short by the export: 'Not Hispanic Or Latino' -> 'Not Hispanic Or Lat'."""
    row = _first_row_with(table, "ETHNICITY", "Not Hispanic Or Latino")
    return _set(table, row, "ETHNICITY", "Not Hispanic Or Lat")


def negative_survival(table: Table) -> Table:
    """One patient's survival of -0.23 months (as in a GDC breast export)."""
    return _set(table, 3, "OS_MONTHS", "-0.23")


def unseen_ethnicity(table: Table) -> Table:
    """MSK's truncated NAACCR label, and a race label no list has."""
    table = _set(table, 5, "ETHNICITY", "Other Spanish/Hispanic(incl European; excl Dom Rep")
    return _set(table, 6, "RACE", "Melanesian")


DISPLAY_NAMES = {
    "PATIENT_ID": "Patient ID", "AGE": "Age", "SEX": "Sex", "RACE": "Race Category",
    "ETHNICITY": "Ethnicity Category", "OS_MONTHS": "Overall Survival (Months)",
    "OS_STATUS": "Overall Survival Status", "AJCC_PATHOLOGIC_TUMOR_STAGE": "Path Stage",
}  # fmt: skip


def display_headers(table: Table) -> Table:
    """A study-view download: display names as the header (``Age``, ``Path Stage`` ...), no '#' lines."""
    meta, header, rows = table
    names = [n.lstrip("#") for n in meta[0].split("\t")] if meta else [DISPLAY_NAMES.get(c, c.title()) for c in header]
    return [], names, rows


def no_hash_lines(table: Table) -> Table:
    """A file without cBioPortal's metadata lines (an old-style or hand-made export)."""
    _, header, rows = table
    return [], header, rows


def date_column(table: Table) -> Table:
    """A calendar date column, which must never reach the harmonized table."""
    meta, header, rows = table
    extra_meta = ["#Diagnosis Date", "#Date", "#STRING", "#1"]
    meta = [f"{line}\t{extra}" for line, extra in zip(meta, extra_meta, strict=True)] if meta else []
    return meta, [*header, "DATE_OF_DIAGNOSIS"], [[*r, f"2010-0{i % 9 + 1}-1{i % 9}"] for i, r in enumerate(rows)]


def patient_twice(table: Table) -> Table:
    """One patient listed twice with different ages: neither row can be trusted."""
    meta, header, rows = table
    copy = list(rows[2])
    copy[header.index("AGE")] = str(int(copy[header.index("AGE")]) + 7)
    return meta, header, [*rows, copy]


DEFECTS: dict[str, Callable[[Table], Table]] = {
    f.__name__: f
    for f in (truncated_label, negative_survival, unseen_ethnicity, display_headers, no_hash_lines, date_column,
              patient_twice)
}  # fmt: skip


def make_defect(study: Path, out: Path, defect: str) -> Path:
    """A copy of ``study`` under ``out/<defect>`` whose patient file carries the defect."""
    folder = out / defect
    shutil.copytree(study, folder, dirs_exist_ok=True)
    _write(folder / PATIENT_FILE, DEFECTS[defect](_read(study / PATIENT_FILE)))
    return folder


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    for name in DEFECTS:
        try:
            print(make_defect(source, target, name))
        except ValueError as error:  # the study lacks the column the defect changes
            print(f"{name}: not applicable to {source.name} ({error})")
