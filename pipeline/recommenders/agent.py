"""The agentic reference (``reference:agent``): a recommender that works in three steps and reports each.

1. **Biomarker extraction** from the patient record as a reader would do it, by field names and values, not
   through the therapy table's reader: the field of each biomarker of the table (a ``genomic_variant_<gene>``
   flag, a receptor or MSI status) read as a person reads it: ``true``/1, ``Positive``, ``+``, ``Amplified``,
   ``MSI-H`` are positive; ``false``/0, ``Negative``, ``MSS``, ``wild type`` negative; anything else unknown.
2. **Evidence lookup** in the cited therapy table: the indications whose cancer, biomarker, line, stage and
   prior-therapy conditions hold for the extracted biomarkers (unextracted ones count as unknown).
3. **Decision:** the first indication's regimen, else the table's default for the cancer and line.

Its answer carries ``steps`` (the extracted biomarkers and the evidence ids) and a rationale, so each step is
scored on its own (:func:`pipeline.recommenders.metrics.steps_block`): biomarker recall and precision against
what the record holds, evidence matched against the indications the table gives, decision concordance. Served
over HTTP (``python -m pipeline.recommenders.serve reference:agent``) it is reached as an agent service is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.truth import NEGATIVE, POSITIVE, UNKNOWN, GuidelineTable, Patient

POSITIVE_WORDS = re.compile(r"^(positive|pos|\+|yes|true|1|amplified|mutated|msi-h|msi-high|dmmr|high)$", re.I)
NEGATIVE_WORDS = re.compile(r"^(negative|neg|-|no|false|0|wild ?type|wt|mss|msi-l|pmmr|low|not amplified)$", re.I)


def _reading(value: Any) -> str:
    """What a field's value says: positive, negative or unknown."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool | int | float):
        return POSITIVE if value == 1 else NEGATIVE if value == 0 else UNKNOWN
    text = str(value).strip()
    return POSITIVE if POSITIVE_WORDS.match(text) else NEGATIVE if NEGATIVE_WORDS.match(text) else UNKNOWN


class ReferenceAgent:
    """Extract, look up, decide (see the module)."""

    def __init__(self, table: GuidelineTable | None = None) -> None:
        self.table = table or load_guidelines()
        self.columns = {m.column: name for name, m in self.table.biomarkers.items() if m.column}

    def recommend(self, patients: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.answer(item) for item in patients]

    def extract(self, record: Mapping[str, Any]) -> dict[str, str]:
        """Step 1: each biomarker of the table read from the record's fields (positive, negative, unknown)."""
        status = dict.fromkeys(self.table.biomarkers, UNKNOWN)
        for column, name in self.columns.items():
            status[name] = _reading(record.get(column))
        for name, marker in self.table.biomarkers.items():
            if marker.any_of:
                states = [status[m] for m in marker.any_of]
                status[name] = (POSITIVE if POSITIVE in states
                                else NEGATIVE if all(s == NEGATIVE for s in states) else UNKNOWN)  # fmt: skip
        return status

    def answer(self, item: Mapping[str, Any]) -> dict[str, Any]:
        read = self.table.patient(item)  # cancer, stage, line and prior classes: the request's own fields
        patient: Patient = replace(read, status=self.extract(item.get("patient") or {}))
        evidence = self.table.indicated(patient)  # step 2
        steps = {"biomarkers": sorted(n for n, s in patient.status.items() if s == POSITIVE),
                 "evidence": [row.id for row in evidence]}  # fmt: skip
        if evidence:  # step 3
            row = evidence[0]
            therapy, regimen, why = row.therapy_class, row.regimen, f"{row.id}: {row.source.describe()}"
        else:
            default = self.table.default(patient)
            therapy, regimen = default.therapy_class, default.regimen
            why = f"no indication at line {patient.next_line}: {default.source.describe()}"
        rationale = f"biomarkers {', '.join(steps['biomarkers']) or 'none'}; {why}"
        return {"patient_id": patient.patient_id, "therapy_class": therapy, "agents": list(regimen),
                "rationale": rationale, "steps": steps}  # fmt: skip
