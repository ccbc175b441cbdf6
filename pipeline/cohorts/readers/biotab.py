"""TCGA Biotab: the GDC's clinical tables (``nationwidechildrens.org_clinical_patient_<project>.txt``).

Each table has its column names, then two more header lines (the caDSR names and ``CDE_ID:`` codes),
then one row per patient (or per follow-up). One row per patient comes out, under cBioPortal's
clinical attribute names, so the study harmonizes like any cBioPortal folder: the barcode, sex,
race, ethnicity, age at diagnosis, stage (pathologic, else clinical), grade, the TCGA project as
the cancer type, and overall survival; where the project records them, hormone-receptor and HER2 status
(BRCA), MSI (the MSI test, else mismatch-repair immunohistochemistry) and KRAS and BRAF mutation flags
(COAD, READ). Survival takes the latest word of the patient and follow-up
tables: dead at the death day if any table records a death, else alive at the latest last contact.
Other tables (drugs, radiation, new tumour events) are listed in the report as not used yet.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.cohorts.report import IngestReport
from pipeline.errors import CohortDataError

PATIENT_GLOB = "*clinical_patient_*.txt"
FOLLOW_UP_GLOB = "*clinical_follow_up_*.txt"
DAYS_PER_MONTH = 30.4375
# cBioPortal name <- Biotab columns, the first present wins
COLUMNS = {
    "PATIENT_ID": ("bcr_patient_barcode",),
    "SEX": ("gender",),
    "RACE": ("race",),
    "ETHNICITY": ("ethnicity",),
    "AGE": ("age_at_initial_pathologic_diagnosis",),
    "STAGE": ("ajcc_pathologic_tumor_stage", "pathologic_stage", "clinical_stage"),
    "GRADE": ("tumor_grade", "neoplasm_histologic_grade"),
    "ER_STATUS": ("breast_carcinoma_estrogen_receptor_status",),
    "PR_STATUS": ("breast_carcinoma_progesterone_receptor_status",),
    "HER2_STATUS": ("lab_proc_her2_neu_immunohistochemistry_receptor_status",),
}
# gene-level mutation flags some projects record in the patient table (COAD, READ): schema column <- (Biotab
# column, positive values, negative values); anything else (not tested, not available) stays unknown
FLAGS = {
    "genomic_variant_kras": ("kras_mutation_found", ("YES",), ("NO",)),
    "genomic_variant_braf": ("braf_gene_analysis_result", ("ABNORMAL",), ("NORMAL",)),
}
MSI = "microsatellite_instability"  # YES / NO
MMR_IHC = "mismatch_rep_proteins_loss_ihc"  # e.g. "MLH1-Not Expressed|MSH2-Expressed|PMS2-Not Expressed|..."
DEATH = ("death_days_to", "days_to_death")
LAST_CONTACT = ("last_contact_days_to", "days_to_last_followup")


def is_biotab_folder(folder: Path) -> bool:
    """A folder holding a Biotab patient table."""
    return folder.is_dir() and any(folder.glob(PATIENT_GLOB))


def read_biotab_table(path: Path) -> pl.DataFrame:
    """One Biotab table as text, without its two extra header lines."""
    try:
        frame = pl.read_csv(path, separator="\t", infer_schema=False, quote_char=None, truncate_ragged_lines=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise CohortDataError(f"cannot read the Biotab table: {exc}", file=str(path)) from exc
    first = frame.columns[0]
    header_rows = pl.col(first).str.starts_with("CDE_ID") | (pl.col(first) == pl.col(first).first())
    return frame.with_row_index("__line", offset=2).filter(~(header_rows & (pl.col("__line") <= 3)))


def _known(name: str) -> pl.Expr:
    """A column with GDC's bracketed tokens ("[Not Applicable]", "[Not Available]") as null."""
    return pl.when(pl.col(name).str.starts_with("[")).then(None).otherwise(pl.col(name))


def _first(frame: pl.DataFrame, names: tuple[str, ...]) -> pl.Expr:
    """The first of ``names`` that records a value, row by row (pathologic stage, else clinical)."""
    present = [n for n in names if n in frame.columns]
    return pl.coalesce(*[_known(n) for n in present]) if present else pl.lit(None, dtype=pl.String)


