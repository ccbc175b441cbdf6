"""Privacy at the door: find identifiers and dates, and replace source ids by salted hashes.

Detection is by name (HIPAA Safe Harbor identifiers, id-like and date-like names) and by
value (e-mail, phone, SSN, UUIDs, accession-like ids, date strings, text unique per patient).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import duckdb
import polars as pl

from pipeline.settings import current

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
        "date": r"(^|_)(date|dates|datetime|timestamp|dt)($|_)|^date_of_|_date$",
        "identifier": r"(^|_)(uuid|guid|barcode|accession|submitter_id|aliquot_id|slide_id|specimen_id"
        r"|(other_)?(patient|sample|subject|case|specimen)_?id)($|_)|(^|_)ids?$",
    }.items()
}
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = (
    r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$",
    r"^\d{4}/\d{1,2}/\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?$",
    r"^\d{1,2}/\d{1,2}/\d{2,4}( \d{1,2}:\d{2}(:\d{2})?\s*([AaPp][Mm])?)?$",
    r"^\d{1,2}\.\d{1,2}\.\d{4}$",
    rf"(?i)^\d{{1,2}}[-. ]{_MONTHS}[-. ,]+\d{{2,4}}$",
    rf"(?i)^{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}}$",
    rf"(?i)^{_MONTHS}[-. ]\d{{4}}$",
)
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_ACCESSION = r"^[A-Za-z]{1,12}[-_.]?\d{2,}([-_.][A-Za-z0-9]+)*$"
_UNIQUE_MIN_VALUES = 10

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
    """Columns that look like identifiers or dates, by name, dtype or value, mapped to their kind."""
    found: dict[str, str] = {}
    for column in frame.columns:
        if column in ignore or column.startswith("__"):
            continue
        dtype = frame.schema[column]
        kind = identifier_kind(column)
        if kind is None and (dtype in (pl.Date, pl.Datetime, pl.Time) or isinstance(dtype, pl.Datetime)):
            kind = "date"
        if kind is None and (dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)):
            kind = _identifier_kind_by_values(frame.get_column(column).cast(pl.String), frame.height)
        if kind is not None:
            found[column] = kind
    return found


def _identifier_kind_by_values(values: pl.Series, n_rows: int) -> str | None:
    present = values.drop_nulls().str.strip_chars()
    present = present.filter(present != "")
    sample = present.head(500)
    if sample.len() == 0:
        return None
    patterns = {**_VALUE_PATTERNS, "uuid": _UUID}
    for kind, pattern in patterns.items():
        if sample.str.contains(pattern).mean() >= _VALUE_SHARE:
            return kind
    if any(sample.str.contains(p).mean() >= _VALUE_SHARE for p in _DATE_PATTERNS):
        return "date"
    unique = present.len() >= _UNIQUE_MIN_VALUES and present.n_unique() == present.len()
    if unique and present.cast(pl.Float64, strict=False).null_count() > 0:
        if sample.str.contains(_ACCESSION).mean() >= _VALUE_SHARE:
            return "accession-like id"
        if present.len() >= 0.5 * n_rows:
            return "text unique per patient"
    return None


def salt_file() -> Path:
    """Where the private salt lives: ``$ONCOBENCH_SALT_FILE`` or ``~/.config/oncobench/salt``."""
    return current().salt_path


def private_salt() -> str:
    """A random salt created on first use (mode 0600, outside the repository) and reused after."""
    path = salt_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(handle, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
    salt = path.read_text().strip()
    if not salt:
        raise OSError(f"the salt file {path} is empty; delete it to create a new one")
    return salt


def id_salt(*, public: bool = True, explicit: str | None = None) -> str:
    """The salt for patient-id hashes.

    ``$ONCOBENCH_ID_SALT`` wins, then an explicit non-default salt; otherwise public sources
    (registry cohorts marked public) use the public default and every other source the
    private salt of :func:`private_salt`.
    """
    configured = current().id_salt
    if configured:
        return configured
    if explicit and explicit != DEFAULT_SALT:
        return explicit
    return DEFAULT_SALT if public else private_salt()


def hash_patient_ids(source_ids: pl.Series, *, cohort: str, salt: str) -> pl.Series:
    """Salted SHA-256 (first 20 hex digits) of ``salt:cohort:source_id``, vectorized in DuckDB."""
    with duckdb.connect() as con:
        con.register("ids", pl.DataFrame({"source_id": source_ids.cast(pl.String)}))
        hashed = con.sql(
            "SELECT left(sha256($prefix || source_id), 20) AS patient_id FROM ids",
            params={"prefix": f"{salt}:{cohort}:"},
        ).pl()
    return hashed.get_column("patient_id")
