"""The journey task: a cohort with synthetic lines of therapy declares ``next_line`` (the second line's
regimen class given the baseline and the first line), and the evaluation scores it; the journey columns are
shown to that task only (a first line that ended in death would tell a mortality model the outcome)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl

from pipeline.evaluation.stage import evaluate_release
from pipeline.evaluation.tasks import model_input
from pipeline.release.build import ReleaseOptions, build_release
from pipeline.release.journeys import LINE_1_CLASS, LINE_1_DAYS, with_journey_columns
from pipeline.release.tasks import (
    BINARY,
    NEXT_LINE_CLASS,
    NEXT_LINE_TASK,
    TTNT_EVENT,
    TTNT_MONTHS,
    TTNT_TASK,
    Task,
    TaskRules,
    task_declarations,
)
from tests.pipeline.journeys.conftest import split_study
from tests.pipeline.release.conftest import candidate

MORTALITY = Task(name="mortality_12m", kind=BINARY, label="", horizon_months=12.0, threshold=0.5)


def _lines(ids: list[str], second: list[str | None]) -> pl.DataFrame:
    from pipeline.journeys.schema import LINE_SCHEMA

    rows = []
    for patient, cls in zip(ids, second, strict=True):
        rows.append((patient, "c", 1, "CARBOPLATIN+PACLITAXEL", "chemotherapy", 0, 120, 200 if cls else None))
        if cls:
            rows.append((patient, "c", 2, "X", cls, 200, 300, None))
    frame = pl.DataFrame(rows, orient="row", schema=[c for c in LINE_SCHEMA if c not in ("ended_by", "rule_set")])
    return frame.with_columns(ended_by=pl.lit("censored"), rule_set=pl.lit("default@1")).cast(LINE_SCHEMA)


def test_journey_columns_and_the_next_line_task() -> None:
    ids = [f"p{i}" for i in range(300)]
    second = ["chemotherapy" if i % 3 else "targeted" for i in range(200)] + [None] * 100
    patients = pl.DataFrame({"patient_id": ids, "survival_months": 30.0, "vital_status_event": 0, "age": 60})
    rows = with_journey_columns(patients, _lines(ids, second))
    assert rows.filter(pl.col("patient_id") == "p1").select(LINE_1_CLASS, LINE_1_DAYS, NEXT_LINE_CLASS).row(0) == (
        "chemotherapy", 120, "chemotherapy")  # fmt: skip
    assert rows[NEXT_LINE_CLASS].null_count() == 100 and with_journey_columns(patients, None).equals(patients)
    declared = task_declarations(rows, rows, TaskRules(min_events=50)).tasks
    assert declared[NEXT_LINE_TASK]["classes"] == ["chemotherapy", "targeted"]
    assert declared[NEXT_LINE_TASK]["outcome"] == NEXT_LINE_CLASS and declared[NEXT_LINE_TASK]["events"]["test"] == 67
    assert NEXT_LINE_TASK not in task_declarations(rows, rows, TaskRules(min_events=100)).tasks
    shown = set(model_input(rows, MORTALITY).columns)
    assert not shown & {LINE_1_CLASS, LINE_1_DAYS, NEXT_LINE_CLASS, TTNT_MONTHS, TTNT_EVENT}


def test_time_to_next_treatment_is_the_second_line_or_death_censored_at_follow_up() -> None:
    ids = ["next", "died", "alive", "no_lines"]
    patients = pl.DataFrame({"patient_id": ids, "survival_months": [30.0, 12.0, 24.0, 5.0],
                             "vital_status_event": [1, 1, 0, 1], "age": 60})  # fmt: skip
    rows = with_journey_columns(patients, _lines(ids[:3], ["targeted", None, None]))
    months, events = rows[TTNT_MONTHS].to_list(), rows[TTNT_EVENT].to_list()
    assert months[0] == round(200 / 30.4375, 4) and events[0] == 1  # line 2 started on day 200 (death later)
    assert months[1] == round(12.0, 4) and events[1] == 1  # died at 12 months without a second line
    assert months[2] == 24.0 and events[2] == 0  # alive, censored at last follow-up
    assert months[3] is None and events[3] is None  # no first line: not in the task
    unknown = with_journey_columns(patients.with_columns(pl.lit(None, pl.Int64).alias("vital_status_event")),
                                   _lines(ids[:3], ["targeted", None, None]))  # fmt: skip
    assert unknown[TTNT_EVENT].to_list()[:3] == [1, None, None]  # a second line is known; a status is not
    many_ids = [f"p{i}" for i in range(200)]
    many_patients = pl.DataFrame({"patient_id": many_ids, "survival_months": 40.0,
                                  "vital_status_event": [i % 2 for i in range(200)], "age": 60})  # fmt: skip
    many = with_journey_columns(many_patients, _lines(many_ids, [None] * 200))
    declared = task_declarations(many, many, TaskRules(min_events=50)).tasks
    assert declared[TTNT_TASK]["events"]["test"] == 100 and declared[TTNT_TASK]["outcome"] == TTNT_MONTHS
    ttnt = Task(name=TTNT_TASK, kind="survival", label="", outcome=TTNT_MONTHS, event=TTNT_EVENT)
    shown = set(model_input(many, ttnt).columns)
    assert LINE_1_CLASS in shown and not shown & {LINE_1_DAYS, NEXT_LINE_CLASS, TTNT_MONTHS, TTNT_EVENT}
    assert "time_to_next_treatment" not in task_declarations(many.with_columns(pl.lit(0).alias(TTNT_EVENT)),
                                                             rules=TaskRules(min_events=0)).tasks  # fmt: skip


def test_a_release_with_journeys_is_scored_on_the_next_line(shared_study, tmp_path: Path) -> None:
    study = split_study(shared_study("tcga_biotab_ov"))
    real = pl.concat([study.train, study.holdout, study.unseen], how="diagonal_relaxed")
    copies = range(4)  # the real patients four times over, under new ids, stand in for a synthetic sample
    patients = pl.concat([real.with_columns(pl.col("patient_id") + f"-{k}") for k in copies])
    lines = pl.concat([study.lines.with_columns(pl.col("patient_id") + f"-{k}") for k in copies])
    released = dataclasses.replace(candidate(patients, "ov"), lines=lines)
    options = ReleaseOptions("1.0.0", validation_config_version="1.0.0", created_at="2026-01-01T00:00:00+00:00",
                             tasks=TaskRules(min_events=5))  # fmt: skip
    release = build_release(tmp_path, [released], options)

    tasks = json.loads((release / "manifest.json").read_text())["cohorts"]["ov"]["tasks"]
    assert {"chemotherapy", "hormone"} <= set(tasks[NEXT_LINE_TASK]["classes"])
    assert tasks[NEXT_LINE_TASK]["events"]["test"] >= 5
    block = evaluate_release(release, "reference:fair", NEXT_LINE_TASK).result["cohorts"]["ov"]
    assert block["performance"]["auc"]["value"] is not None and block["findings"]
    assert tasks[TTNT_TASK]["events"]["test"] >= 5
    block = evaluate_release(release, "reference:fair", TTNT_TASK).result["cohorts"]["ov"]
    assert 0.5 < block["performance"]["c_index"]["value"] < 1 and block["findings"]
    stress = pl.read_parquet(release / "cohorts" / "ov" / "stress_suite.parquet")
    rare = stress.filter(pl.col("stress_cell").str.starts_with("journey: "))
    assert rare.height and set(rare["stress_type"]) == {"edge_case"}  # the fixture has no twin: only rare journeys
    stress_lines = pl.read_parquet(release / "cohorts" / "ov" / "lines_stress_suite.parquet")
    assert set(stress_lines["patient_id"]) == set(rare["patient_id"])
    test_ids = set(pl.read_parquet(release / "cohorts" / "ov" / "test.parquet")["patient_id"])
    assert not set(rare["patient_id"]) & test_ids  # new ids, copies of test patients
    from pipeline.recommenders.interface import items
    from pipeline.recommenders.stage import release_lines

    history = release_lines(release, "ov")
    asked = items(rare.head(3), pl.concat([history["test"], history["stress_suite"]]))
    assert all(item["lines"] and item["next_line"] > 1 for item in asked)  # a rare journey is asked with its history


def test_rare_journeys_are_test_patients_with_rare_sequences() -> None:
    from pipeline.release.journeys import rare_journeys

    ids = [f"p{i}" for i in range(200)]
    second = ["targeted"] * 2 + ["chemotherapy"] * 150 + [None] * 48  # targeted second lines: 1% of patients
    lines = _lines(ids, second)
    test = pl.DataFrame({"patient_id": ids[:1] + ids[100:], "age": 60})  # p1 (targeted) is in train
    cases, case_lines = rare_journeys(lines, test)
    assert cases["stress_cell"].to_list() == ["journey: chemotherapy -> targeted"]
    assert case_lines.height == 2 and case_lines["regimen_class"].to_list() == ["chemotherapy", "targeted"]
    assert cases["patient_id"][0] == case_lines["patient_id"][0] != "p0"
    assert rare_journeys(lines, test.filter(pl.col("patient_id") != "p0"))[0].is_empty()
    # many rarer sequences held only by training patients do not crowd out the test split's rare one
    crowd = pl.concat([lines] + [_lines([f"t{k}"], [f"class{k:02d}"]) for k in range(25)])
    assert rare_journeys(crowd, test)[0]["stress_cell"].to_list() == ["journey: chemotherapy -> targeted"]


def test_a_recommender_request_never_carries_the_journey_columns() -> None:
    from pipeline.recommenders.interface import items

    ids = ["p1", "p2"]
    rows = with_journey_columns(pl.DataFrame({"patient_id": ids, "age": [60, 70]}), _lines(ids, ["targeted", None]))
    assert rows[NEXT_LINE_CLASS].to_list() == ["targeted", None]
    for item in items(rows):
        assert set(item["patient"]) == {"age"}  # the journey so far comes as lines, never the second line's class