def _days(frame: pl.DataFrame, names: tuple[str, ...]) -> pl.Expr:
    return _first(frame, names).cast(pl.Float64, strict=False)


def _flag(frame: pl.DataFrame, column: str, positive: tuple[str, ...], negative: tuple[str, ...]) -> pl.Expr:
    if column not in frame.columns:
        return pl.lit(None, dtype=pl.Boolean)
    value = _known(column).str.strip_chars().str.to_uppercase()
    return pl.when(value.is_in(list(positive))).then(True).when(value.is_in(list(negative))).then(False)


def _msi(frame: pl.DataFrame) -> pl.Expr:
    """MSI-H or MSS from the MSI test, else from mismatch-repair immunohistochemistry: a protein not expressed
    (deficient mismatch repair) reads as MSI-H, every tested protein expressed as MSS."""
    tested = (
        _known(MSI).str.strip_chars().str.to_uppercase().replace_strict({"YES": "MSI-H", "NO": "MSS"}, default=None)
        if MSI in frame.columns
        else pl.lit(None, dtype=pl.String)
    )
    if MMR_IHC not in frame.columns:
        return tested
    ihc = _known(MMR_IHC).str.to_lowercase()
    by_ihc = pl.when(ihc.str.contains("not expressed")).then(pl.lit("MSI-H")).when(ihc.str.contains("expressed"))
    return pl.coalesce(tested, by_ihc.then(pl.lit("MSS")))


def _outcomes(tables: list[pl.DataFrame]) -> pl.DataFrame:
    """Per barcode: the death day (any table) and the latest last-contact day."""
    rows = pl.concat(
        [t.select(pl.col("bcr_patient_barcode").alias("PATIENT_ID"), death=_days(t, DEATH),
                  contact=_days(t, LAST_CONTACT)) for t in tables],
        how="vertical",
    )  # fmt: skip
    return rows.group_by("PATIENT_ID").agg(pl.col("death").max(), pl.col("contact").max())


def read_biotab_study(folder: Path, report: IngestReport | None = None) -> pl.DataFrame:
    """One row per patient of a Biotab folder, under cBioPortal clinical attribute names."""
    folder = Path(folder)
    patient_files = sorted(folder.glob(PATIENT_GLOB))
    if not patient_files:
        raise CohortDataError("not a TCGA Biotab folder (no clinical_patient table)", file=str(folder))
    patient_file = patient_files[0]
    patients = read_biotab_table(patient_file)
    if "bcr_patient_barcode" not in patients.columns:
        raise CohortDataError("missing required patient id column", file=str(patient_file),
                              column="bcr_patient_barcode")  # fmt: skip
    follow_ups = [read_biotab_table(p) for p in sorted(folder.glob(FOLLOW_UP_GLOB)) if "_nte_" not in p.name]
    follow_ups = [t for t in follow_ups if "bcr_patient_barcode" in t.columns]
    project = patient_file.stem.rsplit("_", 1)[-1].upper()
    frame = patients.select(
        *[_first(patients, names).alias(name) for name, names in COLUMNS.items()],
        pl.lit(project).alias("CANCER_TYPE_ACRONYM"),
        _msi(patients).alias("MSI_STATUS"),
        *[_flag(patients, *rule).alias(name) for name, rule in FLAGS.items()],
        pl.col("__line").alias("__source_row"),
    )
    outcomes = _outcomes([patients, *follow_ups])
    dead = pl.col("death").is_not_null()
    frame = frame.join(outcomes, on="PATIENT_ID", how="left").with_columns(
        OS_STATUS=pl.when(dead).then(pl.lit("1:DECEASED")).when(pl.col("contact").is_not_null())
        .then(pl.lit("0:LIVING")).otherwise(None),
        OS_MONTHS=pl.when(dead).then(pl.col("death")).otherwise(pl.col("contact")) / DAYS_PER_MONTH,
    ).drop("death", "contact")  # fmt: skip
    if report is not None:
        used = [patient_file.name, *(p.name for p in sorted(folder.glob(FOLLOW_UP_GLOB)) if "_nte_" not in p.name)]
        report.files += [str(folder / name) for name in used]
        report.unused_files += [p.name for p in sorted(folder.glob("*.txt")) if p.name not in used]
    return frame.drop("__source_row")
