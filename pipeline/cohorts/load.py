"""Read any cohort source and harmonize it: spec -> read -> harmonize.

A source is a registry entry, a cBioPortal study folder, or a CSV/Parquet file (with an
optional YAML spec). Registry entries and ad-hoc sources run exactly the same code.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from pipeline.cohorts.harmonize import harmonize
from pipeline.cohorts.identifiers import snake_case
from pipeline.cohorts.readers.cbioportal import (
    DEFAULT_PANEL_SIZES_MB,
    read_cbioportal_study,
)
from pipeline.cohorts.readers.survset import read_survset
from pipeline.cohorts.registry import CohortEntry, CohortRegistry
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
        "primary_cancer_condition": ["ONCOTREE_CODE"],
        "cancer_stage_group": [
            "STAGE_AT_DIAGNOSIS",
            "AJCC_PATHOLOGIC_TUMOR_STAGE",
            "STAGE",
        ],
        "tumor_grade": ["PATIENT_GRADE", "GRADE", "TUMOR_GRADE"],
        "tumor_marker_er_status": ["ER_STATUS", "ER_STATUS_BY_IHC"],
        "tumor_marker_pr_status": ["PR_STATUS", "PR_STATUS_BY_IHC"],
        "tumor_marker_her2_status": ["HER2_STATUS", "IHC_HER2"],
        "msi_status": ["MSI_STATUS"],
        "tumor_mutational_burden": ["TMB_NONSYNONYMOUS"],
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
    drop=("SAMPLE_ID", "OTHER_PATIENT_ID", "OTHER_SAMPLE_ID"),
)
TABLE_SUFFIXES = {".csv", ".tsv", ".parquet", ".pq"}


def read_raw(entry: CohortEntry) -> pl.DataFrame:
    """The source of a registry entry as a frame, columns as the source names them."""
    if entry.kind == "survset":
        return read_survset(entry.location)
    if entry.kind == "cbioportal":
        return read_cbioportal_study(
            Path(entry.location),
            panel=tuple(entry.options.get("panel", DEFAULT_ACTIONABLE_PANEL)),
            panel_sizes_mb={
                **DEFAULT_PANEL_SIZES_MB,
                **entry.options.get("panel_sizes_mb", {}),
            },
        )
    return read_table(Path(entry.location))


def effective_spec(entry: CohortEntry) -> CohortSpec:
    """The entry's spec, over the source kind's defaults."""
    if entry.kind == "cbioportal":
        return entry.spec.merged_over(CBIOPORTAL_DEFAULT_SPEC)
    return entry.spec


def harmonize_entry(raw: pl.DataFrame, entry: CohortEntry, *, salt: str) -> pl.DataFrame:
    """Harmonize the raw frame of a registry entry."""
    return harmonize(
        raw,
        effective_spec(entry),
        cohort=entry.name,
        source=describe_source(entry),
        salt=salt,
    )


def describe_source(entry: CohortEntry) -> str:
    """How errors name the source of an entry."""
    return f"survset:{entry.location}" if entry.kind == "survset" else entry.location


def read_table(path: Path) -> pl.DataFrame:
    """A CSV, TSV or Parquet file as a frame."""
    if not path.exists():
        raise CohortDataError("no such file", file=str(path))
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise CohortDataError(
            f"unsupported file type; use one of {sorted(TABLE_SUFFIXES)}",
            file=str(path),
        )
    try:
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
        separator = "\t" if suffix == ".tsv" else ","
        return pl.read_csv(path, separator=separator, infer_schema_length=10_000)
    except pl.exceptions.NoDataError as exc:
        raise CohortDataError("the file is empty", file=str(path)) from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise CohortDataError(f"cannot read: {exc}", file=str(path)) from exc


def resolve_source(source: str, *, registry: CohortRegistry | None, spec_path: Path | None = None) -> CohortEntry:
    """A registry name, a cBioPortal study folder or a table file, as a registry entry."""
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
    return entry
