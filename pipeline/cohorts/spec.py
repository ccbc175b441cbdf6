"""A cohort spec: how the columns of one source map onto the harmonized schema.

A spec is declarative (YAML in the registry or beside a CSV/Parquet file):

    id_column: pid                      # source column with the patient id (hashed)
    filter: "fac_ca IN ('yes', 'metastatic')"   # optional SQL predicate on source rows
    columns:                            # schema column -> source column, list of
      sex: fac_sex                      #   candidate columns (first present wins),
      survival_months: time             #   or a SQL expression over source columns
      cancer_stage_group: "CASE WHEN fac_ca = 'metastatic' THEN 'IV' END"
    values:                             # schema column -> {source label: schema label}
      sex: {"0": Female, "1": Male}
    survival_unit: days                 # days | weeks | months | years
    drop: [fac_num_co]                  # source columns never to carry over
    keep_extras: true                   # carry remaining columns as typed extras
    strip_prefixes: [num_, fac_]        # removed from extra column names
    missing_survival: drop              # drop (default: leave out and count) | error
    drop_identifiers: false             # true: drop every detected identifier/date column
    keep_outcome_proxies: false         # true, or a list of source columns, to keep them
    samples: data_clinical_sample.txt   # table route: sample file (relative to the table)
    mutations: data_mutations.txt       # table route: MAF (needs samples)

Expressions (``filter`` and SQL mappings) are checked by :mod:`pipeline.cohorts.safe_sql`
when the spec is parsed, before any data is read. Mappings read the source columns before
identifier and date columns are dropped, text dates parsed (:mod:`pipeline.cohorts.dates`):
``survival_months: "COALESCE(date_of_death, last_contact) - date_of_diagnosis"`` with
``survival_unit: days`` and the three dates under ``drop:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.cohorts.safe_sql import check_expression
from pipeline.errors import CohortDataError
from pipeline.schema import CORE_BY_NAME

SURVIVAL_UNITS_TO_MONTHS = {
    "days": 12 / 365.25,
    "weeks": 12 / 52.1775,
    "months": 1.0,
    "years": 12.0,
}
_SPEC_KEYS = {
    "id_column", "filter", "columns", "values", "survival_unit", "drop", "keep_extras",
    "strip_prefixes", "missing_survival", "drop_identifiers", "keep_outcome_proxies", "samples", "mutations",
}  # fmt: skip
MISSING_SURVIVAL = ("drop", "error")


def looks_like_column(text: str) -> bool:
    """A bare column name (letters, digits, underscores) rather than an expression."""
    return text.replace("_", "").isalnum()


@dataclass(frozen=True)
class CohortSpec:
    """How one source maps onto the harmonized schema (see module docstring)."""

    id_column: str = "patient_id"
    columns: Mapping[str, str | list[str]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    filter: str | None = None
    survival_unit: str = "months"
    drop: tuple[str, ...] = ()
    keep_extras: bool = True
    strip_prefixes: tuple[str, ...] = ()
    missing_survival: str = "drop"
    drop_identifiers: bool = False
    keep_outcome_proxies: bool | tuple[str, ...] = False
    samples: str | None = None
    mutations: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, origin: str) -> CohortSpec:
        """Build a spec from parsed YAML, refusing unknown keys and schema columns."""
        unknown = set(raw) - _SPEC_KEYS
        if unknown:
            raise CohortDataError(
                f"unknown spec keys {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}",
                file=origin,
            )
        columns = dict(raw.get("columns") or {})
        values = {k: dict(v) for k, v in (raw.get("values") or {}).items()}
        for name in [*columns, *values]:
            if name not in CORE_BY_NAME or name in ("patient_id", "cohort"):
                raise CohortDataError(
                    "spec maps onto a column that is not a mappable schema column",
                    file=origin,
                    column=name,
                )
        unit = raw.get("survival_unit", "months")
        if unit not in SURVIVAL_UNITS_TO_MONTHS:
            raise CohortDataError(
                f"survival_unit must be one of {sorted(SURVIVAL_UNITS_TO_MONTHS)}",
                file=origin,
                value=unit,
            )
        _check_expressions(raw, columns, origin)
        missing_survival = raw.get("missing_survival", "drop")
        if missing_survival not in MISSING_SURVIVAL:
            raise CohortDataError(f"missing_survival must be one of {MISSING_SURVIVAL}", file=origin,
                                  value=missing_survival)  # fmt: skip
        keep = raw.get("keep_outcome_proxies", False)
        return cls(
            id_column=raw.get("id_column", "patient_id"),
            columns=columns,
            values=values,
            filter=raw.get("filter"),
            survival_unit=unit,
            drop=tuple(raw.get("drop") or ()),
            keep_extras=bool(raw.get("keep_extras", True)),
            strip_prefixes=tuple(raw.get("strip_prefixes") or ()),
            missing_survival=missing_survival,
            drop_identifiers=bool(raw.get("drop_identifiers", False)),
            keep_outcome_proxies=tuple(keep) if isinstance(keep, list | tuple) else bool(keep),
            samples=raw.get("samples"),
            mutations=raw.get("mutations"),
        )

    @classmethod
    def from_yaml(cls, path: Path) -> CohortSpec:
        """Read a spec file."""
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CohortDataError(f"cannot read spec: {exc}", file=str(path)) from exc
        if not isinstance(raw, dict):
            raise CohortDataError("a spec must be a YAML mapping", file=str(path))
        return cls.from_dict(raw, origin=str(path))

    def merged_over(self, base: CohortSpec) -> CohortSpec:
        """This spec's explicit entries layered over ``base`` (used for source defaults)."""
        return CohortSpec(
            id_column=self.id_column if self.id_column != "patient_id" else base.id_column,
            columns={**base.columns, **self.columns},
            values={**base.values, **self.values},
            filter=self.filter or base.filter,
            survival_unit=self.survival_unit if self.survival_unit != "months" else base.survival_unit,
            drop=tuple(dict.fromkeys([*base.drop, *self.drop])),
            keep_extras=self.keep_extras and base.keep_extras,
            strip_prefixes=self.strip_prefixes or base.strip_prefixes,
            missing_survival=self.missing_survival if self.missing_survival != "drop" else base.missing_survival,
            drop_identifiers=self.drop_identifiers or base.drop_identifiers,
            keep_outcome_proxies=self.keep_outcome_proxies or base.keep_outcome_proxies,
            samples=self.samples or base.samples,
            mutations=self.mutations or base.mutations,
        )

    def keeps_proxy(self, column: str) -> bool:
        """Whether the spec keeps this outcome-proxy column on purpose."""
        keep = self.keep_outcome_proxies
        return keep is True or (isinstance(keep, tuple) and column in keep)


def _check_expressions(raw: Mapping[str, Any], columns: Mapping[str, Any], origin: str) -> None:
    """Refuse unsafe SQL before anything is read."""
    if raw.get("filter") is not None:
        check_expression(raw["filter"], origin=origin, key="filter")
    for name, mapping in columns.items():
        if isinstance(mapping, str) and not looks_like_column(mapping):
            check_expression(mapping, origin=origin, key=name)
