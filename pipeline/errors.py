"""Typed errors that say what went wrong in the user's terms: file, column, row, value."""

from __future__ import annotations


class OncoBenchError(Exception):
    """Base class of every error OncoBench raises on purpose."""


class CohortDataError(OncoBenchError):
    """Bad input data: names the file and, where it applies, the column, row and value."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
    ) -> None:
        self.file, self.column, self.row, self.value = file, column, row, value
        where = []
        if file is not None:
            where.append(f"file {file}")
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class IdentifierColumnError(CohortDataError):
    """Columns that look like direct identifiers were found and not explicitly dropped."""


class RegistryError(OncoBenchError):
    """The cohort registry is malformed or names an unknown cohort."""
