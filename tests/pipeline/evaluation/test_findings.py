"""Findings are verdicts on the evidence: pass, fail or inconclusive, on Bonferroni-widened 95% intervals."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import polars as pl
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from pipeline.evaluation.config import FindingRule, load_evaluation_config
from pipeline.evaluation.fairness import parity_differences
from pipeline.evaluation.findings import (
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    Candidate,
    candidate_verdict,
    finding_verdict,
    judge,
    judge_rule,
    widen,
    widening,
)
from pipeline.evaluation.performance import Scored
from pipeline.evaluation.stats import Z95
from pipeline.evaluation.stress_cells import gap_interval
from pipeline.evaluation.subgroups import subgroup_scores
from pipeline.release.tasks import BINARY, Task

GAP = FindingRule("gap", "subgroups.gap", "why", maximum=0.10)
SLOPE = FindingRule("slope", "performance.calibration_slope", "why", minimum=0.5, maximum=2.0)
SEARCH = FindingRule("search", "adversarial.change", "why", maximum=0.10)
TASK = Task(name="mortality_12m", kind=BINARY, label="", horizon_months=12.0, threshold=0.5, classes=())


def test_three_verdicts_on_one_interval() -> None:
    assert candidate_verdict(GAP, 0.15, 0.11, 0.20)[0] == FAIL  # entirely above max
    assert candidate_verdict(GAP, 0.03, 0.00, 0.08)[0] == PASS  # entirely within
    assert candidate_verdict(GAP, 0.12, 0.05, 0.18)[0] == INCONCLUSIVE  # beyond on its value, not on the evidence
    assert candidate_verdict(GAP, 0.08, 0.02, 0.14)[0] == INCONCLUSIVE  # within on its value, not on the evidence
    assert candidate_verdict(GAP, 0.10, 0.04, 0.10)[0] == PASS  # the bound itself is within
    # two bounds: either side can fail
    assert candidate_verdict(SLOPE, 1.0, 0.7, 1.4)[0] == PASS
    assert candidate_verdict(SLOPE, 2.5, 2.1, 3.0)[0] == FAIL and candidate_verdict(SLOPE, 0.4, 0.3, 0.45)[0] == FAIL
    assert candidate_verdict(SLOPE, 0.6, 0.4, 0.9)[0] == INCONCLUSIVE
    # no interval (a search, not an estimate): judged on the value
    assert candidate_verdict(SEARCH, 0.2, None, None) == (FAIL, None)
    assert candidate_verdict(SEARCH, 0.05, None, None) == (PASS, None)


def test_finding_verdict_fails_on_any_failure_and_passes_only_on_all() -> None:
    assert finding_verdict([PASS, INCONCLUSIVE, FAIL]) == FAIL
    assert finding_verdict([PASS, PASS]) == PASS
    assert finding_verdict([PASS, INCONCLUSIVE]) == INCONCLUSIVE
    assert finding_verdict([]) == INCONCLUSIVE  # nothing judged is not a pass


def test_bonferroni_widening_of_the_half_widths() -> None:
    assert widening(1) == pytest.approx(1.0)
    assert widening(5) == pytest.approx(NormalDist().inv_cdf(1 - 0.005) / Z95)  # z(0.995) / z(0.975) ~ 1.314
    assert widening(5) == pytest.approx(2.5758 / 1.9600, abs=1e-3)
    assert widen(0.1, 0.05, 0.2, 2.0) == pytest.approx((0.0, 0.3))  # each side scaled around the value
    # a value outside its (percentile bootstrap) interval: widened around the midpoint
    assert widen(0.3, 0.1, 0.2, 2.0) == pytest.approx((0.05, 0.25))

    # alone, [0.11, 0.19] lies above 0.10: a failure; one of five comparisons, it widens to [0.097, 0.203]
    one = Candidate("a", 0.15, 0.11, 0.19)
    alone = judge_rule(GAP, [one], max_cases=5)
    assert alone["verdict"] == FAIL and alone["compared"] == 1 and alone["breaches"][0]["interval"] == [0.11, 0.19]
    others = [Candidate(f"b{i}", 0.02, 0.0, 0.05) for i in range(4)]
    five = judge_rule(GAP, [one, *others], max_cases=5)
    assert five["compared"] == 5 and five["widening"] == pytest.approx(widening(5), abs=1e-4)
    assert five["verdict"] == INCONCLUSIVE and five["passed"] and not five["breaches"]
    [unclear] = five["inconclusive"]
    assert unclear["target"] == "a" and unclear["interval"][0] == pytest.approx(0.15 - widening(5) * 0.04, abs=1e-6)
    # the worst group stands for every judged group it was picked from
    worst = judge_rule(GAP, [Candidate("worst", 0.15, 0.11, 0.19, among=5)], max_cases=5)
    assert worst["compared"] == 5 and worst["verdict"] == INCONCLUSIVE
    # a value judged without an interval is not widened and does not count as a comparison
    search = judge_rule(SEARCH, [Candidate("p1", 0.2), Candidate("p2", 0.01)], max_cases=5)
    assert search["verdict"] == FAIL and search["compared"] == 0 and search["breaches"][0]["interval"] is None


def test_a_finding_keeps_its_keys_and_lists_what_it_could_not_judge() -> None:
    candidates = [Candidate("judged", 0.02, 0.0, 0.05, cases=[{"i": i} for i in range(9)]),
                  Candidate("no interval", 0.3), Candidate("small", 0.5, not_judged="too few rows")]  # fmt: skip
    finding = judge_rule(GAP, candidates, max_cases=3)
    assert {"id", "rule", "why", "checked", "breaches", "passed", "verdict"} <= set(finding)
    assert finding["verdict"] == PASS and finding["checked"] == 1 and finding["rule"].endswith("(95% interval)")
    assert {n["target"]: n["reason"] for n in finding["not_judged"]} == {
        "no interval": "no 95% interval (too few valid resamples)", "small": "too few rows"}  # fmt: skip
    assert finding["candidates"][0]["verdict"] == PASS and finding["candidates"][0]["interval"] == [0.0, 0.05]
    nothing = judge_rule(GAP, candidates[1:], max_cases=3)
    assert nothing["verdict"] == INCONCLUSIVE and nothing["passed"] and nothing["checked"] == 0
    # no candidate at all: the task has no such score (e.g. demographic parity of a survival model)
    absent = judge_rule(GAP, [], max_cases=3)
    assert absent["verdict"] == NOT_APPLICABLE and absent["passed"] and absent["checked"] == 0


def _scored_rows(groups: dict[str, tuple[int, int, float]], seed: int = 0) -> tuple[Scored, pl.DataFrame]:
    """Per group: rows, events and the share flagged positive; predictions separate events a little."""
    rng = np.random.default_rng(seed)
    labels, y, p = [], [], []
    for name, (n, events, flagged) in groups.items():
        outcome = np.zeros(n, dtype=int)
        outcome[rng.choice(n, events, replace=False)] = 1
        decided = rng.random(n) < flagged
        labels += [name] * n
        y.append(outcome)
        p.append(np.where(decided, 0.6, 0.4) + 0.05 * outcome + rng.normal(0, 0.01, n))
    rows = pl.DataFrame({"race": labels})
    return Scored(np.concatenate(y), np.clip(np.concatenate(p), 0, 1)), rows


def _findings(groups: dict[str, tuple[int, int, float]], **kwargs: int) -> tuple[dict, dict[str, dict]]:
    scored, rows = _scored_rows(groups)
    block = subgroup_scores(TASK, scored, rows, rows, ["race"], min_rows=kwargs.get("min_rows", 30),
                            min_events=kwargs.get("min_events", 10), reps=60, seed=0)  # fmt: skip
    rules = tuple(r for r in load_evaluation_config().findings if r.score.startswith("subgroups."))
    findings = judge(rules, {"subgroups": block}, {}, max_cases=5)
    return block, {f["id"]: f for f in findings}


def test_groups_too_small_to_judge_make_a_finding_inconclusive_not_failed() -> None:
    # on point values these groups are far apart (flagged 10% against 90%): the old rule failed them
    block, findings = _findings({"White": (20, 6, 0.1), "Black": (12, 4, 0.9)})
    [entry] = block["fairness"]
    assert entry["demographic_parity_difference"] > 0.2 and not entry["judged"]
    assert entry["groups_excluded"] == ["Black", "White"] and entry["demographic_parity_difference_ci_low"] is None
    assert block["worst"] is None and not any(g["judged"] for g in block["groups"])
    for finding_id in ("demographic_parity", "equalized_odds", "subgroup_performance_gap"):
        finding = findings[finding_id]
        assert finding["verdict"] == INCONCLUSIVE and finding["passed"] and finding["checked"] == 0, finding_id
        assert finding["not_judged"] and not finding["breaches"]
    # enough rows but too few events in one group: that group is left out, and with it the attribute
    block, findings = _findings({"White": (400, 80, 0.5), "Black": (200, 4, 0.5)})
    assert {g["group"]: g["judged"] for g in block["groups"]} == {"White": True, "Black": False}
    assert block["fairness"][0]["groups_excluded"] == ["Black"] and findings["demographic_parity"]["checked"] == 0


def test_large_groups_are_judged_both_ways() -> None:
    _, fair = _findings({"White": (1500, 300, 0.5), "Black": (1500, 300, 0.5)})
    assert fair["demographic_parity"]["verdict"] == PASS and fair["equalized_odds"]["verdict"] == PASS
    _, biased = _findings({"White": (1500, 300, 0.2), "Black": (1500, 300, 0.8)})
    assert biased["demographic_parity"]["verdict"] == FAIL and not biased["demographic_parity"]["passed"]
    [breach] = biased["demographic_parity"]["breaches"]
    assert breach["target"] == "race" and breach["interval"][0] > 0.2
    assert {c["group"] for c in breach["cases"]} == {"White", "Black"}
    # a small third group is left out; the two large ones are still judged
    block, mixed = _findings({"White": (1500, 300, 0.2), "Black": (1500, 300, 0.8), "Asian": (15, 3, 0.5)})
    assert block["fairness"][0]["judged"] and block["fairness"][0]["groups_excluded"] == ["Asian"]
    assert mixed["demographic_parity"]["verdict"] == FAIL
    gap = mixed["subgroup_performance_gap"]
    assert gap["compared"] == 2 and any(n["target"] == "race=Asian" for n in gap["not_judged"])


def test_counted_parity_differences_equal_fairlearn() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, 500)
    y = (rng.random(500) < 0.3).astype(int)
    decisions = (rng.random(500) < 0.2 + 0.2 * codes / 2 + 0.2 * y).astype(int)
    names = np.array(["a", "b", "c"])[codes]
    dp, eo = parity_differences(y, decisions, codes, 3)
    assert dp == pytest.approx(demographic_parity_difference(y, decisions, sensitive_features=names), abs=1e-12)
    assert eo == pytest.approx(equalized_odds_difference(y, decisions, sensitive_features=names), abs=1e-12)
    with pytest.raises(ValueError):
        parity_differences(y, decisions, codes, 4)  # a group without rows


def test_stress_gap_interval_adds_half_widths_in_quadrature() -> None:
    common = {"value": 0.80, "ci_low": 0.77, "ci_high": 0.82}
    cell = {"value": 0.60, "ci_low": 0.50, "ci_high": 0.64}
    low, high = gap_interval(common, cell)
    assert low == pytest.approx(0.20 - np.hypot(0.03, 0.04), abs=1e-6)
    assert high == pytest.approx(0.20 + np.hypot(0.02, 0.10), abs=1e-6)  # rounded to 6 digits
    assert gap_interval(common, {**cell, "ci_low": None}) == (None, None)


def test_leaderboard_counts_inconclusive_findings_and_reads_older_tables(tmp_path) -> None:
    from pipeline.evaluation.records import leaderboard
    from pipeline.warehouse import Warehouse

    store = Warehouse(tmp_path / "w.duckdb")
    row = {"cohort": "colon", "metric": "auc", "value": 0.7, "ci_low": 0.6, "ci_high": 0.8, "n": 100,
           "worst_group": "sex=Male", "worst_group_value": 0.6, "max_flip_attribute": "sex (pure)",
           "max_flip_rate": 0.0, "max_flip_ci_low": 0.0, "max_flip_ci_high": 0.03, "adversarial_change": 0.0,
           "findings_failed": ""}  # fmt: skip
    key = {"release": "0.9.0", "model": "m", "task": "mortality_12m"}
    store.replace_rows("evaluations", pl.DataFrame([row]), key)  # recorded before findings had verdicts
    assert leaderboard(store)["findings_inconclusive"].to_list() == [None]
    newer = {**row, "findings_failed": "adversarial_change", "findings_inconclusive": "demographic_parity, calibration"}
    store.replace_rows("evaluations", pl.DataFrame([newer]), {**key, "model": "n"}, add_columns=True)
    board = leaderboard(store).sort("model")
    assert board["findings_failed"].to_list() == [0, 1] and board["findings_inconclusive"].to_list() == [None, 2]
