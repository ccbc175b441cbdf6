"""Findings: every score named by a rule of ``config/evaluation.yaml`` against its bounds, as a statistical
verdict (pass, fail or inconclusive, the vocabulary of the release gates), with the cases a human should review.

A rule's ``score`` names its candidates (what is compared with the bounds), each with a 95% interval:

- ``counterfactual.flip_rate``: per attribute and twin mode (Wilson interval);
- ``adversarial.change``: per searched patient; the result of a search, not an estimate, so no interval;
- ``subgroups.gap``: the worst judged group's expected score (model-based concordance of its own
  predictions, :mod:`pipeline.evaluation.casemix`) minus its score, the interval from the group's bootstrap
  interval ([expected - group high, expected - group low]); it stands for every judged group it was picked
  from (see below);
- ``subgroups.demographic_parity_difference`` and ``subgroups.equalized_odds_difference``: per attribute or
  intersection with at least two judged groups (bootstrap intervals, :mod:`pipeline.evaluation.fairness`);
- ``performance.<score>`` (e.g. calibration_slope): the test split (bootstrap interval);
- ``stress.gap``: per judged cell, the common cells' score minus the cell's (half-widths in quadrature);
- ``explanations.top_k_margin``: per protected attribute or proxy the model sees, its mean |attribution|
  minus the k-th largest other feature's, as a share of the total (bootstrap interval over the explained
  rows; above 0: it ranks among the top k, :mod:`pipeline.evaluation.explanations`).

Verdict of a candidate: **fail** when its interval lies entirely beyond a bound (e.g. low > max), **pass**
when it lies entirely within (high <= max and low >= min), **inconclusive** otherwise. A candidate without
an interval (the adversarial search) is judged on its value: beyond a bound fails, else it passes. An
estimate whose interval could not be computed, a group too small to tell, or a missing value is listed as
not judged.

Multiplicity: a finding compares k candidates at once (the worst subgroup counts as every judged group it
was picked from), so each 95% interval is widened Bonferroni-style before it is judged: its half-widths
(on either side of the value) are scaled by z(1 - 0.025 / k) / z(0.975), a normal approximation of a
two-sided 1 - 0.05 / k interval. A finding then fails a model that meets every bound with probability at
most 2.5%, and passes one that breaks a bound with at most 2.5% (one-sided, per finding).

Clinical attributes (age; ``clinical_attributes`` of the config) are exempt from the findings that ask a
prediction not to depend on an attribute or to be spread equally over its groups (``EXEMPT_SCORES``): a
clinical model may use age. Their candidates are listed as not judged, with that reason, and a finding
with nothing else to judge is "not applicable".

Verdict of a finding: fail if any candidate fails; pass if every judged candidate passes and at least one
was judged; inconclusive otherwise (including when candidates are listed but none could be judged). A
finding without any candidate, because the task has no such score (demographic parity or a calibration
slope of a survival model), is "not applicable". ``passed`` is ``verdict != "fail"``, so consumers that
list failed findings keep working.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from pipeline.evaluation.config import VALUE_SCORES, FindingRule
from pipeline.evaluation.stats import Z95
from pipeline.evaluation.subgroups import SEPARATOR

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
EXEMPT_SCORES = ("counterfactual.flip_rate", "subgroups.demographic_parity_difference",
                 "subgroups.equalized_odds_difference")  # fmt: skip  # clinical attributes are not judged by these
CLINICAL = "a clinical attribute (clinical_attributes): a model may use it, so it is audited for performance only"
NOT_APPLICABLE = "not applicable"  # the task has no such score: nothing to list or judge
FAMILY_ALPHA = 0.05  # two-sided, per finding


@dataclass(frozen=True)
class Candidate:
    """One score compared with a rule's bounds, with its 95% interval (None: none) and the cases behind it."""

    target: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    cases: list[dict[str, Any]] = field(default_factory=list)
    not_judged: str = ""  # why it is listed but not judged; empty: judged
    among: int = 1  # comparisons it stands for (the worst of ``among`` groups)
    attributes: tuple[str, ...] = ()  # the protected attributes it is about (exempt when one is clinical)

    @property
    def has_interval(self) -> bool:
        return _known(self.ci_low) and _known(self.ci_high)


