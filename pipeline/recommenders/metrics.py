"""Scores of a recommender on one cohort, with Wilson intervals, and its findings.

- ``concordance``: among the test split's actionable patients (an indication of the therapy table matches them
  at their next line), the share recommended a concordant class; the discordant cases.
- ``contraindicated``: per split (test, stress suite), the patients given an agent a contraindication forbids,
  with every rule broken.
- ``counterfactual``: the flip rate of the recommendation (class and agents) across the stress suite's twins, per
  attribute and mode, by the model harness's own :func:`~pipeline.evaluation.counterfactual.counterfactual_scores`.
- ``stress``: concordance on rare biomarker cells (indications matched by under ``rare_cell_share`` of the
  actionable patients) and on the stress suite's edge-case and upsampled cells, against the test split's.
- ``subgroups``: concordance per protected subgroup of the actionable test patients, the worst judged group and
  its gap below the whole split.

Findings reuse :mod:`pipeline.evaluation.findings`: the block has the shape its rules read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pipeline.evaluation import stats
from pipeline.evaluation.config import FindingRule
from pipeline.evaluation.counterfactual import Decisions, counterfactual_scores, twin_pairs
from pipeline.evaluation.findings import Candidate, judge, judge_rule
from pipeline.evaluation.stress_cells import gap_interval
from pipeline.evaluation.tasks import MULTICLASS
from pipeline.recommenders.interface import Recommendation
from pipeline.release.tasks import Task
from pipeline.stress.tags import EDGE_CASE, UPSAMPLE
from pipeline.subgroups import subgroup_labels

METRIC = "concordance"
RARE = "rare_biomarker"


@dataclass(frozen=True)
class Appraisal:
    """One recommendation against the therapy table."""

    patient_id: str
    recommendation: Recommendation
    cell: str | None  # the first matching indication (None: not actionable)
    concordant_classes: tuple[str, ...]
    contraindications: tuple[dict[str, Any], ...]

    @property
    def actionable(self) -> bool:
        return self.cell is not None

    @property
    def concordant(self) -> bool:
        return self.recommendation.therapy_class in self.concordant_classes


def appraise(table: Any, items: Sequence[dict[str, Any]], recommendations: Sequence[Recommendation]) -> list[Appraisal]:
    """Each recommendation's indication, concordant classes and contraindications."""
    found = []
    for item, rec in zip(items, recommendations, strict=True):
        patient = table.patient(item)
        rows = table.indicated(patient)
        found.append(Appraisal(rec.patient_id, rec, rows[0].id if rows else None,
                               tuple(sorted(table.concordant_classes(rows))),
                               tuple(table.contraindicated(patient, rec.agents))))  # fmt: skip
    return found


def proportion(successes: int, n: int) -> dict[str, Any]:
    """A share with its Wilson 95% interval, as the output contract writes scores."""
    low, high = stats.wilson(successes, n)
    return stats.score(successes / n if n else None, low, high, n)


def concordance_block(appraisals: Sequence[Appraisal], max_cases: int) -> dict[str, Any]:
    actionable = [a for a in appraisals if a.actionable]
    hits = sum(a.concordant for a in actionable)
    cases = [{"patient_id": a.patient_id, "indication": a.cell, "concordant_classes": list(a.concordant_classes),
              "recommended": a.recommendation.key} for a in actionable if not a.concordant]  # fmt: skip
    by_cell = defaultdict(int)
    for a in actionable:
        by_cell[a.cell] += 1
    return {**proportion(hits, len(actionable)), "concordant": hits, "patients": len(appraisals),
            "indications": dict(sorted(by_cell.items())), "discordant": len(cases),
            "cases": cases[:max_cases]}  # fmt: skip


def contraindication_block(appraisals: Sequence[Appraisal], max_cases: int) -> dict[str, Any]:
    flagged = [a for a in appraisals if a.contraindications]
    rules = defaultdict(int)
    for a in flagged:
        for c in a.contraindications:
            rules[c["rule"]] += 1
    cases = [{"patient_id": a.patient_id, "recommended": a.recommendation.key, "contraindications":
              list(a.contraindications)} for a in flagged]  # fmt: skip
    return {"patients": len(flagged), "of": len(appraisals), **{"rate": proportion(len(flagged), len(appraisals))},
            "rules": dict(sorted(rules.items())), "cases": cases[:max_cases]}  # fmt: skip


def _cell_entry(kind: str, cell: str, members: list[Appraisal], common: dict[str, Any], min_rows: int,
                share: float | None = None) -> dict[str, Any]:  # fmt: skip
    score = proportion(sum(a.concordant for a in members), len(members))
    judged = len(members) >= min_rows and score["value"] is not None and common["value"] is not None
    low, high = gap_interval(common, score) if judged else (None, None)
    entry = {"type": kind, "cell": cell, "n": len(members), METRIC: score, "judged": judged,
             "gap": round(common["value"] - score["value"], 6) if judged else None, "gap_ci_low": low,
             "gap_ci_high": high}  # fmt: skip
    return entry if share is None else {**entry, "share": round(share, 4)}


