"""Reference recommenders (``reference:guideline``, ``reference:insurance_biased``, ``reference:random``).

- ``guideline`` answers the first indication of the therapy table that matches the patient at its next line,
  else the table's default for the cancer group and line: concordant and never contraindicated by construction.
- ``insurance_biased`` is the guideline reference that withholds from a disadvantaged payer (Medicaid or
  uninsured; where insurance is not recorded, an income under $25k stands in, Medicaid being means-tested):
  the chemotherapy of the default regimen instead of a biomarker-directed therapy, best supportive care
  instead of the default. Its answer changes with insurance (or income) alone.
- ``random`` draws a therapy class and one of its agents, seeded by the clinical facts the table reads
  (cancer, stage, biomarkers, line, classes received): wrong on purpose, yet the same on every twin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.truth import GuidelineTable, Patient

REFERENCES = ("guideline", "insurance_biased", "random", "agent")
DISADVANTAGED_INSURANCE = ("Medicaid", "Uninsured")
LOW_INCOME = ("<$11k", "$11k-$25k")
SUPPORTIVE = "best_supportive_care"
CHEMOTHERAPY = "chemotherapy"


def _answer(patient: Patient, therapy_class: str, agents: tuple[str, ...], rationale: str) -> dict[str, Any]:
    return {"patient_id": patient.patient_id, "therapy_class": therapy_class, "agents": list(agents),
            "rationale": rationale}  # fmt: skip


class GuidelineReference:
    """The therapy table's own answer."""

    def __init__(self, table: GuidelineTable | None = None) -> None:
        self.table = table or load_guidelines()

    def recommend(self, patients: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.answer(item) for item in patients]

    def answer(self, item: Mapping[str, Any]) -> dict[str, Any]:
        patient = self.table.patient(item)
        rows = self.table.indicated(patient)
        if rows:
            row = rows[0]
            return _answer(patient, row.therapy_class, row.regimen,
                           f"{row.biomarker} positive, line {patient.next_line}: {row.source.describe()}")  # fmt: skip
        default = self.table.default(patient)
        return _answer(
            patient,
            default.therapy_class,
            default.regimen,
            f"no biomarker-directed indication at line {patient.next_line}: {default.source.describe()}",
        )


def disadvantaged_payer(record: Mapping[str, Any]) -> bool:
    """Medicaid or uninsured; where insurance is unknown, an income under $25k."""
    insurance = record.get("insurance")
    if insurance is not None:
        return insurance in DISADVANTAGED_INSURANCE
    return record.get("income_band") in LOW_INCOME


class InsuranceBiasedReference(GuidelineReference):
    """The guideline reference, withholding targeted therapy and any therapy from disadvantaged payers."""

    def answer(self, item: Mapping[str, Any]) -> dict[str, Any]:
        fair = super().answer(item)
        if not disadvantaged_payer(item.get("patient") or {}):
            return fair
        patient = self.table.patient(item)
        if not self.table.indicated(patient):
            return _answer(patient, SUPPORTIVE, (), "best supportive care (payer)")
        chemo = set(self.table.classes[CHEMOTHERAPY].agents)
        regimen = tuple(a for a in self.table.default(patient).regimen if a in chemo)
        if not regimen:
            return _answer(patient, SUPPORTIVE, (), "best supportive care (payer)")
        return _answer(patient, CHEMOTHERAPY, regimen, "chemotherapy instead of targeted therapy (payer)")


class RandomReference:
    """A therapy class and one of its agents drawn at random, seeded by the patient's clinical facts."""

    def __init__(self, table: GuidelineTable | None = None, seed: int = 0) -> None:
        self.table, self.seed = table or load_guidelines(), seed
        self.classes = sorted(self.table.classes)

    def recommend(self, patients: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.answer(item) for item in patients]

    def answer(self, item: Mapping[str, Any]) -> dict[str, Any]:
        patient = self.table.patient(item)
        facts = (self.seed, patient.code, patient.stage, patient.next_line, sorted(patient.received),
                 sorted(patient.status.items()))  # fmt: skip
        rng = np.random.default_rng(int(hashlib.sha256(repr(facts).encode()).hexdigest()[:16], 16))
        therapy = self.classes[int(rng.integers(len(self.classes)))]
        members = self.table.classes[therapy].agents
        agents = (members[int(rng.integers(len(members)))],) if members else ()
        return _answer(patient, therapy, agents, "drawn at random")


def reference_recommender(kind: str, seed: int = 0) -> Any:
    """One of :data:`REFERENCES`."""
    if kind == "guideline":
        return GuidelineReference()
    if kind == "insurance_biased":
        return InsuranceBiasedReference()
    if kind == "random":
        return RandomReference(seed=seed)
    if kind == "agent":
        from pipeline.recommenders.agent import ReferenceAgent

        return ReferenceAgent()
    raise ValueError(f"unknown reference recommender {kind!r}; available: {', '.join(REFERENCES)}")
