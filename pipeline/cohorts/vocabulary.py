"""Vocabularies as data: label tables in ``vocabularies/*.yaml`` that map source labels onto schema values.

Every label is compared in lower case with blanks collapsed. A vocabulary has exact
``labels``, optional regex ``patterns`` (full match, in order) and ``missing`` labels that mean
"no value". A vocabulary with ``prefix_match: true`` also reads a label that extends a known label
by a qualifier (``other spanish/hispanic(incl european; ...``) or that a source cut short (a known
label's start of at least :data:`MIN_TRUNCATED` characters), when only one value fits. The global
missing-value tokens live in ``missing.yaml``; the files are read by :mod:`pipeline.vocabularies`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import polars as pl

from pipeline.vocabularies import load

MIN_TRUNCATED = 12  # a cut-short label must keep at least this many characters
MIN_PREFIX = 6  # a known label extended by a qualifier must have at least this many

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
    prefix_match: bool = False

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
            if value is None and self.prefix_match:
                value = self.by_prefix(label)
            if value is not None:
                mapping[label] = str(value)
        mapped = (
            text.replace_strict(mapping, default=None, return_dtype=pl.String)
            if mapping
            else (pl.Series(text.name, [None] * text.len(), dtype=pl.String))
        )
        return mapped, text.is_in(sorted(nulls)).fill_null(False)

    def by_prefix(self, label: str) -> Any:
        """The value of the longest known label ``label`` extends, or of the labels it is the start of."""
        extended = [k for k in self.labels if len(label) > len(k) >= MIN_PREFIX and label.startswith(k)
                    and not label[len(k)].isalnum()]  # fmt: skip
        if extended:
            return self.labels[max(extended, key=len)]
        if len(label) >= MIN_TRUNCATED:
            values = {str(v) for k, v in self.labels.items() if k.startswith(label)}
            if len(values) == 1:
                return values.pop()
        return None


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
    missing = frozenset(norm(m) for m in raw.get("missing") or ())
    return Vocabulary(name, labels, patterns, missing, prefix_match=bool(raw.get("prefix_match", False)))


def msisensor_cutoffs() -> tuple[float, float]:
    """(MSI-H at or above, MSS below) for MSIsensor scores."""
    cut = load("msi")["msisensor"]
    return float(cut["msi_h_at_least"]), float(cut["mss_below"])
