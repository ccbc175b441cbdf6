"""What ingestion did to a source: warnings, nulls, dropped columns, patients left out.

The report travels with every read and harmonization; the CLI prints it, the asset shows it as
metadata and the datasheet can list it. Nothing in it is a source identifier value.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.cohorts.quarantine import Quarantine


@dataclass
class IngestReport:
    """Everything ingestion left out, changed or warned about, with counts."""

    source: str = ""
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing_tokens: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    dropped_identifiers: dict[str, str] = field(default_factory=dict)  # column -> kind
    outcome_proxies: dict[str, str] = field(default_factory=dict)  # column -> reason
    outcome_proxies_kept: bool = False
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> patients
    unknown_cancer_codes: dict[str, int] = field(default_factory=dict)
    timelines: dict[str, int] = field(default_factory=dict)  # file -> rows
    unused_files: list[str] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # one entry per reason
    n_quarantined: int = 0
    unknown_labels: list[dict[str, Any]] = field(default_factory=list)  # one entry per source column
    left_out_bias: list[dict[str, Any]] = field(default_factory=list)  # tests that found a difference
    n_filtered_out: int = 0  # rows the spec's filter removed
    declared_numbers: set[str] = field(default_factory=set)  # NUMBER columns with a few values that are not
    n_source_patients: int = 0
    n_patients: int = 0

    def warn(self, message: str) -> None:
        """Record a tolerated defect."""
        if message not in self.warnings:
            self.warnings.append(message)

    def count_missing(self, column: str, counts: dict[str, int]) -> None:
        """Add per-token counts of cells of ``column`` read as null."""
        for token, n in counts.items():
            if n:
                self.missing_tokens[column][token] += n

    def record_quarantine(self, quarantine: Quarantine) -> None:
        """Keep what was quarantined and why (values as read, first rows only)."""
        self.quarantined = [reason.as_dict() for reason in quarantine.reasons]
        self.n_quarantined = quarantine.n_rows

    def record_unknown_labels(self, unknown: list[Any]) -> None:
        """Labels no vocabulary or spec maps, per source column, and what became of them."""
        self.unknown_labels = [
            {"column": u.label, "target": u.target, "action": u.action,
             "values": [{"value": v, "rows": n, "first_row": r} for v, n, r in u.counts]}
            for u in unknown if u.action != "row quarantined"
        ]  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able) for metadata and datasheets."""
        return {
            "source": self.source,
            "files": list(self.files),
            "n_source_patients": self.n_source_patients,
            "n_patients": self.n_patients,
            "n_filtered_out": self.n_filtered_out,
            "n_quarantined": self.n_quarantined,
            "quarantined": list(self.quarantined),
            "unknown_labels": list(self.unknown_labels),
            "left_out_bias": list(self.left_out_bias),
            "left_out": dict(self.left_out),
            "warnings": list(self.warnings),
            "missing_tokens": {c: dict(t) for c, t in sorted(self.missing_tokens.items())},
            "dropped_identifiers": dict(self.dropped_identifiers),
            "outcome_proxies": dict(self.outcome_proxies),
            "outcome_proxies_kept": self.outcome_proxies_kept,
            "unknown_cancer_codes": dict(self.unknown_cancer_codes),
            "timelines": dict(self.timelines),
            "unused_files": list(self.unused_files),
        }

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = []
        if self.n_filtered_out:
            out.append(f"the spec's filter removed {self.n_filtered_out} rows")
        if self.quarantined:
            n, of = self.n_quarantined, self.n_source_patients
            out.append(f"quarantined {n} of {of} patients (left out for a defect):")
            for q in self.quarantined:
                shown = ", ".join(f"row {r} ({v!r})" for r, v in zip(q["first_rows"], q["first_values"], strict=True))
                more = f" and {q['n_rows'] - len(q['first_rows'])} more" if q["n_rows"] > len(q["first_rows"]) else ""
                out.append(f"  {q['n_rows']} x column {q['column']!r}: {q['rule']}: {shown}{more}")
        for u in self.unknown_labels:
            listing = ", ".join(f"{v['value']!r} x{v['rows']} (first at row {v['first_row']})" for v in u["values"])
            out.append(f"unknown labels of column {u['column']!r} ({u['target']}) {u['action']}: {listing}; "
                       f"map them in the spec under values: to keep them")  # fmt: skip
        for reason, n in self.left_out.items():
            out.append(f"left out {n} of {self.n_source_patients} patients: {reason}")
        if self.dropped_identifiers:
            listing = ", ".join(f"{c} ({k})" for c, k in self.dropped_identifiers.items())
            out.append(f"columns dropped (identifiers, dates, spec drop:): {listing}")
        if self.outcome_proxies:
            verb = "kept on purpose (spec keep_outcome_proxies)" if self.outcome_proxies_kept else "dropped"
            listing = ", ".join(f"{c} ({r})" for c, r in self.outcome_proxies.items())
            out.append(f"outcome proxies {verb}: {listing}")
        if self.unknown_cancer_codes:
            listing = ", ".join(f"{c} {n}" for c, n in sorted(self.unknown_cancer_codes.items()))
            out.append(f"cancer codes kept but not in the curated OncoTree table: {listing}")
        if self.missing_tokens:
            listing = "; ".join(
                f"{c}: " + ", ".join(f"{t!r} {n}" for t, n in counts.most_common())
                for c, counts in sorted(self.missing_tokens.items())
            )
            out.append(f"missing-value tokens read as null: {listing}")
        for name, rows in self.timelines.items():
            out.append(f"timeline {name}: {rows} rows (events and lines of therapy: see the journey report)")
        if self.unused_files:
            out.append(f"files not used: {', '.join(self.unused_files)}")
        out += [f"warning: {w}" for w in self.warnings]
        return out
