"""What journey ingestion did: rows per file, quarantine, duplicates, agents mapped or unknown, lines.

Like the patient report (:mod:`pipeline.cohorts.report`): counts by reason with first file rows,
values as read; never a source identifier.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

FILE_COUNTS = ("rows", "quarantined", "not_in_patients", "added_by_combinations", "duplicates", "events")


@dataclass
class JourneyReport:
    """Everything journey ingestion left out, mapped or derived, with counts."""

    source: str = ""
    files: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> FILE_COUNTS
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # one entry per file and reason
    missing_tokens: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    n_source_ids_not_in_patients: int = 0
    agents_by_match: dict[str, int] = field(default_factory=dict)  # exact, fuzzy, ... -> events
    fuzzy_mapped: list[dict[str, Any]] = field(default_factory=list)  # {source, agent, rows}
    blinded: list[dict[str, Any]] = field(default_factory=list)  # {source, agent, rows}
    unknown_agents: dict[str, int] = field(default_factory=dict)  # agent -> events
    n_treatments_without_agent: int = 0
    n_before_day_zero: int = 0
    n_stop_next_day: int = 0  # stop = start + 1: often a stop filled in by hand
    event_types: dict[str, int] = field(default_factory=dict)
    n_events: int = 0
    n_patients_with_events: int = 0
    n_drug_events: int = 0
    n_lines: int = 0
    lines_per_patient: dict[int, int] = field(default_factory=dict)  # lines -> patients
    rule_sets: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall time
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def count_missing(self, column: str, counts: dict[str, int]) -> None:
        for token, n in counts.items():
            if n:
                self.missing_tokens[column][token] += n

    def count(self, file: str, what: str, n: int) -> None:
        counts = self.files.setdefault(file, dict.fromkeys(FILE_COUNTS, 0))
        counts[what] += int(n)

    @property
    def n_quarantined(self) -> int:
        return sum(c["quarantined"] for c in self.files.values())

    @property
    def n_duplicates(self) -> int:
        return sum(c["duplicates"] for c in self.files.values())

    @property
    def n_not_in_patients(self) -> int:
        return sum(c["not_in_patients"] for c in self.files.values())

    @property
    def unknown_agent_share(self) -> float:
        """Share of drug events whose agent is not in the vocabulary."""
        return sum(self.unknown_agents.values()) / self.n_drug_events if self.n_drug_events else 0.0

    def summary(self) -> str:
        """One line: events, patients with events, lines, unknown agents, quarantined rows."""
        return (f"{self.n_events} events of {self.n_patients_with_events} patients, {self.n_lines} lines of therapy, "
                f"{len(self.unknown_agents)} unknown agents ({self.unknown_agent_share:.1%} of drug events), "
                f"{self.n_quarantined} rows quarantined, {self.n_duplicates} duplicates dropped")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able) for metadata and datasheets."""
        return {
            "source": self.source,
            "files": {f: dict(c) for f, c in self.files.items()},
            "n_events": self.n_events,
            "n_patients_with_events": self.n_patients_with_events,
            "n_quarantined": self.n_quarantined,
            "quarantined": list(self.quarantined),
            "n_duplicates": self.n_duplicates,
            "n_not_in_patients": self.n_not_in_patients,
            "n_source_ids_not_in_patients": self.n_source_ids_not_in_patients,
            "event_types": dict(self.event_types),
            "n_drug_events": self.n_drug_events,
            "agents_by_match": dict(self.agents_by_match),
            "fuzzy_mapped": list(self.fuzzy_mapped),
            "blinded": list(self.blinded),
            "unknown_agents": dict(self.unknown_agents),
            "unknown_agent_share": round(self.unknown_agent_share, 4),
            "n_treatments_without_agent": self.n_treatments_without_agent,
            "n_before_day_zero": self.n_before_day_zero,
            "n_stop_next_day": self.n_stop_next_day,
            "n_lines": self.n_lines,
            "lines_per_patient": {str(k): v for k, v in sorted(self.lines_per_patient.items())},
            "rule_sets": list(self.rule_sets),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "missing_tokens": {c: dict(t) for c, t in sorted(self.missing_tokens.items())},
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """Human-readable report, one fact per line."""
        out = [self.summary()]
        for q in self.quarantined:
            shown = ", ".join(f"row {r} ({v!r})" for r, v in zip(q["first_rows"], q["first_values"], strict=True))
            more = f" and {q['n_rows'] - len(q['first_rows'])} more" if q["n_rows"] > len(q["first_rows"]) else ""
            out.append(f"quarantined {q['n_rows']} row(s) of {q['file']}, {q['column']}: {q['rule']}: {shown}{more}")
        if self.n_not_in_patients:
            out.append(f"left out {self.n_not_in_patients} event rows of {self.n_source_ids_not_in_patients} "
                       "patients who are not in the patient table")  # fmt: skip
        if self.n_duplicates:
            out.append(f"dropped {self.n_duplicates} exact duplicate events")
        if self.fuzzy_mapped:
            listing = ", ".join(f"{m['source']!r} -> {m['agent']} x{m['rows']}" for m in self.fuzzy_mapped)
            out.append(f"drug names mapped by fuzzy match: {listing}")
        if self.blinded:
            listing = ", ".join(f"{m['source']!r} -> {m['agent']} x{m['rows']}" for m in self.blinded)
            out.append(f"blinded arms read as their active drug: {listing}")
        if self.unknown_agents:
            listing = ", ".join(f"{a!r} x{n}" for a, n in sorted(self.unknown_agents.items(), key=lambda x: -x[1]))
            out.append(f"unknown agents kept (class other; add them to drugs.yaml to map them): {listing}")
        if self.n_treatments_without_agent:
            out.append(f"{self.n_treatments_without_agent} treatment events name no agent")
        if self.n_before_day_zero:
            out.append(f"{self.n_before_day_zero} events start before day 0 (diagnosis), kept")
        if self.n_stop_next_day:
            out.append(f"{self.n_stop_next_day} events stop the day after they start (a stop filled in by hand?), kept")
        out += [f"warning: {w}" for w in self.warnings]
        return out
