"""Journey synthesis: fitted on real OV lines, drawn for unseen patients' baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.journeys.baseline import baseline
from pipeline.journeys.features import temporal_breaks
from pipeline.journeys.model import POOL_PREFIX
from pipeline.journeys.model_file import load_journey_model, save_journey_model
from pipeline.journeys.schema import EVENT_SCHEMA, LINE_SCHEMA
from pipeline.journeys.synthesis import fit, journey_events, sample
from pipeline.journeys.tables import BackoffTable
from pipeline.synthesis.errors import ConditionError, ModelFileError
from tests.pipeline.journeys.conftest import SplitStudy


@pytest.fixture
def model(ov: SplitStudy):
    return fit(ov.train, ov.lines_of(ov.train), seed=0)


def test_ov_journeys_keep_every_rule_of_time(ov: SplitStudy, model) -> None:
    drawn = sample(model, ov.unseen, seed=0)
    lines = drawn.lines
    assert lines.schema == pl.Schema(LINE_SCHEMA) and lines.height > ov.unseen.height
    assert temporal_breaks(ov.unseen, lines) == dict.fromkeys(
        ("stop_before_start", "out_of_order", "after_follow_up", "unknown_patient"), 0
    )
    joined = lines.join(baseline(ov.unseen), on="patient_id")
    assert joined.filter(pl.col("end_day") > pl.col("follow_up")).is_empty()
    assert (lines["start_day"] >= model.min_start).all() and (lines["end_day"] >= lines["start_day"]).all()
    last = joined.filter(pl.col("line") == pl.col("line").max().over("patient_id"))
    assert (last["ended_by"].cast(pl.String) == last["event"].replace_strict({1: "death", 0: "censored"})).all()
    following = joined.filter(pl.col("ended_by") == "next_line")
    assert following["time_to_next_treatment"].null_count() == 0 and last["time_to_next_treatment"].null_count() == (
        last.height
    )
    events = journey_events(lines, ov.unseen)
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    late = events.join(baseline(ov.unseen), on="patient_id").filter(
        pl.max_horizontal("start_day", "stop_day") > pl.col("follow_up")
    )
    assert late.is_empty()
    deaths = events.filter(pl.col("detail") == "death")
    assert deaths.height == int((ov.unseen["vital_status_event"] == 1).sum())


def test_rare_regimens_are_pooled_never_replayed(ov: SplitStudy, model) -> None:
    lines = sample(model, ov.unseen, seed=1).lines
    counts = ov.lines_of(ov.train)["regimen"].value_counts()
    rare = set(counts.filter(pl.col("count") < model.settings.min_regimen_count)["regimen"])
    assert rare and not rare & set(lines["regimen"])
    assert set(lines["regimen"]) <= set(model.states)
    assert any(state.startswith(POOL_PREFIX) for state in lines["regimen"])


def test_the_same_seed_gives_the_same_journeys(ov: SplitStudy, model) -> None:
    first = sample(model, ov.unseen, seed=7).lines
    assert first.equals(sample(fit(ov.train, ov.lines_of(ov.train)), ov.unseen, seed=7).lines)
    assert not first.equals(sample(model, ov.unseen, seed=8).lines)


def test_the_line_count_condition_is_exact(ov: SplitStudy, model) -> None:
    patients = ov.unseen.filter(pl.col("survival_months") > 1)
    at_least = sample(model, patients, seed=0, min_lines=2).lines.group_by("patient_id").len()
    assert at_least.height == patients.height and at_least["len"].min() >= 2
    exactly = sample(model, patients, seed=0, min_lines=3, max_lines=3).lines.group_by("patient_id").len()
    assert exactly.height == patients.height and set(exactly["len"]) == {3}
    assert temporal_breaks(patients, sample(model, patients, seed=0, min_lines=4).lines)["after_follow_up"] == 0
    with pytest.raises(ConditionError, match="at most"):
        sample(model, patients, min_lines=model.max_lines + 1)
    dead_at_once = patients.head(2).with_columns(survival_months=pl.lit(0.0))
    too_many = 2 - model.min_start  # lines in order from the earliest start to day 0 hold one fewer
    assert too_many <= model.max_lines
    with pytest.raises(ConditionError, match=f"2 patient\\(s\\) have too short a follow-up for {too_many} lines"):
        sample(model, dead_at_once, min_lines=too_many)


def test_unknown_follow_up_and_no_patients(ov: SplitStudy, model) -> None:
    unknown = ov.unseen.head(40).with_columns(
        survival_months=pl.lit(None, pl.Float64), vital_status_event=pl.lit(None, pl.Int8)
    )
    lines = sample(model, unknown, seed=0).lines
    last = lines.filter(pl.col("line") == pl.col("line").max().over("patient_id"))
    assert set(last["ended_by"].cast(pl.String)) == {"unknown"}
    assert sample(model, ov.unseen.head(0)).lines.schema == pl.Schema(LINE_SCHEMA)


def test_the_model_file_round_trips_and_refuses_others(ov: SplitStudy, model, tmp_path: Path) -> None:
    path = save_journey_model(model, tmp_path / "journeys.json")
    loaded = load_journey_model(path, cohort="tcga_biotab_ov")
    assert loaded == model
    assert sample(loaded, ov.unseen, seed=3).lines.equals(sample(model, ov.unseen, seed=3).lines)
    with pytest.raises(ModelFileError, match="not 'colon'"):
        load_journey_model(path, cohort="colon")
    (tmp_path / "bad.json").write_text('{"format": "oncobench-journey-model", "version": 99}')
    with pytest.raises(ModelFileError, match="format 99"):
        load_journey_model(tmp_path / "bad.json")
    (tmp_path / "pickle.json").write_bytes(b"\x80\x04\x95")
    with pytest.raises(ModelFileError, match="not a journey model"):
        load_journey_model(tmp_path / "pickle.json")


def test_a_cell_seen_a_few_times_stays_near_its_parent() -> None:
    keys = {"cancer": ["A"] * 8 + ["B"] * 2}
    table = BackoffTable.fit(keys, ["x"] * 8 + ["y"] * 2, support=["x", "y", "z"], levels=[[], ["cancer"]],
                             prior=0.5, strength=5.0)  # fmt: skip
    top = np.array([8.5, 2.5, 0.5]) / 11.5
    assert np.allclose(table.probabilities({"cancer": "B"}), (np.array([0, 2, 0]) + 5 * top) / 7)
    assert np.allclose(table.probabilities({"cancer": "unseen"}), top)
    assert table.probabilities({"cancer": "A"})[2] > 0  # never seen, still possible
