"""Privacy at the door: find direct identifiers and replace source ids by salted hashes."""

from __future__ import annotations

import os
import re

import duckdb
import polars as pl

# Column-name patterns of HIPAA Safe Harbor direct identifiers, on snake_case names.
_NAME_PATTERNS: dict[str, re.Pattern[str]] = {
    kind: re.compile(pattern)
    for kind, pattern in {
        "name": r"^(name|full_name)$|(^|_)(first|last|given|family|middle|maiden|patient|sur)_?name($|_)",
        "record number": r"(^|_)(mrn|medical_record(_number)?|record_(number|no)|chart_(number|no)"
        r"|account_(number|no)|health_plan_(id|number)|beneficiary_(id|number))($|_)",
        "date of birth": r"(^|_)(dob|date_of_birth|birth_?date|birth_?day)($|_)",
        "address": r"(^|_)(address|street|street_address|postal_address|zip|zip_?code|postcode"
        r"|postal_code|ip_address)($|_)",
        "phone": r"(^|_)(phone|telephone|phone_number|mobile|fax|cell_phone)($|_)",
        "email": r"(^|_)e_?mail(_address)?($|_)",
        "national id": r"(^|_)(ssn|social_security(_number)?|national_id|nhs_number|passport"
        r"(_number)?|drivers?_licen[cs]e|medicare_number|medicaid_id)($|_)",
    }.items()
}

# Value patterns: a string column where most non-null values look like these is refused.
_VALUE_PATTERNS: dict[str, str] = {
    "email": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "phone": r"^\+?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}$",
    "national id": r"^\d{3}-\d{2}-\d{4}$",
}
_VALUE_SHARE = 0.5
DEFAULT_SALT = "oncobench-public-cohorts"


def snake_case(name: str) -> str:
    """``'Patient's Vital Status'`` -> ``'patient_s_vital_status'``."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def identifier_kind(column: str) -> str | None:
    """The kind of direct identifier a column name suggests, or None."""
    normalized = snake_case(column)
    for kind, pattern in _NAME_PATTERNS.items():
        if pattern.search(normalized):
            return kind
    return None


def find_identifier_columns(frame: pl.DataFrame, *, ignore: set[str]) -> dict[str, str]:
    """Columns that look like direct identifiers, by name or by value, mapped to their kind."""
    found: dict[str, str] = {}
    for column in frame.columns:
        if column in ignore:
            continue
        kind = identifier_kind(column)
        if kind is None and frame.schema[column] == pl.String:
            kind = _identifier_kind_by_values(frame.get_column(column))
        if kind is not None:
            found[column] = kind
    return found


def _identifier_kind_by_values(values: pl.Series) -> str | None:
    sample = values.drop_nulls().head(500).str.strip_chars()
    if sample.len() == 0:
        return None
    for kind, pattern in _VALUE_PATTERNS.items():
        if sample.str.contains(pattern).mean() >= _VALUE_SHARE:
            return kind
    return None


def id_salt() -> str:
    """The salt for patient-id hashes: ``$ONCOBENCH_ID_SALT`` or the public default."""
    return os.environ.get("ONCOBENCH_ID_SALT", DEFAULT_SALT)


def hash_patient_ids(source_ids: pl.Series, *, cohort: str, salt: str) -> pl.Series:
    """Salted SHA-256 (first 20 hex digits) of ``salt:cohort:source_id``, vectorized in DuckDB."""
    with duckdb.connect() as con:
        con.register("ids", pl.DataFrame({"source_id": source_ids.cast(pl.String)}))
        hashed = con.sql(
            "SELECT left(sha256($prefix || source_id), 20) AS patient_id FROM ids",
            params={"prefix": f"{salt}:{cohort}:"},
        ).pl()
    return hashed.get_column("patient_id")
