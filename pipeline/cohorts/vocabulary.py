"""Vocabularies as data: label tables in ``vocabularies/*.yaml`` that map source labels onto schema values.

Every label is compared in lower case with blanks collapsed. A vocabulary has exact
``labels``, optional regex ``patterns`` (full match, in order) and ``missing`` labels that mean
"no value". The global missing-value tokens live in ``missing.yaml``; the files are read by
:mod:`pipeline.vocabularies`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import polars as pl

from pipeline.vocabularies import load

# schema column -> vocabulary file
COLUMN_VOCABULARIES: dict[str, str] = {
    "sex": "sex",
    "race": "race",
    "ethnicity": "ethnicity",
    "cancer_stage_group": "stage",
    "tumor_grade": "grade",
    "msi_status": "msi",
    "tumor_marker_er_status": "receptor",
    "tumor_marker_pr_status": "receptor",
    "tumor_marker_her2_status": "receptor",
    "vital_status_event": "vital_status",
    "primary_cancer_condition": "oncotree",
}


def normalize_label(text: pl.Series) -> pl.Series:
    """Lower case, surrounding blanks stripped, inner blanks collapsed."""
    return text.cast(pl.String).str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")


@dataclass(frozen=True)
class Vocabulary:
    """Label -> value lookup of one schema column."""

    name: str
    labels: dict[str, Any]
    patterns: tuple[tuple[re.Pattern[str], Any], ...] = ()
    missing: frozenset[str] = field(default_factory=frozenset)

    def lookup(self, text: pl.Series) -> tuple[pl.Series, pl.Series]:
        """(mapped values as strings, mask of labels that mean 'no value'), for normalized labels."""
        distinct = text.drop_nulls().unique().to_list()
        mapping: dict[str, str | None] = {}
        nulls = set()
        for label in distinct:
            if label in self.missing:
                nulls.add(label)
                continue
            value = self.labels.get(label)
            if value is None:
                value = next((v for p, v in self.patterns if p.fullmatch(label)), None)
            if value is not None:
                mapping[label] = str(value)
        mapped = (
            text.replace_strict(mapping, default=None, return_dtype=pl.String)
            if mapping
            else (pl.Series(text.name, [None] * text.len(), dtype=pl.String))
        )
        return mapped, text.is_in(sorted(nulls)).fill_null(False)


@cache
def vocabulary(column: str) -> Vocabulary | None:
    """The vocabulary of a schema column, or None."""
    name = COLUMN_VOCABULARIES.get(column)
    if name is None:
        return None
    raw = load(name)
    norm = lambda s: " ".join(str(s).lower().split())  # noqa: E731
    labels = {norm(k): v for k, v in (raw.get("labels") or {}).items()}
    if name == "oncotree":  # known codes map onto themselves; TCGA projects also as TCGA-XXXX
        projects = {f"tcga-{k}": v for k, v in labels.items() if k.isalpha() and len(k) <= 5}
        labels = {**{code.lower(): code for code in raw["codes"]}, **labels, **projects}
    patterns = tuple((re.compile(p), v) for p, v in raw.get("patterns") or ())
    return Vocabulary(name, labels, patterns, frozenset(norm(m) for m in raw.get("missing") or ()))


def msisensor_cutoffs() -> tuple[float, float]:
    """(MSI-H at or above, MSS below) for MSIsensor scores."""
    cut = load("msi")["msisensor"]
    return float(cut["msi_h_at_least"]), float(cut["mss_below"])
