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
from pipeline.release.tasks import BINARY, NEXT_LINE_CLASS, NEXT_LINE_TASK, Task, TaskRules, task_declarations
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
    hidden = set(model_input(rows, MORTALITY).columns)
    assert not hidden & {LINE_1_CLASS, LINE_1_DAYS, NEXT_LINE_CLASS}


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
    twins = pl.read_parquet(release / "cohorts" / "ov" / "stress_suite.parquet")
    assert twins.height  # the fixture's stress rows are edge cases: no twin, no lines_stress_suite
    assert not (release / "cohorts" / "ov" / "lines_stress_suite.parquet").exists()


def test_a_recommender_request_never_carries_the_journey_columns() -> None:
    from pipeline.recommenders.interface import items

    ids = ["p1", "p2"]
    rows = with_journey_columns(pl.DataFrame({"patient_id": ids, "age": [60, 70]}), _lines(ids, ["targeted", None]))
    assert rows[NEXT_LINE_CLASS].to_list() == ["targeted", None]
    for item in items(rows):
        assert set(item["patient"]) == {"age"}  # the journey so far comes as lines, never the second line's class