def _known(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def widening(k: int) -> float:
    """Bonferroni factor of a 95% interval's half-widths for ``k`` comparisons: z(1 - 0.025/k) / z(0.975)."""
    return NormalDist().inv_cdf(1 - FAMILY_ALPHA / 2 / max(k, 1)) / Z95


def widen(value: float, low: float, high: float, factor: float) -> tuple[float, float]:
    """[low, high] with each half-width scaled by ``factor`` around ``value`` (around the midpoint when the
    value lies outside the interval, as a percentile bootstrap's can)."""
    centre = value if low <= value <= high else (low + high) / 2
    return centre - factor * (centre - low), centre + factor * (high - centre)


def candidate_verdict(
    rule: FindingRule, value: float, low: float | None, high: float | None, factor: float = 1.0
) -> tuple[str, tuple[float, float] | None]:
    """(verdict, the widened interval judged, or None when judged on the value alone)."""
    if not (_known(low) and _known(high)):
        return (FAIL if rule.beyond(value) else PASS), None
    low, high = widen(value, low, high, factor)
    beyond = (rule.maximum is not None and low > rule.maximum) or (rule.minimum is not None and high < rule.minimum)
    if beyond:
        return FAIL, (low, high)
    return (PASS if rule.within(low, high) else INCONCLUSIVE), (low, high)


def finding_verdict(verdicts: list[str]) -> str:
    """fail if any candidate fails; pass if all pass (at least one judged); inconclusive otherwise."""
    if FAIL in verdicts:
        return FAIL
    return PASS if verdicts and all(v == PASS for v in verdicts) else INCONCLUSIVE


def _groups(cohort: dict[str, Any], attribute: str) -> list[dict[str, Any]]:
    return [{k: g.get(k) for k in ("group", "n", "events", "judged")} for g in cohort["subgroups"]["groups"]
            if g["attribute"] == attribute]  # fmt: skip


def _subgroup_candidates(name: str, cohort: dict[str, Any]) -> Iterator[Candidate]:
    block, metric = cohort["subgroups"], cohort["subgroups"].get("metric")
    if name == "gap":
        worst = block.get("worst")
        if worst is not None:
            case = {k: worst[k] for k in ("attribute", "group", "n", "value", "ci_low", "ci_high")}
            yield Candidate(f"{worst['attribute']}={worst['group']}", worst["gap"], worst.get("gap_ci_low"),
                            worst.get("gap_ci_high"), [case], among=worst.get("judged_groups", 1))  # fmt: skip
        for g in block["groups"]:
            if not g["judged"]:
                events = "" if g.get("events") is None else f", {g['events']} events"
                yield Candidate(f"{g['attribute']}={g['group']}", (g.get(metric) or {}).get("value"),
                                not_judged=f"too few rows or events ({g['n']} rows{events})")  # fmt: skip
        return
    for f in block.get("fairness", []):
        if name in f:
            judged = f.get("groups_judged", 0)
            reason = "" if f.get("judged", True) else f"fewer than two groups with enough rows and events ({judged})"
            yield Candidate(f["attribute"], f[name], f.get(f"{name}_ci_low"), f.get(f"{name}_ci_high"),
                            _groups(cohort, f["attribute"]), not_judged=reason,
                            attributes=tuple(f["attribute"].split(SEPARATOR)))  # fmt: skip


def _candidates(rule: FindingRule, cohort: dict[str, Any], cases: dict[tuple[str, str], list]) -> Iterator[Candidate]:
    section, _, name = rule.score.partition(".")
    if section == "counterfactual" and name == "flip_rate":
        for e in cohort["counterfactual"]:
            yield Candidate(f"{e['attribute']} ({e['mode']})", e["flip_rate"], e["ci_low"], e["ci_high"],
                            cases.get((e["attribute"], e["mode"]), []), attributes=(e["attribute"],))  # fmt: skip
    elif section == "adversarial" and name == "change":
        for w in cohort["adversarial"].get("worst", []):
            yield Candidate(f"patient {w['base_patient_id']}", w["change"], cases=[w])
    elif section == "subgroups":
        yield from _subgroup_candidates(name, cohort)
    elif section == "performance" and isinstance(cohort["performance"].get(name), dict):
        s = cohort["performance"][name]
        yield Candidate("test split", s["value"], s["ci_low"], s["ci_high"])
    elif section == "stress" and name == "gap":
        metric = cohort["stress"]["metric"]
        for c in cohort["stress"]["cells"]:
            target = f"{c['type']}: {c['cell']}"
            if c["judged"]:
                yield Candidate(target, c["gap"], c.get("gap_ci_low"), c.get("gap_ci_high"),
                                [{"cell": c["cell"], "n": c["n"], metric: c[metric]}])  # fmt: skip
            else:
                yield Candidate(target, None, not_judged=f"too few rows or no score ({c['n']} rows)")
    elif section == "explanations" and name == "top_k_margin":
        for e in (cohort.get("explanations") or {}).get("protected", []):
            case = {k: e[k] for k in ("feature", "role", "rank", "mean_abs", "share")}
            yield Candidate(f"{e['feature']} ({e['role']}, rank {e['rank']})", e["margin"], e["margin_ci_low"],
                            e["margin_ci_high"], [case])  # fmt: skip


def _exempt(rule: FindingRule, candidate: Candidate, clinical: tuple[str, ...]) -> bool:
    return rule.score in EXEMPT_SCORES and any(a in clinical for a in candidate.attributes)


def _screened(rule: FindingRule, candidate: Candidate, clinical: tuple[str, ...] = ()) -> str:
    """Why ``candidate`` is not judged (empty: it is)."""
    if _exempt(rule, candidate, clinical):
        return CLINICAL
    if candidate.not_judged:
        return candidate.not_judged
    if not _known(candidate.value):
        return "no value"
    if rule.score not in VALUE_SCORES and not candidate.has_interval:
        return "no 95% interval (too few valid resamples)"
    return ""


def _entry(candidate: Candidate, verdict: str, interval: tuple[float, float] | None) -> dict[str, Any]:
    return {"target": candidate.target, "value": candidate.value, "ci_low": candidate.ci_low,
            "ci_high": candidate.ci_high, "interval": None if interval is None else [round(e, 6) for e in interval],
            "verdict": verdict}  # fmt: skip


def judge_rule(
    rule: FindingRule, candidates: list[Candidate], max_cases: int, clinical: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The finding of one rule over its candidates (see the module's docstring)."""
    reasons = [_screened(rule, c, clinical) for c in candidates]
    judged = [c for c, why in zip(candidates, reasons, strict=True) if not why]
    compared = sum(c.among for c in judged if c.has_interval)
    factor = widening(compared)
    entries, breaches, unclear = [], [], []
    for c in judged:
        verdict, interval = candidate_verdict(rule, c.value, c.ci_low, c.ci_high, factor)
        entry = _entry(c, verdict, interval)
        entries.append(entry)
        if verdict == FAIL:
            breaches.append({**entry, "cases": c.cases[:max_cases]})
        elif verdict == INCONCLUSIVE:
            unclear.append({**entry, "cases": c.cases[:max_cases]})
    applicable = [c for c in candidates if not _exempt(rule, c, clinical)]
    verdict = finding_verdict([e["verdict"] for e in entries]) if applicable else NOT_APPLICABLE
    return {
        "id": rule.id, "rule": rule.describe(), "why": rule.why, "checked": len(judged), "verdict": verdict,
        "passed": verdict != FAIL, "breaches": breaches, "inconclusive": unclear, "candidates": entries,
        "compared": compared, "widening": round(factor, 4),
        "not_judged": [{"target": c.target, "value": c.value, "reason": why}
                       for c, why in zip(candidates, reasons, strict=True) if why],
    }  # fmt: skip


def judge(rules: tuple[FindingRule, ...], cohort: dict[str, Any], cases: dict[tuple[str, str], list],
          max_cases: int, clinical: tuple[str, ...] = ()) -> list[dict[str, Any]]:  # fmt: skip
    """One finding per rule: its verdict, the candidates judged, the breaches and inconclusive candidates
    with their cases, and the candidates listed but not judged (``clinical``: attributes exempt from the
    ``EXEMPT_SCORES``)."""
    return [judge_rule(rule, list(_candidates(rule, cohort, cases)), max_cases, clinical) for rule in rules]
