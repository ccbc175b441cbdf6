"""Scores of a multi-step recommender's steps (an agent's ``steps``, see :mod:`pipeline.recommenders.interface`).

- ``biomarker_recall``: of the positive biomarkers the record holds (as the therapy table reads it), the share the
  agent extracted; ``biomarker_precision``: of those it extracted, the share the record holds;
- ``evidence_match``: of the actionable patients (an indication matches them), the share whose cited evidence is
  exactly the table's matching indications;
- the decision is the recommendation itself, scored by concordance.

Wilson 95% intervals, over the test split's patients that reported steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.recommenders.interface import Recommendation
from pipeline.recommenders.metrics import proportion
from pipeline.recommenders.truth import POSITIVE, GuidelineTable


def steps_block(
    table: GuidelineTable, items: Sequence[dict[str, Any]], recommendations: Sequence[Recommendation], max_cases: int
) -> dict[str, Any] | None:
    """The step scores (see the module), the patients behind them and the first misses; None when no answer
    reported steps."""
    reported = [(i, r) for i, r in zip(items, recommendations, strict=True) if r.steps is not None]
    if not reported:
        return None
    held = found = claimed = right = actionable = matched = 0
    misses: list[dict[str, Any]] = []
    for item, recommendation in reported:
        patient = table.patient(item)
        truth = {name for name, status in patient.status.items() if status == POSITIVE}
        said = set(recommendation.steps.get("biomarkers", ()))
        held, found, claimed, right = (
            held + len(truth),
            found + len(truth & said),
            claimed + len(said),
            right + len(said & truth),
        )
        expected = {row.id for row in table.indicated(patient)}
        cited = set(recommendation.steps.get("evidence", ()))
        if expected:
            actionable += 1
            matched += cited == expected
        if (truth != said or (expected and cited != expected)) and len(misses) < max_cases:
            misses.append({"patient_id": patient.patient_id, "biomarkers": sorted(truth), "extracted": sorted(said),
                           "evidence": sorted(expected), "cited": sorted(cited)})  # fmt: skip
    return {"reported": len(reported), "of": len(items), "biomarker_recall": proportion(found, held),
            "biomarker_precision": proportion(right, claimed), "evidence_match": proportion(matched, actionable),
            "misses": misses}  # fmt: skip
