"""Read any cohort source and harmonize it: spec -> read -> harmonize, with a report.

A source is a registry entry, a cBioPortal study folder, or a CSV/TSV/TXT/Parquet file (with an
optional YAML spec). Registry entries and ad-hoc sources run exactly the same code:
:func:`ingest` is the one function the asset and the CLI call.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from pipeline.cohorts.defaults import table_spec
from pipeline.cohorts.harmonize import harmonize
from pipeline.cohorts.identifiers import id_salt, snake_case
from pipeline.cohorts.readers.biotab import is_biotab_folder, read_biotab_study
from pipeline.cohorts.readers.cbioportal import (
    DEFAULT_PANEL_SIZES_MB,
    attach_samples,
    is_cbioportal_folder,
    read_cbioportal_study,
    read_clinical_file,
)
from pipeline.cohorts.readers.survset import read_survset
from pipeline.cohorts.readers.text import infer_numbers
from pipeline.cohorts.registry import CohortEntry, CohortRegistry
from pipeline.cohorts.report import IngestReport
from pipeline.cohorts.spec import CohortSpec
from pipeline.errors import CohortDataError
from pipeline.schema import DEFAULT_ACTIONABLE_PANEL

# cBioPortal's standard clinical attribute names; the first present candidate wins.
CBIOPORTAL_DEFAULT_SPEC = CohortSpec(
    id_column="PATIENT_ID",
    columns={
        "age_at_diagnosis": ["AGE_AT_DIAGNOSIS", "AGE"],
        "sex": ["SEX", "GENDER"],
        "race": ["RACE"],
        "ethnicity": ["ETHNICITY"],
        "cancer_stage_group": [
            "STAGE_AT_DIAGNOSIS",
            "AJCC_PATHOLOGIC_TUMOR_STAGE",
            "STAGE",
            "TUMOR_STAGE",
            "PATH_STAGE",
            "PATHOLOGIC_STAGE",
            "CLINICAL_STAGE",
        ],
        "tumor_grade": ["PATIENT_GRADE", "GRADE", "TUMOR_GRADE"],
        "tumor_marker_er_status": ["ER_STATUS", "ER_STATUS_BY_IHC"],
        "tumor_marker_pr_status": ["PR_STATUS", "PR_STATUS_BY_IHC"],
        "tumor_marker_her2_status": ["HER2_STATUS", "IHC_HER2"],
        "primary_cancer_condition": ["ONCOTREE_CODE", "CANCER_TYPE_ACRONYM"],
        "msi_status": ["MSI_STATUS", "MSI_TYPE"],
        "tumor_mutational_burden": ["TMB_NONSYNONYMOUS", "CVR_TMB_SCORE"],
        "survival_months": ["OS_MONTHS", "OS_MONTHS_ADDITIONAL"],
        "vital_status_event": ["OS_STATUS"],
    },
    values={
        "vital_status_event": {
            "DECEASED": 1,
            "LIVING": 0,
            "1:DECEASED": 1,
            "0:LIVING": 0,
        },
    },
    drop=("SAMPLE_ID", "OTHER_PATIENT_ID", "OTHER_SAMPLE_ID", "STUDY_ID"),
)
TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".pq"}


def _panel_options(entry: CohortEntry) -> dict[str, object]:
    return {
        "panel": tuple(entry.options.get("panel", DEFAULT_ACTIONABLE_PANEL)),
        "panel_sizes_mb": {**DEFAULT_PANEL_SIZES_MB, **entry.options.get("panel_sizes_mb", {})},
    }


def read_raw(entry: CohortEntry, report: IngestReport | None = None) -> pl.DataFrame:
    """The source of a registry entry as a frame, columns as the source names them."""
    if entry.kind == "survset":
        return read_survset(entry.location)
    if entry.kind == "cbioportal":
        folder = Path(entry.location)
        if is_biotab_folder(folder) and not is_cbioportal_folder(folder):  # a GDC Biotab download
            return read_biotab_study(folder, report=report)
        return read_cbioportal_study(folder, report=report, **_panel_options(entry))
    path = Path(entry.location)
    frame = read_table(path, report=report)
    if report is not None:
        report.files.append(str(path))
    if entry.spec.samples:
        frame = _attach_table_samples(frame, entry, path.parent, report)
    elif entry.spec.mutations:
        raise CohortDataError("the spec names a MAF ('mutations') but no sample file ('samples')", file=str(path))
    return frame


def _attach_table_samples(frame: pl.DataFrame, entry: CohortEntry, folder: Path, report: IngestReport | None):
    """The table route with a sample file and a MAF: the same biomarkers as a study folder."""
    id_column = effective_spec(entry).id_column
    if id_column not in frame.columns:
        raise CohortDataError("missing required patient id column", file=entry.location, column=id_column)
    sample_path = folder / str(entry.spec.samples)
    maf_path = folder / str(entry.spec.mutations) if entry.spec.mutations else None
    for path in (sample_path, maf_path):
        if path is not None and not path.exists():
            raise CohortDataError("no such file (named in the spec)", file=str(path))
    same_file = sample_path.resolve() == Path(entry.location).resolve()  # its tokens are counted already
    samples = read_clinical_file(sample_path, None if same_file else report)
    patients = frame.with_columns(pl.col(id_column).cast(pl.String).alias("PATIENT_ID"))
    joined = attach_samples(patients, samples, maf_path, report=report, sample_file=str(sample_path),
                            **_panel_options(entry))  # fmt: skip
    if report is not None:
        report.files += [str(sample_path), *([str(maf_path)] if maf_path else [])]
        report.dropped_identifiers["SAMPLE_ID"] = "sample id of the sample file"
    joined = joined.drop("SAMPLE_ID", strict=False)
    return joined.drop("PATIENT_ID") if id_column != "PATIENT_ID" else joined


def effective_spec(entry: CohortEntry, raw: pl.DataFrame | None = None) -> CohortSpec:
    """The entry's spec, over the source kind's defaults (cBioPortal-like tables get them too)."""
    cbioportal_table = (
        entry.kind == "table"
        and raw is not None
        and entry.spec.id_column == "patient_id"
        and "patient_id" not in raw.columns
        and "PATIENT_ID" in raw.columns
    )
    if entry.kind == "cbioportal" or cbioportal_table:
        return entry.spec.merged_over(CBIOPORTAL_DEFAULT_SPEC)
    if entry.kind == "table" and entry.spec.samples:  # sample attributes by their cBioPortal names
        return replace(entry.spec.merged_over(CBIOPORTAL_DEFAULT_SPEC), id_column=entry.spec.id_column)
    if entry.kind == "table" and raw is not None:  # a registry or trial export: the names they use
        return table_spec(entry.spec, raw.columns)
    return entry.spec


def harmonize_entry(
    raw: pl.DataFrame,
    entry: CohortEntry,
    *,
    salt: str | None = None,
    report: IngestReport | None = None,
    drop_identifiers: bool = False,
    strict: bool = False,
) -> pl.DataFrame:
    """Harmonize the raw frame of a registry entry.

    cBioPortal studies (public, de-identified) lose identifier and date columns with a report;
    tables refuse them unless the spec drops them or ``drop_identifiers``. ``salt`` applies
    when it is not the public default; otherwise see :func:`~pipeline.cohorts.identifiers.id_salt`.
    Rows with a defect are quarantined; ``strict`` refuses the source for any of them instead.
    """
    spec = effective_spec(entry, raw)
    if drop_identifiers:
        spec = replace(spec, drop_identifiers=True)
    return harmonize(
        raw,
        spec,
        cohort=entry.name,
        source=report.files[0] if report is not None and report.files else describe_source(entry),
        salt=id_salt(public=entry.public, explicit=salt),
        report=report,
        identifiers="drop" if entry.kind == "cbioportal" else "refuse",
        strict=strict,
    )


def ingest(
    entry: CohortEntry, *, salt: str | None = None, drop_identifiers: bool = False, strict: bool = False
) -> tuple[pl.DataFrame, IngestReport]:
    """The ingest stage: read the source, harmonize it, and say what was left out and why."""
    report = IngestReport(source=describe_source(entry))
    raw = read_raw(entry, report)
    frame = harmonize_entry(raw, entry, salt=salt, report=report, drop_identifiers=drop_identifiers, strict=strict)
    return frame, report


def describe_source(entry: CohortEntry) -> str:
    """How errors name the source of an entry."""
    return f"survset:{entry.location}" if entry.kind == "survset" else entry.location


def read_table(path: Path, report: IngestReport | None = None) -> pl.DataFrame:
    """A CSV, TSV, TXT or Parquet file as a frame.

    Text files are read as text, missing-value tokens become null (counted in ``report``) and
    columns whose values are all numbers become numbers, so ``NA`` never turns a numeric column
    into text. ``.txt``/``.tsv`` files may carry cBioPortal ``#`` header lines.
    """
    path = Path(path)
    if not path.exists():
        raise CohortDataError("no such file", file=str(path))
    if path.is_dir():
        raise CohortDataError("a folder, not a table file", file=str(path))
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise CohortDataError(f"unsupported file type; use one of {sorted(TABLE_SUFFIXES)}", file=str(path))
    try:
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
        if suffix in (".tsv", ".txt"):
            return read_clinical_file(path, report)
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.NoDataError as exc:
        raise CohortDataError("the file is empty", file=str(path)) from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise CohortDataError(f"cannot read: {exc}", file=str(path)) from exc
    if frame.height == 0:
        raise CohortDataError("the file has a header but no data rows", file=str(path))
    return infer_numbers(frame, keep_text=set(), report=report)


def resolve_source(
    source: str,
    *,
    registry: CohortRegistry | None,
    spec_path: Path | None = None,
    name: str | None = None,
) -> CohortEntry:
    """A registry name, a cBioPortal study folder (or a TCGA Biotab folder) or a table file, as a registry entry."""
    path = Path(source)
    if registry is not None and source in registry.names and not path.exists():
        entry = registry.get(source)
    elif path.is_dir():
        entry = CohortEntry(name=snake_case(path.name), kind="cbioportal", location=str(path))
    elif path.suffix.lower() in TABLE_SUFFIXES:
        entry = CohortEntry(name=snake_case(path.stem), kind="table", location=str(path))
    else:
        known = registry.names if registry else []
        raise CohortDataError(
            f"not a registered cohort {known}, a cBioPortal study folder or a {sorted(TABLE_SUFFIXES)} file",
            file=source,
        )
    if spec_path is not None:
        entry = replace(entry, spec=CohortSpec.from_yaml(spec_path))
    if name is not None:
        if not snake_case(name) or snake_case(name) != name:
            raise CohortDataError(f"--name must be lower_snake_case, e.g. {snake_case(name)!r}", value=name)
        entry = replace(entry, name=name)
    return entry