def cells_block(
    common: dict[str, Any], test: Sequence[Appraisal], stress: pl.DataFrame, stress_appraisals: Sequence[Appraisal],
    *, rare_share: float, min_rows: int,
) -> dict[str, Any]:  # fmt: skip
    """Rare biomarker cells of the test split and the stress suite's cells, against the test split's concordance."""
    actionable = [a for a in test if a.actionable]
    by_cell: dict[str, list[Appraisal]] = defaultdict(list)
    for a in actionable:
        by_cell[a.cell].append(a)
    cells = [_cell_entry(RARE, cell, members, common, min_rows, len(members) / len(actionable))
             for cell, members in sorted(by_cell.items()) if len(members) < rare_share * len(actionable)]  # fmt: skip
    if "stress_type" in stress.columns:
        groups: dict[tuple[str, str], list[Appraisal]] = defaultdict(list)
        for a, kind, cell in zip(stress_appraisals, stress["stress_type"], stress["stress_cell"], strict=True):
            if kind in (EDGE_CASE, UPSAMPLE) and a.actionable:
                groups[(kind, str(cell))].append(a)
        cells += [
            _cell_entry(kind, cell, members, common, min_rows) for (kind, cell), members in sorted(groups.items())
        ]
    return {"metric": METRIC, "common": common, "cells": cells}


def subgroups_block(
    frame: pl.DataFrame, reference: pl.DataFrame, test: Sequence[Appraisal], protected: Sequence[str], min_rows: int
) -> dict[str, Any]:
    """Concordance per subgroup of each protected attribute, among the actionable test patients."""
    actionable = {a.patient_id: a for a in test if a.actionable}
    overall = proportion(sum(a.concordant for a in actionable.values()), len(actionable))["value"]
    groups = []
    for attribute in [a for a in protected if a in frame.columns and frame[a].drop_nulls().n_unique() >= 2]:
        labels = subgroup_labels(frame, attribute, reference if attribute in reference.columns else None)
        members: dict[str, list[Appraisal]] = defaultdict(list)
        for pid, label in zip(frame["patient_id"].to_list(), labels.to_list(), strict=True):
            if label is not None and pid in actionable:
                members[label].append(actionable[pid])
        for label, group in sorted(members.items()):
            groups.append({"attribute": attribute, "group": label, "n": len(group), "events": None,
                           "judged": len(group) >= min_rows,
                           METRIC: proportion(sum(a.concordant for a in group), len(group))})  # fmt: skip
    return {"metric": METRIC, "overall": overall, "groups": groups, "worst": _worst(groups, overall), "fairness": []}


def _worst(groups: list[dict[str, Any]], overall: float | None) -> dict[str, Any] | None:
    judged = [g for g in groups if g["judged"] and g[METRIC]["value"] is not None]
    worst = min(judged, key=lambda g: g[METRIC]["value"], default=None)
    if worst is None or overall is None:
        return None
    score = worst[METRIC]
    return {"attribute": worst["attribute"], "group": worst["group"], "n": worst["n"], **score,
            "gap": round(overall - score["value"], 6), "gap_ci_low": round(overall - score["ci_high"], 6),
            "gap_ci_high": round(overall - score["ci_low"], 6), "judged_groups": len(judged)}  # fmt: skip


def flip_block(
    stress: pl.DataFrame, recommendations: Sequence[Recommendation], max_cases: int
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], list[dict[str, Any]]]]:
    """Flip rates across the stress suite's twins (``recommendations``: one per stress row): a recommendation is
    one class of a one-hot "prediction"."""
    if "stress_type" not in stress.columns:
        return [], {}
    pairs = twin_pairs(stress.with_row_index("__stress_row"))
    if pairs.is_empty():
        return [], {}
    keys = [recommendations[i].key for i in pairs["__stress_row"].to_list()]
    labels = sorted(set(keys))
    onehot = np.zeros((pairs.height, len(labels)))
    onehot[pairs["__row"].to_numpy(), [labels.index(k) for k in keys]] = 1.0
    task = Task("recommendation", MULTICLASS, "recommended class and agents", classes=tuple(labels))
    entries, cases = counterfactual_scores(pairs, onehot, Decisions(task), bins=2, max_cases=max_cases)
    for listed in cases.values():
        for case in listed:
            case["base_decision"], case["twin_decision"] = labels[case["base_decision"]], labels[case["twin_decision"]]
    return entries, cases


def findings(
    rules: Sequence[FindingRule], block: dict[str, Any], cases: dict[tuple[str, str], list], max_cases: int
) -> list[dict[str, Any]]:
    """One finding per rule, in the config's order; ``recommendations.*`` rules read this module's blocks."""
    judged = []
    for rule in rules:
        if rule.score == "recommendations.concordance":
            c = block["concordance"]
            candidates = [Candidate("test split: actionable patients", c["value"], c["ci_low"], c["ci_high"],
                                    c["cases"])] if c["n"] else []  # fmt: skip
            judged.append(judge_rule(rule, candidates, max_cases))
        elif rule.score == "simulation.regret":  # not applicable on a release without journeys
            r = block.get("regret") or {"value": None}
            candidates = [Candidate("test split: actionable patients", r["value"], r["ci_low"], r["ci_high"])
                          ] if r["value"] is not None else []  # fmt: skip
            judged.append(judge_rule(rule, candidates, max_cases))
        elif rule.score == "recommendations.contraindicated":
            candidates = [Candidate(split, float(b["patients"]), cases=b["cases"])
                          for split, b in block["contraindicated"].items() if b["of"]]  # fmt: skip
            judged.append(judge_rule(rule, candidates, max_cases))
        else:
            judged += judge((rule,), block, cases, max_cases)
    return judged
