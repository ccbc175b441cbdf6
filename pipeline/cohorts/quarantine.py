"""Rows with a defect are left out of a study, by reason, instead of refusing the study.

A defect in one row (a value outside the schema's limits, a negative or non-finite survival, an
unparseable number, an empty or conflicting patient id) puts that row in quarantine: it is left
out and counted by reason with its first source rows and values. A study is refused only when
more than :data:`MAX_QUARANTINED_SHARE` of its rows are quarantined (then the defect is the
mapping, not the rows) or when ingestion is strict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.errors import CohortDataError

MAX_QUARANTINED_SHARE = 0.2  # more than this share of rows quarantined refuses the study
FIRST_ROWS = 5  # source rows named per reason


@dataclass(frozen=True)
class QuarantineReason:
    """One reason rows were quarantined: the source column, the rule, and the rows that broke it."""

    column: str
    rule: str
    rows: tuple[int, ...]  # every 1-based source row
    values: tuple[Any, ...]  # the value of each row, as read

    def describe(self, file: str) -> str:
        pairs = zip(self.rows[:FIRST_ROWS], self.values[:FIRST_ROWS], strict=True)
        shown = ", ".join(f"row {r} ({v!r})" for r, v in pairs)
        more = f" and {len(self.rows) - FIRST_ROWS} more" if len(self.rows) > FIRST_ROWS else ""
        return f"{len(self.rows)} row(s) of {file}, column {self.column!r}: {self.rule}: {shown}{more}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "rule": self.rule,
            "n_rows": len(self.rows),
            "first_rows": list(self.rows[:FIRST_ROWS]),
            "first_values": [_plain(v) for v in self.values[:FIRST_ROWS]],
        }


@dataclass
class Quarantine:
    """The rows of one harmonization put aside, and why; masks align with the source frame."""

    file: str
    rows: pl.Series  # 1-based source row of every frame row
    reasons: list[QuarantineReason] = field(default_factory=list)
    _mask: pl.Series | None = None

    def add(self, bad: pl.Series, values: pl.Series, column: str, rule: str) -> None:
        """Quarantine the rows where ``bad`` holds, saying which column broke which rule."""
        bad = bad.fill_null(False)
        if not bad.any():
            return
        rows = tuple(int(r) for r in self.rows.filter(bad).to_list())
        self.reasons.append(QuarantineReason(column, rule, rows, tuple(values.filter(bad).to_list())))
        self._mask = bad if self._mask is None else (self._mask | bad)

    @property
    def mask(self) -> pl.Series:
        """True for every quarantined row."""
        return self._mask if self._mask is not None else pl.Series([False] * self.rows.len())

    @property
    def n_rows(self) -> int:
        return int(self.mask.sum())

    def lines(self) -> list[str]:
        return [reason.describe(self.file) for reason in self.reasons]

    def refuse_if_too_many(self, n_rows: int, *, strict: bool) -> None:
        """Refuse the study when quarantine is not a few rows but the mapping, or when ``strict``."""
        if not self.reasons:
            return
        share = self.n_rows / max(n_rows, 1)
        if not strict and share <= MAX_QUARANTINED_SHARE:
            return
        why = "--strict refuses any defective row" if strict else (
            f"{self.n_rows} of {n_rows} rows ({share:.0%}) have defects, more than {MAX_QUARANTINED_SHARE:.0%}: "
            "the spec probably maps the wrong column or unit"
        )  # fmt: skip
        first = self.reasons[0]
        raise CohortDataError(
            "\n".join([f"{first.rule} ({why}); every defect:", *(f"  {line}" for line in self.lines())]),
            file=self.file,
            column=first.column,
            row=first.rows[0],
            value=first.values[0],
        )


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)
    return value
