"""Tasks with power: horizons from the event times, enough synthetic rows for 100 test events per
task, and the manifest saying why a task is not declared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.release.build import ReleaseOptions, build_release
from pipeline.release.manifest import ReleaseError
from pipeline.release.power import expected_test_events, plan_power, rows_for_power
from pipeline.release.settings import load_release_settings, task_rules
from pipeline.release.tasks import TaskRules, declare_tasks, task_declarations
from pipeline.split import split_cohort
from tests.pipeline.release.conftest import candidate


def cohort(deaths: dict[float, int], censored: dict[float, int]) -> pl.DataFrame:
    """Patients dying at (month: count) and censored at (month: count)."""
    times = [t for t, n in deaths.items() for _ in range(n)] + [t for t, n in censored.items() for _ in range(n)]
    events = [1] * sum(deaths.values()) + [0] * sum(censored.values())
    return pl.DataFrame({"survival_months": times, "vital_status_event": events}).with_columns(
        pl.col("vital_status_event").cast(pl.Int8)
    )


FEW_EARLY_DEATHS = cohort({6.0: 30, 18.0: 200, 40.0: 100}, {80.0: 670})  # 3% dead by 12 months, 23% by 24


def test_few_early_deaths_pick_a_later_horizon() -> None:
    declared = task_declarations(FEW_EARLY_DEATHS)
    assert set(declared.tasks) == {"mortality_24m", "overall_survival"}
    assert declared.tasks["mortality_24m"]["horizon_months"] == 24.0
    assert declared.tasks["mortality_24m"]["threshold"] == pytest.approx(0.23)
    assert declared.not_declared["mortality_12m"].startswith("deaths by 12 months are 3.0% of the 1000 training rows")
    assert "a shorter horizon is declared (mortality_24m" in declared.not_declared["mortality_60m"]
    # common early deaths keep 12 months; mostly unknown status at a horizon rules it out
    assert "mortality_12m" in declare_tasks(cohort({6.0: 300}, {80.0: 700}))
    late = task_declarations(cohort({6.0: 10, 30.0: 40, 50.0: 150}, {20.0: 200, 30.0: 500, 70.0: 100}))
    assert "mortality_60m" not in late.tasks
    assert (
        late.not_declared["mortality_60m"] == "status at 60 months is known for 30.0% of the training rows (needs 50%)"
    )


def test_rows_for_power_expect_100_test_events_per_task_and_a_resampled_release_holds_them() -> None:
    rows = rows_for_power(FEW_EARLY_DEATHS, 0.2)
    plan = plan_power(FEW_EARLY_DEATHS, 0.2)
    assert rows == plan.rows and FEW_EARLY_DEATHS.height < rows <= 10 * FEW_EARLY_DEATHS.height
    assert {t.task for t in plan.tasks} == {"mortality_24m", "overall_survival"}
    for task in plan.tasks:  # 230 deaths by 24 months in 1000 rows: 2609 rows give 522 test rows, 120 deaths
        assert expected_test_events(task.train_events, 1000, rows, 0.2) >= 100 * 1.2 == pytest.approx(120)
        assert task.expected_test_events >= 100
    assert rows_for_power(FEW_EARLY_DEATHS, 0.2, min_events=10) == FEW_EARLY_DEATHS.height  # never fewer rows
    synthetic = FEW_EARLY_DEATHS.sample(rows, with_replacement=True, seed=1)  # a faithful synthesizer
    train, test = split_cohort(synthetic, holdout_fraction=0.2, seed=0)
    declared = task_declarations(train, test, TaskRules())
    assert set(declared.tasks) == {"mortality_24m", "overall_survival"}
    assert all(t["events"]["test"] >= 100 and t["events"]["needed"] == 100 for t in declared.tasks.values())


def test_a_task_short_of_events_at_the_cap_is_not_declared_and_says_why() -> None:
    rare = cohort({6.0: 60, 30.0: 20}, {90.0: 920})  # 8% die: no horizon, 80 survival events in 1000 rows
    plan = plan_power(rare, 0.2)
    assert [t.task for t in plan.tasks] == ["overall_survival"] and plan.rows == 7500  # 1500 test rows, 120 deaths
    capped = plan_power(rare, 0.2, TaskRules(max_factor=3.0))
    assert capped.tasks == () and capped.rows == rare.height
    assert capped.not_declared["overall_survival"] == (
        "48 deaths expected in the test split even at the cap (3000 rows, 3x the training rows) (needs 100)"
    )
    assert set(capped.not_declared) == {"mortality_12m", "mortality_24m", "mortality_60m", "overall_survival"}
    # the release counts the events its test split holds
    train, test = split_cohort(rare, holdout_fraction=0.2, seed=0)
    declared = task_declarations(train, test, TaskRules())
    assert declared.tasks == {} and declared.not_declared["overall_survival"] == (
        "16 deaths in the test split of 200 rows (needs 100)"
    )


def test_arms_short_of_patients_leave_treatment_or_leave_it_out() -> None:
    frame = FEW_EARLY_DEATHS.with_columns(
        cancer_related_medication=pl.Series(["A"] * 480 + ["B"] * 480 + ["C"] * 40, dtype=pl.String)
    )
    plan = plan_power(frame, 0.2)
    declared = {t.task: t for t in plan.tasks}
    assert declared["treatment"].train_events == 480  # C: 40 patients, 80 expected in the test split at the cap
    train, test = split_cohort(frame.sample(plan.rows, with_replacement=True, seed=2), holdout_fraction=0.2, seed=0)
    treatment = task_declarations(train, test).tasks["treatment"]
    assert treatment["classes"] == ["A", "B"] and "C left out: too few patients" in treatment["label"]


def test_config_tasks_are_the_rules_and_bad_ones_are_refused(tmp_path: Path) -> None:
    assert load_release_settings().tasks == TaskRules()
    assert task_rules({"horizons": [60, 12], "min_events": 50}, "x").horizons == (12.0, 60.0)
    for bad in ({"horizon": [12]}, {"max_factor": 0.5}, {"min_event_share": 0.6}, {"horizons": "12"}):
        with pytest.raises(ReleaseError, match="tasks:"):
            task_rules(bad, "release.yaml")


@pytest.fixture(scope="module")
def colon_training() -> pl.DataFrame:
    entry = load_registry().get("colon")
    return split_cohort(harmonize_entry(read_raw(entry), entry, salt="t"), holdout_fraction=0.3, seed=0)[0]


def test_the_manifest_declares_powered_tasks_and_says_why_the_others_are_not(
    tmp_path: Path, colon_training: pl.DataFrame
) -> None:
    rows = rows_for_power(colon_training, 0.2)
    assert rows > colon_training.height
    resampled = colon_training.sample(rows, with_replacement=True, seed=0)  # standing in for the synthetic rows
    path = build_release(
        tmp_path, [candidate(resampled, "colon"), candidate(colon_training, "colon_as_trained")],
        ReleaseOptions("1.0.0", created_at="2026-01-01T00:00:00+00:00"),  # tasks: config/release.yaml
    )  # fmt: skip
    cohorts = json.loads((path / "manifest.json").read_text())["cohorts"]
    powered = cohorts["colon"]
    assert set(powered["tasks"]) == {"mortality_24m", "overall_survival", "treatment"}
    assert min(t["events"]["test"] for t in powered["tasks"].values()) >= 100
    assert set(powered["tasks_not_declared"]) == {"mortality_12m", "mortality_60m"}
    short = cohorts["colon_as_trained"]  # as many rows as the training split: too few test events
    assert "overall_survival" not in short["tasks"]
    assert short["tasks_not_declared"]["overall_survival"].endswith("deaths in the test split of 130 rows (needs 100)")
    test = pl.read_parquet(path / "cohorts" / "colon" / "test.parquet")
    assert np.isclose(powered["tasks"]["overall_survival"]["events"]["test"], test["vital_status_event"].sum())


def test_oncobench_synthesize_samples_the_planned_rows_by_default(
    tmp_path: Path, colon_training: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    colon_training.write_parquet(tmp_path / "train.parquet")
    out = tmp_path / "synthetic.parquet"
    assert main(["synthesize", str(tmp_path / "train.parquet"), "--profile", "fast", "--out", str(out)]) == 0
    settings = load_release_settings()
    expected = rows_for_power(colon_training, settings.test_fraction, 100, 10.0, rules=settings.tasks)
    assert pl.read_parquet(out).height == expected == plan_power(colon_training, 0.2).rows
    printed = capsys.readouterr().out
    assert "rows for task power: expected test events mortality_24m 120" in printed
    assert "not declared: mortality_12m: deaths by 12 months are 6.8%" in printed


def test_columns_that_restate_the_arm_are_hidden_from_models() -> None:
    import polars as pl

    from pipeline.evaluation.tasks import model_input, task_from_declaration
    from pipeline.release.tasks import task_declarations

    n = 300
    arms = [
        "Chemotherapy" if i % 3 == 0 else "Hormone therapy" if i % 3 == 1 else "Hormone + chemotherapy"
        for i in range(n)
    ]
    train = pl.DataFrame({
        "patient_id": [str(i) for i in range(n)], "survival_months": [float(i % 50 + 1) for i in range(n)],
        "vital_status_event": [i % 2 for i in range(n)], "cancer_related_medication": arms,
        "hormon": ["no" if a == "Chemotherapy" else "yes" for a in arms],
        "chemo": ["no" if a == "Hormone therapy" else "yes" for a in arms],
        "grade": [str((i // 3) % 4) for i in range(n)],
    })  # fmt: skip
    declared = task_declarations(train).tasks["treatment"]
    assert declared["restates"] == ["hormon", "chemo"], "neither alone gives the arm; together they do"
    shown = model_input(train, task_from_declaration("treatment", declared)).columns
    assert {"hormon", "chemo", "cancer_related_medication"}.isdisjoint(shown) and "grade" in shown
