"""Three verdicts: a row fails only on evidence (Holm over the family), passes on evidence, else is inconclusive."""

from __future__ import annotations

import polars as pl

from pipeline.validation.gates import Gate
from pipeline.validation.metrics import Metric, metrics_frame
from pipeline.validation.verdicts import (
    apply_gates,
    beyond_p_value,
    describe_failures,
    describe_inconclusive,
    holm_rejections,
)


def _table(*metrics: Metric, floor: dict | None = None) -> pl.DataFrame:
    return metrics_frame(list(metrics), cohort="c", synthesizer="s", run_id="r", noise_floor=floor)


def test_holm_rejects_step_down_and_stops_at_the_first_survivor() -> None:
    assert holm_rejections([0.01, 0.04, 0.03, 0.005], 0.05) == [True, False, False, True]
    assert holm_rejections([0.001, 0.001, 0.02], 0.05) == [True, True, True]  # 0.02 <= 0.05 / 1
    assert holm_rejections([0.2], 0.05) == [False]


def test_the_p_value_uses_the_interval_side_facing_away_from_the_bound() -> None:
    assert beyond_p_value(0.7, "max", 0.6, 0.68, 0.72) < 1e-6  # far beyond, tight interval
    assert 0.2 < beyond_p_value(0.62, "max", 0.6, 0.55, 0.69) < 0.5  # beyond, but within noise
    assert beyond_p_value(0.3, "min", 0.5, None, None) == 0.0  # no interval: judged as counted


def test_fail_pass_and_inconclusive() -> None:
    privacy = Gate("privacy", "dcr_share", "max", 0.6, min_rows=30, ideal=0.5)
    survival = Gate("survival", "km_max_gap", "max", 0.3, min_rows=30)
    table = apply_gates(
        _table(
            Metric("privacy", "dcr_share", 0.52, lower=0.49, upper=0.55, rows=1000),  # pass on evidence
            Metric("survival", "km_max_gap", 0.5, lower=0.45, upper=0.55, rows=300),  # fail: interval beyond
            Metric("survival", "km_max_gap", 0.33, "sex=F", lower=0.2, upper=0.46, rows=40),  # within noise
            Metric("survival", "km_max_gap", 0.1, "race=A", lower=0.0, upper=0.2, rows=40),  # floor too high
            Metric("survival", "km_max_gap", 0.1, "race=B", lower=0.0, upper=0.2, rows=12),  # too few rows
            floor={("survival", "km_max_gap", "race=A"): 0.35},
        ),
        [privacy, survival],
    )
    verdicts = dict(zip(table["target"] + "|" + table["metric"], table["verdict"], strict=True))
    assert verdicts == {
        "(all)|dcr_share": "pass",
        "(all)|km_max_gap": "fail",
        "sex=F|km_max_gap": "inconclusive",
        "race=A|km_max_gap": "inconclusive",
        "race=B|km_max_gap": "inconclusive",
    }
    assert table.filter(pl.col("blocking"))["target"].to_list() == ["(all)"]  # only the failure blocks
    lines = describe_inconclusive(table)
    assert any("within sampling noise" in line for line in lines)
    assert any("noise floor 0.35 is itself beyond" in line for line in lines)
    assert any("too few rows to tell (12 < 30)" in line for line in lines)


def test_an_overall_privacy_attack_that_cannot_tell_blocks_but_a_subgroup_one_is_listed() -> None:
    gate = Gate("privacy", "qi_replay_excess", "max", 0.1, min_rows=30)
    table = apply_gates(
        _table(
            Metric("privacy", "qi_replay_excess", 0.05, lower=-0.02, upper=0.13, rows=100),
            Metric("privacy", "qi_replay_excess", 0.05, "sex=F", lower=-0.02, upper=0.13, rows=100),
        ),
        [gate],
    )
    assert table["verdict"].to_list() == ["inconclusive", "inconclusive"]
    assert table["blocking"].to_list() == [True, False]


