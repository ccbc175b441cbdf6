"""The therapy table (``config/therapy_guidelines.yaml``): which therapy class a patient's biomarkers indicate
at the next line, which recommended agents are contraindicated, and what the guideline reference answers.

Every class and agent is checked against the journeys' drug vocabulary at load, so an answer validated
against this table is validated against that vocabulary. A patient is read from the same JSON record a
recommender receives (:mod:`pipeline.recommenders.interface`), so the truth and the recommender see one patient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline.errors import OncoBenchError
from pipeline.journeys.drugs import DrugVocabulary

POSITIVE, NEGATIVE, UNKNOWN = "positive", "negative", "unknown"
NO_AGENTS = "none"  # the agent class of best supportive care
ANY = "any"


class GuidelineError(OncoBenchError):
    """The therapy table is malformed or names what the drug vocabulary does not hold."""


@dataclass(frozen=True)
class Source:
    kind: str  # fda, guideline, none
    document: str
    date: str

    def describe(self) -> str:
        return f"{self.document} ({self.kind}, {self.date})" if self.date else self.document


@dataclass(frozen=True)
class Biomarker:
    name: str
    column: str | None
    positive: tuple[object, ...]
    any_of: tuple[str, ...]
    proxy_for: str = ""
    caveat: str = ""


@dataclass(frozen=True)
class TherapyClass:
    name: str
    agent_class: str
    agents: tuple[str, ...]  # generic names, in the file's order (the first is the class's usual agent)
    targets: str | None = None


@dataclass(frozen=True)
class Lines:
    minimum: int = 1
    maximum: int | None = None

    def __contains__(self, line: int) -> bool:
        return line >= self.minimum and (self.maximum is None or line <= self.maximum)


@dataclass(frozen=True)
class Indication:
    id: str
    cancers: frozenset[str] | None  # None: any code
    biomarker: str
    lines: Lines
    therapy_class: str
    regimen: tuple[str, ...]
    source: Source
    except_cancers: frozenset[str] = frozenset()
    negative: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    not_after: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    also_concordant: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Contraindication:
    id: str
    therapy_class: str
    source: Source
    requires: str | None = None
    requires_negative: tuple[str, ...] = ()
    cancers: frozenset[str] | None = None
    except_cancers: frozenset[str] = frozenset()
    except_agents: frozenset[str] = frozenset()
    note: str = ""


@dataclass(frozen=True)
class Default:
    cancers: frozenset[str] | None
    lines: Lines
    therapy_class: str
    regimen: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class Patient:
    """What the table reads of one patient: cancer code, stage at diagnosis, next line, classes received,
    and each biomarker's status."""

    patient_id: str
    code: str | None
    stage: str | None
    next_line: int
    received: frozenset[str]
    status: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GuidelineTable:
    path: Path
    version: str
    sha256: str
    biomarkers: dict[str, Biomarker]
    groups: dict[str, frozenset[str]]
    classes: dict[str, TherapyClass]
    indications: tuple[Indication, ...]
    contraindications: tuple[Contraindication, ...]
    defaults: tuple[Default, ...]
    fallback: Default
    vocabulary: DrugVocabulary

    @cached_property
    def class_of_agent(self) -> dict[str, str]:
        """Generic name -> the therapy class listing it."""
        return {agent: c.name for c in self.classes.values() for agent in c.agents}

    def patient(self, item: Mapping[str, Any]) -> Patient:
        """A patient as the table reads the request ``item`` (see :func:`pipeline.recommenders.interface.items`)."""
        record = item.get("patient") or {}
        owner = self.class_of_agent
        received = {owner[a] for line in item.get("lines") or () for a in line.get("regimen") or () if a in owner}
        code = record.get("primary_cancer_condition")
        stage = record.get("cancer_stage_group")
        status = {name: self._status(name, record) for name in self.biomarkers}
        return Patient(str(item["patient_id"]), None if code is None else str(code),
                       None if stage is None else str(stage), int(item.get("next_line") or 1),
                       frozenset(received), status)  # fmt: skip

    def _status(self, name: str, record: Mapping[str, Any]) -> str:
        marker = self.biomarkers[name]
        if marker.any_of:
            states = [self._status(m, record) for m in marker.any_of]
            return POSITIVE if POSITIVE in states else NEGATIVE if all(s == NEGATIVE for s in states) else UNKNOWN
        value = record.get(marker.column) if marker.column else None
        if value is None:
            return UNKNOWN
        return POSITIVE if value in marker.positive else NEGATIVE

    def in_cancers(self, code: str | None, cancers: frozenset[str] | None, excluded: frozenset[str]) -> bool:
        if code is not None and code in excluded:
            return False
        return cancers is None or (code is not None and code in cancers)

    def indicated(self, patient: Patient) -> list[Indication]:
        """The indications that match ``patient`` at its next line, in the file's order."""
        return [row for row in self.indications if self._matches(row, patient)]

    def _matches(self, row: Indication, p: Patient) -> bool:
        return (
            self.in_cancers(p.code, row.cancers, row.except_cancers)
            and p.status[row.biomarker] == POSITIVE
            and p.next_line in row.lines
            and (not row.stages or p.stage in row.stages)
            and all(p.status[b] == NEGATIVE for b in row.negative)
            and not any(p.status[b] == POSITIVE for b in row.unless)
            and not (p.received & set(row.not_after))
            and (not row.after or bool(p.received & set(row.after)))
        )

    def concordant_classes(self, rows: Iterable[Indication]) -> set[str]:
        return {c for row in rows for c in (row.therapy_class, *row.also_concordant)}

    def default(self, patient: Patient) -> Default:
        """What the guideline reference answers when no indication matches."""
        for row in self.defaults:
            if self.in_cancers(patient.code, row.cancers, frozenset()) and patient.next_line in row.lines:
                return row
        return self.fallback

    def contraindicated(self, patient: Patient, agents: Iterable[str]) -> list[dict[str, Any]]:
        """Each recommended agent a contraindication forbids for ``patient``, with the rule and why."""
        owner, found = self.class_of_agent, []
        for agent in agents:
            for rule in self.contraindications:
                if owner.get(agent) != rule.therapy_class or agent in rule.except_agents:
                    continue
                if not self.in_cancers(patient.code, rule.cancers, rule.except_cancers):
                    continue
                why = []
                if rule.requires and patient.status[rule.requires] != POSITIVE:
                    why.append(f"{rule.requires} {patient.status[rule.requires]}")
                why += [f"{b} {patient.status[b]} (must be negative)" for b in rule.requires_negative
                        if patient.status[b] != NEGATIVE]  # fmt: skip
                if why:
                    found.append({"agent": agent, "rule": rule.id, "why": "; ".join(why),
                                  "source": rule.source.describe()})  # fmt: skip
        return found
