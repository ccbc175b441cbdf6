"""Findings: every score named by a rule of ``config/evaluation.yaml`` against its threshold, with the
cases a human should review.

A rule's ``score`` names where the value comes from:
``counterfactual.flip_rate`` (per attribute and mode), ``adversarial.change`` (per searched patient),
``subgroups.gap`` (whole split minus the worst judged group), ``subgroups.demographic_parity_difference``
and ``subgroups.equalized_odds_difference`` (per attribute or intersection),
``performance.<score>`` (e.g. calibration_slope) and ``stress.gap`` (per judged cell).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline.evaluation.config import FindingRule

# target, value, interval low and high, cases
Candidate = tuple[str, float | None, float | None, float | None, list[dict[str, Any]]]


def _candidates(rule: FindingRule, cohort: dict[str, Any], cases: dict[tuple[str, str], list]) -> Iterator[Candidate]:
    section, _, name = rule.score.partition(".")
    if section == "counterfactual" and name == "flip_rate":
        for e in cohort["counterfactual"]:
            yield (f"{e['attribute']} ({e['mode']})", e["flip_rate"], e["ci_low"], e["ci_high"],
                   cases.get((e["attribute"], e["mode"]), []))  # fmt: skip
    elif section == "adversarial" and name == "change":
        for w in cohort["adversarial"].get("worst", []):
            yield f"patient {w['base_patient_id']}", w["change"], None, None, [w]
    elif section == "subgroups" and name == "gap":
        worst = cohort["subgroups"].get("worst")
        if worst is not None:
            case = {k: worst[k] for k in ("attribute", "group", "n", "value", "ci_low", "ci_high")}
            yield f"{worst['attribute']}={worst['group']}", worst["gap"], None, None, [case]
    elif section == "subgroups":
        for f in cohort["subgroups"].get("fairness", []):
            if name in f:
                groups = [g for g in cohort["subgroups"]["groups"] if g["attribute"] == f["attribute"]]
                yield f["attribute"], f[name], None, None, [{"group": g["group"], "n": g["n"]} for g in groups]
    elif section == "performance" and isinstance(cohort["performance"].get(name), dict):
        s = cohort["performance"][name]
        yield "test split", s["value"], s["ci_low"], s["ci_high"], []
    elif section == "stress" and name == "gap":
        metric = cohort["stress"]["metric"]
        for c in cohort["stress"]["cells"]:
            if c["judged"]:
                yield (f"{c['type']}: {c['cell']}", c["gap"], None, None,
                       [{"cell": c["cell"], "n": c["n"], metric: c[metric]}])  # fmt: skip


def judge(rules: tuple[FindingRule, ...], cohort: dict[str, Any], cases: dict[tuple[str, str], list],
          max_cases: int) -> list[dict[str, Any]]:  # fmt: skip
    """One finding per rule: passed, the scores checked, and the breaches with their cases."""
    findings = []
    for rule in rules:
        checked, breaches = 0, []
        for target, value, low, high, flagged in _candidates(rule, cohort, cases):
            checked += value is not None
            if rule.breached(value, low, high):
                breaches.append({"target": target, "value": value, "ci_low": low, "ci_high": high,
                                 "cases": flagged[:max_cases]})  # fmt: skip
        findings.append({"id": rule.id, "rule": rule.describe(), "why": rule.why, "checked": checked,
                         "passed": not breaches, "breaches": breaches})  # fmt: skip
    return findings
