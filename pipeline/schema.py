"""The harmonized oncology schema: one row per patient, mCODE-style snake_case names.

This module is the single source of truth for column names, dtypes, allowed category
values and hard limits. The Great Expectations suite in ``expectations/`` is generated
from it (``python -m pipeline.expectations_gen``) and a test keeps the two in sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline.vocabularies import missing_tokens, oncotree_code_pattern, oncotree_codes

DEFAULT_ACTIONABLE_PANEL: tuple[str, ...] = (
    "KRAS", "NRAS", "BRAF", "EGFR", "ERBB2", "PIK3CA",
    "TP53", "APC", "BRCA1", "BRCA2", "ALK", "KIT",
)  # fmt: skip

GENOMIC_VARIANT_PREFIX = "genomic_variant_"

SEX = ("Female", "Male")
RACE = (
    "White",
    "Black",
    "Asian",
    "Hispanic",
    "American Indian or Alaska Native",
    "Native Hawaiian or Pacific Islander",
    "Other",
)
ETHNICITY = ("Hispanic or Latino", "Not Hispanic or Latino")
INCOME_BAND = ("<$11k", "$11k-$25k", "$25k-$50k", ">$50k")
INSURANCE = ("Private", "Medicare", "Medicaid", "Uninsured", "Other")
EDUCATION_BAND = (
    "Less than high school",
    "High school",
    "Some college",
    "College graduate",
)
STAGE_GROUP = ("0", "I", "II", "III", "IV")
GRADE = ("G1", "G2", "G3", "G4")
MSI_STATUS = ("MSI-H", "MSI-L", "MSS")
RECEPTOR_STATUS = ("Positive", "Negative")
# Any well-formed OncoTree code is accepted as published; the curated table in
# pipeline/cohorts/vocabularies/oncotree.yaml adds main type and tissue where it knows the code.
ONCOTREE_CODE_PATTERN = oncotree_code_pattern()
ONCOTREE_CODES: tuple[str, ...] = tuple(oncotree_codes())


@dataclass(frozen=True)
class Column:
    """One schema column: its dtype, its group, its hard limits and its allowed values."""

    name: str
    dtype: pl.DataType
    group: str
    description: str
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False  # must be non-null in every row
    protected: bool = False
    synonyms: dict[str, str] = field(default_factory=dict)  # label tables: pipeline/cohorts/vocabularies/
    pattern: str | None = None  # regex every non-null value matches


def _enum(values: tuple[str, ...]) -> pl.Enum:
    return pl.Enum(list(values))


CORE_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", pl.String, "identity", "Salted SHA-256 of the source id.", required=True),
    Column("cohort", pl.String, "identity", "Registry name of the cohort.", required=True),
    Column(
        "age_at_diagnosis", pl.Float64, "demographics", "Age at diagnosis in years.",
        minimum=0, maximum=120, protected=True,
    ),
    Column("sex", _enum(SEX), "demographics", "Administrative sex.", SEX, protected=True),
    Column("race", _enum(RACE), "demographics", "Race as recorded by the source.", RACE,
           protected=True),
    Column("ethnicity", _enum(ETHNICITY), "demographics", "Hispanic or Latino ethnicity.",
           ETHNICITY, protected=True),
    Column("income_band", _enum(INCOME_BAND), "demographics", "Household income band (USD/yr).",
           INCOME_BAND, protected=True),
    Column("insurance", _enum(INSURANCE), "demographics", "Primary payer.", INSURANCE,
           protected=True),
    Column("education_band", _enum(EDUCATION_BAND), "demographics", "Highest education.",
           EDUCATION_BAND, protected=True),
    Column("primary_cancer_condition", pl.Categorical(), "disease",
           "Primary cancer type as an OncoTree code (any well-formed code).",
           pattern=ONCOTREE_CODE_PATTERN),
    Column("cancer_stage_group", _enum(STAGE_GROUP), "disease", "AJCC stage group at diagnosis.",
           STAGE_GROUP),
    Column("tumor_grade", _enum(GRADE), "disease", "Histologic grade.", GRADE),
    Column("tumor_marker_er_status", _enum(RECEPTOR_STATUS), "biomarkers", "Oestrogen receptor.",
           RECEPTOR_STATUS),
    Column("tumor_marker_pr_status", _enum(RECEPTOR_STATUS), "biomarkers",
           "Progesterone receptor.", RECEPTOR_STATUS),
    Column("tumor_marker_her2_status", _enum(RECEPTOR_STATUS), "biomarkers", "HER2 status.",
           RECEPTOR_STATUS),
    Column("msi_status", _enum(MSI_STATUS), "biomarkers", "Microsatellite instability.",
           MSI_STATUS),
    Column("tumor_mutational_burden", pl.Float64, "biomarkers",
           "Non-silent somatic mutations per megabase.", minimum=0),
    *(
        Column(f"{GENOMIC_VARIANT_PREFIX}{gene.lower()}", pl.Boolean, "biomarkers",
               f"Non-silent somatic mutation in {gene}.")
        for gene in DEFAULT_ACTIONABLE_PANEL
    ),
    Column("cancer_related_medication", pl.String, "treatment",
           "Treatment arm or regimen class, as labelled by the source."),
    Column("survival_months", pl.Float64, "outcome", "Overall survival or follow-up, months (finite).",
           minimum=0, maximum=1200, required=True),
    Column("vital_status_event", pl.Int8, "outcome", "1 = died, 0 = censored.",
           minimum=0, maximum=1, required=True),
)  # fmt: skip

CORE_BY_NAME: dict[str, Column] = {c.name: c for c in CORE_COLUMNS}
PROTECTED_COLUMNS: tuple[str, ...] = tuple(c.name for c in CORE_COLUMNS if c.protected)
IDENTITY_COLUMNS: tuple[str, ...] = ("patient_id", "cohort")
DAYS_PER_MONTH = 365.25 / 12

NULL_TOKENS = missing_tokens()  # pipeline/cohorts/vocabularies/missing.yaml


def genomic_variant_column(gene: str) -> str:
    """Schema column holding the mutation flag of ``gene``."""
    return f"{GENOMIC_VARIANT_PREFIX}{gene.lower()}"


def core_schema() -> pl.Schema:
    """Polars schema of the core columns, in canonical order."""
    return pl.Schema({c.name: c.dtype for c in CORE_COLUMNS})


def categorical_columns(frame_schema: pl.Schema) -> list[str]:
    """Columns a synthesizer should treat as categories (enums, categoricals, strings, bools)."""
    return [
        name
        for name, dtype in frame_schema.items()
        if name not in IDENTITY_COLUMNS
        and (dtype in (pl.String, pl.Boolean) or isinstance(dtype, pl.Enum | pl.Categorical))
    ]
