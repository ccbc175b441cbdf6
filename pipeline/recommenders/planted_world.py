"""A planted world for inverse simulation: journeys whose best line is known, to validate the simulator and regret.

Patients with lung adenocarcinoma (EGFR, ALK, KRAS or no driver), colorectal cancer (MSI-H, BRAF or none) and
breast cancer (HER2, ER or neither), stage, age and insurance, each with one to three lines. Each line's class is
drawn at random (the therapy table's default, a class matching the patient, or another class), so the world is a
randomized trial and the simulator's associations are the planted effects: a line whose class is concordant with a
matching indication lasts ``effect`` times longer (Weibull times to the next line), every class otherwise alike.
Fresh patients (the request items) get a history of zero to two lines drawn the same way and are asked for the
next one. Regret in this world is known: the guideline reference's is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.recommenders.simulator import LINE_COLUMNS, matched
from pipeline.recommenders.truth import GuidelineTable, Patient

CANCERS = {"LUAD": ("EGFR", "ALK", "KRAS", None), "COAD": ("MSI", "BRAF", None), "IDC": ("HER2", "ER", None)}
COLUMNS = {"EGFR": "genomic_variant_egfr", "ALK": "genomic_variant_alk", "KRAS": "genomic_variant_kras",
           "BRAF": "genomic_variant_braf", "MSI": "msi_status", "HER2": "tumor_marker_her2_status",
           "ER": "tumor_marker_er_status"}  # fmt: skip
POSITIVE = {"MSI": "MSI-H", "HER2": "Positive", "ER": "Positive"}
NEGATIVE = {"MSI": "MSS", "HER2": "Negative", "ER": "Negative"}
INSURANCE = ("Private", "Medicare", "Medicaid", "Uninsured")
BASE_DAYS, SHAPE = 180.0, 1.3


@dataclass(frozen=True)
class World:
    """Request items (one per patient, at a random next line), their features, and the lines of other patients."""

    items: list[dict]
    ages: list[float]
    stage_iv: list[bool]
    lines: pl.DataFrame  # LINE_COLUMNS: the journeys the simulator learns from


def _record(rng: np.random.Generator) -> tuple[dict, float, bool]:
    code = str(rng.choice(list(CANCERS)))
    driver = CANCERS[code][int(rng.integers(len(CANCERS[code])))]
    record = {"primary_cancer_condition": code, "cancer_stage_group": str(rng.choice(["II", "III", "IV"]))}
    for name, column in COLUMNS.items():
        if name in CANCERS[code]:
            record[column] = POSITIVE.get(name, True) if name == driver else NEGATIVE.get(name, False)
    age = float(np.clip(rng.normal(64, 10), 25, 95))
    record |= {"age_at_diagnosis": age, "insurance": str(rng.choice(INSURANCE))}
    return record, age, record["cancer_stage_group"] == "IV"


def _item(pid: str, record: dict, line: int, history: list[str], table: GuidelineTable) -> dict:
    agents = [table.classes[c].agents[0] for c in history if table.classes[c].agents]
    lines = [{"line": i + 1, "regimen": [a], "regimen_class": "other", "start_day": 0, "end_day": 0}
             for i, a in enumerate(agents)]  # fmt: skip
    return {"patient_id": pid, "next_line": line, "patient": record, "lines": lines}


def planted_world(table: GuidelineTable, n_patients: int, *, seed: int, effect: float = 2.0) -> World:
    """Journeys of ``n_patients`` patients (the simulator's data) and as many fresh request items (see the module)."""
    rng = np.random.default_rng(seed)
    classes = sorted(c for c in table.classes if table.classes[c].agents)
    rows, items, ages, stages = [], [], [], []
    for i in range(2 * n_patients):
        record, age, stage_iv = _record(rng)
        history: list[str] = []
        depth = int(rng.integers(1, 4))
        for line in range(1, depth + 1):
            item = _item(f"w{seed}-{i}", record, line, history, table)
            patient: Patient = table.patient(item)
            if i >= n_patients and line == depth:  # a fresh patient asked for its next line, after depth - 1
                items.append(item)
                ages.append(age)
                stages.append(stage_iv)
                break
            concordant = sorted(table.concordant_classes(table.indicated(patient)))
            options = [table.default(patient).therapy_class, *concordant, str(rng.choice(classes))]
            given = options[int(rng.integers(len(options)))]
            hit = matched(table, patient, given)
            days = BASE_DAYS * (effect if hit else 1.0) * rng.weibull(SHAPE)
            follow_up = rng.uniform(200, 1500)
            history.append(given)
            if i >= n_patients:  # a fresh patient's earlier lines are its history, not the simulator's data
                continue
            rows.append({"patient_id": f"w{seed}-{i}", "line": line, "therapy_class": given, "matched": hit,
                         "stage_iv": stage_iv, "age": age, "days": float(min(days, follow_up)),
                         "event": int(days <= follow_up)})  # fmt: skip
            if days > follow_up:
                break
    return World(items, ages, stages, pl.DataFrame(rows, schema=LINE_COLUMNS))
