"""What every privacy attack shares: the adversary's quasi-identifiers, and the rows an attack sees.

An adversary plausibly knows a patient's demographics, disease, biomarkers (every
``genomic_variant_*`` flag) and the event; the replay attacks and Anonymeter's linkability and
inference use exactly these. Attacks subsample rows with a seed, so a run is reproducible.
"""

from __future__ import annotations

import polars as pl

from pipeline.schema import GENOMIC_VARIANT_PREFIX
from pipeline.subgroups import subgroup_labels
from pipeline.validation.columns import SURVIVAL_EVENT, ColumnKinds

FAMILY = "privacy"
DEMOGRAPHIC_QI = ("age_at_diagnosis", "sex", "race", "ethnicity", "income_band", "insurance", "education_band")
CLINICAL_QI = (
    "primary_cancer_condition", "cancer_stage_group", "tumor_grade", "msi_status",
    "tumor_marker_er_status", "tumor_marker_pr_status", "tumor_marker_her2_status",
)  # fmt: skip


def sample_rows(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    """At most ``rows`` rows of ``frame``, drawn with ``seed`` (all of them when it has no more)."""
    return frame if frame.height <= rows else frame.sample(rows, seed=seed)


def quasi_identifiers(kinds: ColumnKinds) -> tuple[list[str], list[str]]:
    """(demographic, clinical) quasi-identifiers present: what an adversary plausibly knows of a patient.

    Clinical ones are disease, biomarkers (every ``genomic_variant_*`` flag) and the event.
    """
    demographic = [c for c in DEMOGRAPHIC_QI if c in kinds.all]
    clinical = [c for c in CLINICAL_QI if c in kinds.all]
    clinical += [c for c in kinds.categorical if c.startswith(GENOMIC_VARIANT_PREFIX)]
    clinical += [SURVIVAL_EVENT] if SURVIVAL_EVENT in kinds.all else []
    return demographic, clinical


def qi_labels(frame: pl.DataFrame, columns: list[str], reference: pl.DataFrame) -> pl.DataFrame:
    """Quasi-identifiers as text; numbers (age) in the bands an adversary would know."""
    return pl.DataFrame([subgroup_labels(frame, c, reference).fill_null("<null>").alias(c) for c in columns])