def test_holm_keeps_many_borderline_rows_from_failing_together() -> None:
    """Forty rows each 1.8 standard errors beyond the bound: each alone is "significant" at 5%
    one-sided, but not as a family of forty: inconclusive, not fail."""
    gate = Gate("survival", "km_max_gap", "max", 0.3, min_rows=1)
    se = 0.05
    rows = [
        Metric("survival", "km_max_gap", 0.3 + 1.8 * se, f"g={i}", lower=0.3 - 0.16 * se, upper=0.48, rows=50)
        for i in range(40)
    ]
    table = apply_gates(_table(*rows), [gate])
    assert set(table["verdict"]) == {"inconclusive"}
    single = apply_gates(_table(rows[0]), [gate], alpha=0.05)
    assert single["verdict"].to_list() == ["fail"]


def test_a_privacy_attack_without_power_cannot_pass_even_at_its_ideal() -> None:
    """50 compared rows: a DCR share of exactly 0.5 still has a one-sided 95% end (around the ideal)
    beyond 0.6, so the attack could not have told a leak from chance: inconclusive, and blocking."""
    gate = Gate("privacy", "dcr_share", "max", 0.6, min_rows=30, ideal=0.5)
    small = Metric("privacy", "dcr_share", 0.5, lower=0.365, upper=0.635, rows=50)
    large = Metric("privacy", "dcr_share", 0.55, lower=0.52, upper=0.58, rows=1000)
    table = apply_gates(_table(small), [gate])
    assert table["verdict"].to_list() == ["inconclusive"] and table["blocking"].to_list() == [True]
    assert 0.6 < table["judged"][0] < 0.635
    assert "too little evidence" in describe_failures(table)[0]
    assert apply_gates(_table(large), [gate])["verdict"].to_list() == ["pass"]


def test_a_gate_naming_a_target_judges_that_row_and_the_metric_gate_the_others() -> None:
    subgroups = Gate("survival", "km_max_gap", "max", 0.3, min_rows=30)
    cohort = Gate("survival", "km_max_gap", "max", 0.15, min_rows=30, target="(all)")
    table = apply_gates(
        _table(
            Metric("survival", "km_max_gap", 0.25, lower=0.22, upper=0.28, rows=800),  # beyond 0.15 only
            Metric("survival", "km_max_gap", 0.25, "sex=F", lower=0.22, upper=0.28, rows=400),
        ),
        [subgroups, cohort],
    )
    judged = {row["target"]: (row["threshold"], row["verdict"]) for row in table.iter_rows(named=True)}
    assert judged == {"(all)": (0.15, "fail"), "sex=F": (0.3, "pass")}


def test_a_cohort_gate_replaces_only_the_default_of_its_metric_and_target() -> None:
    from pipeline.validation.gates import ValidationConfig, ValidationSettings

    default = (Gate("survival", "km_max_gap", "max", 0.3), Gate("survival", "km_max_gap", "max", 0.15, target="(all)"))
    own = (Gate("survival", "km_max_gap", "max", 0.2, target="(all)"),)
    config = ValidationConfig("1", ValidationSettings(), default, cohort_gates={"c": own})
    assert sorted((g.target or "", g.threshold) for g in config.gates_for("c")) == [("", 0.3), ("(all)", 0.2)]


def test_a_gate_naming_a_target_fails_when_that_row_is_missing() -> None:
    gates = [Gate("survival", "km_max_gap", "max", 0.3), Gate("survival", "km_max_gap", "max", 0.15, target="(all)")]
    table = apply_gates(_table(Metric("survival", "km_max_gap", 0.1, "sex=F", lower=0.05, upper=0.15, rows=400)), gates)
    missing = table.filter(pl.col("target") == "(all)")
    assert missing["verdict"].to_list() == ["fail"] and missing["value"].to_list() == [None]
