"""Journey validation on OV: synthetic journeys against the holdout, and planted failures caught."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.journeys.synthesis import fit, sample
from pipeline.journeys.validation import journey_failures, tvd, validate_journeys
from tests.pipeline.journeys.conftest import SplitStudy

ROUNDS = 30


@pytest.fixture
def synthetic(ov: SplitStudy) -> pl.DataFrame:
    return sample(fit(ov.train, ov.lines_of(ov.train)), ov.unseen, seed=0).lines


def _validate(ov: SplitStudy, patients: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    return validate_journeys((ov.train, ov.lines), (ov.holdout, ov.lines), (patients, lines), rounds=ROUNDS)


def _verdict(frame: pl.DataFrame, metric: str, target: str = "(all)") -> str:
    return frame.filter((pl.col("metric") == metric) & (pl.col("target") == target))["verdict"].item()


def test_synthetic_ov_journeys_fail_no_metric_and_carry_noise_floors(ov: SplitStudy, synthetic: pl.DataFrame) -> None:
    frame = _validate(ov, ov.unseen, synthetic)
    assert journey_failures(frame) == []
    assert _verdict(frame, "temporal_violations") == "pass"
    distances = frame.filter(pl.col("metric").str.contains("(_tvd|_distance|_gap|_ks)$"))
    assert distances.height == 8 and distances["noise_floor"].null_count() == 0
    floor = frame.filter(pl.col("metric") == "temporal_violations", pl.col("target") == "after_follow_up")
    assert floor["noise_floor"].item() > 0  # real lines do run past follow-up; synthetic ones never
    replay = frame.filter(pl.col("metric") == "unique_journey_replay_rate")
    assert replay["baseline"].item() is not None and replay["rows"].item() > 30


def test_journeys_out_of_order_fail_the_temporal_rule(ov: SplitStudy, synthetic: pl.DataFrame) -> None:
    reversed_lines = synthetic.with_columns(line=(pl.col("line").max() - pl.col("line") + 1).over("patient_id"))
    frame = _validate(ov, ov.unseen, reversed_lines)
    assert _verdict(frame, "temporal_violations", "out_of_order") == "fail"
    late = synthetic.with_columns(end_day=pl.col("end_day") + 20_000)
    assert _verdict(_validate(ov, ov.unseen, late), "temporal_violations", "after_follow_up") == "fail"
    assert any("temporal_violations [out_of_order]" in f for f in journey_failures(frame))


def test_one_line_each_fails_lines_per_patient_and_transitions(ov: SplitStudy, synthetic: pl.DataFrame) -> None:
    frame = _validate(ov, ov.unseen, synthetic.filter(pl.col("line") == 1))
    assert _verdict(frame, "lines_per_patient_tvd") == "fail"
    assert _verdict(frame, "transition_distance") == "fail"


def test_copied_training_journeys_fail_the_replay_gate(ov: SplitStudy) -> None:
    frame = _validate(ov, ov.train, ov.lines_of(ov.train))
    excess = frame.filter(pl.col("metric") == "unique_journey_replay_excess")
    assert excess["value"].item() > 0.3 and excess["verdict"].item() == "fail"


def test_total_variation_distance() -> None:
    import numpy as np

    assert tvd(np.array([1.0, 1.0]), np.array([2.0, 0.0])) == pytest.approx(0.5)
    assert np.isnan(tvd(np.zeros(2), np.ones(2)))


def test_journey_detectability_passes_synthetic_journeys_and_fails_scrambled_timing(
    ov: SplitStudy, synthetic: pl.DataFrame
) -> None:
    frame = _validate(ov, ov.unseen, synthetic)
    c2st = frame.filter(pl.col("metric") == "journey_c2st_auc")
    assert c2st["value"].item() < 0.7 and c2st["noise_floor"].item() < 0.65 and c2st["verdict"].item() == "pass"
    late = synthetic.with_columns(pl.col("start_day") * 3 + 400, pl.col("end_day") * 3 + 400)  # every line later
    assert _verdict(_validate(ov, ov.unseen, late), "journey_c2st_auc") == "fail"
