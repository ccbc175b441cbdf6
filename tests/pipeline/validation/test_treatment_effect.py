"""The treatment-effect gate: arms' log hazard ratios, synthetic against real, with honest intervals."""

from __future__ import annotations

import polars as pl
from lifelines import CoxPHFitter

from pipeline.validation import survival
from pipeline.validation.columns import column_kinds
from pipeline.validation.gates import load_validation_config
from pipeline.validation.metrics import metrics_frame
from pipeline.validation.verdicts import apply_gates

ARM = "cancer_related_medication"
SWAP = {"Observation": "Levamisole + 5-FU", "Levamisole + 5-FU": "Observation"}


def _gaps(real: pl.DataFrame, synthetic: pl.DataFrame) -> dict[str, survival.Metric]:
    return {m.target: m for m in survival.treatment_effect_metrics(real, synthetic, column_kinds(real))}


def test_the_same_patients_have_no_gap_and_the_real_effect_is_lifelines(colon: pl.DataFrame) -> None:
    gaps = _gaps(colon, colon)
    assert len(gaps) == 2 and all(abs(m.value) < 1e-9 for m in gaps.values())
    target = next(t for t in gaps if t.startswith(f"{ARM}=Levamisole + 5-FU"))
    reference = target.split(" vs ")[1]
    kept = colon.filter(pl.col(ARM).cast(pl.String).is_in(["Levamisole + 5-FU", reference]))
    design = kept.select(
        T=pl.col("survival_months").cast(pl.Float64), E=pl.col("vital_status_event").cast(pl.Float64),
        arm=(pl.col(ARM).cast(pl.String) == "Levamisole + 5-FU").cast(pl.Float64),
    ).to_pandas()  # fmt: skip
    expected = CoxPHFitter(penalizer=0.001).fit(design, "T", "E").params_["arm"]
    assert abs(gaps[target].baseline - expected) < 0.02  # a two-arm fit beside the three-arm one


def test_swapped_arms_fail_the_gate_and_real_unseen_patients_do_not(colon: pl.DataFrame, colon_three_way) -> None:
    swapped = colon.with_columns(pl.col(ARM).cast(pl.String).replace(SWAP).cast(colon.schema[ARM]))
    gaps = _gaps(colon, swapped)
    assert max(m.lower for m in gaps.values()) > 0.25  # Levamisole + 5-FU's benefit turned into harm

    config = load_validation_config()
    gate = next(g for g in config.gates if g.metric == "treatment_effect_gap")
    train, holdout, unseen = colon_three_way

    def verdicts(synthetic: pl.DataFrame, real: pl.DataFrame) -> set[str]:
        metrics = survival.treatment_effect_metrics(real, synthetic, column_kinds(real))
        frame = metrics_frame(metrics, cohort="colon", synthesizer="s", run_id="r", config_version=config.version)
        return set(apply_gates(frame, [gate])["verdict"].to_list())

    assert "fail" in verdicts(swapped, colon)
    assert "fail" not in verdicts(unseen, pl.concat([train, holdout]))


def test_without_two_arms_the_gate_has_nothing_to_judge(colon: pl.DataFrame) -> None:
    one_arm = colon.filter(pl.col(ARM).cast(pl.String) == "Observation")
    for frame in (one_arm, colon.drop(ARM)):
        (row,) = survival.treatment_effect_metrics(frame, frame, column_kinds(frame))
        assert row.value == 0.0 and row.target.startswith("(no two arms")


def test_an_arm_the_synthetic_rows_lack_is_too_few_rows_to_tell(colon: pl.DataFrame) -> None:
    without = colon.filter(pl.col(ARM).cast(pl.String) != "Levamisole")
    gaps = _gaps(colon, without)
    lacking = next(m for t, m in gaps.items() if t.startswith(f"{ARM}=Levamisole vs"))
    assert lacking.rows < 30 and lacking.lower is None
    assert all(m.lower is not None for t, m in gaps.items() if m is not lacking)
