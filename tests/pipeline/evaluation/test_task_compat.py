"""Releases written before tasks had power still evaluate: a declared ``mortality_12m`` as any
declared horizon, and a manifest without tasks gets the tasks of its time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.evaluation.config import EvaluationConfig
from pipeline.evaluation.stage import evaluate_release
from pipeline.evaluation.tasks import binary_labels, cohort_tasks, task_rows
from pipeline.release.tasks import declare_tasks, mortality_labels

OLD_MORTALITY = {  # a manifest's task entry before events were declared
    "kind": "binary",
    "label": "death within 12 months of diagnosis",
    "horizon_months": 12.0,
    "threshold": 0.1,
}


def _frame() -> pl.DataFrame:
    """3% dead by 12 months, 23% by 24: the task rules pick 24 months."""
    months = [6.0] * 30 + [18.0] * 200 + [40.0] * 100 + [80.0] * 670
    events = [1] * 330 + [0] * 670
    return pl.DataFrame({"survival_months": months, "vital_status_event": pl.Series(events, dtype=pl.Int8)})


def test_old_and_new_horizons_label_the_rows_of_their_horizon() -> None:
    frame = _frame()
    old = cohort_tasks({"tasks": {"mortality_12m": OLD_MORTALITY}}, frame)["mortality_12m"]
    assert old.horizon_months == 12.0 and binary_labels(old, frame).sum() == 30
    assert len(task_rows(old, frame)) == frame.height
    new = cohort_tasks({"tasks": declare_tasks(frame)}, frame)
    assert set(new) == {"mortality_24m", "overall_survival"} and binary_labels(new["mortality_24m"], frame).sum() == 230
    # a manifest without tasks gets those of its time: mortality_12m, whatever the rules pick now
    legacy = cohort_tasks({}, frame)
    assert set(legacy) == {"mortality_12m", "overall_survival"} and legacy["mortality_12m"].threshold == 0.03


def test_a_release_declaring_mortality_12m_the_old_way_still_evaluates(
    release_dir: Path, fast_config: EvaluationConfig, tmp_path: Path
) -> None:
    old = shutil.copytree(release_dir, tmp_path / "0.9.0")
    manifest = json.loads((old / "manifest.json").read_text())
    for entry in manifest["cohorts"].values():  # the manifest as releases before task power wrote it
        entry.pop("tasks_not_declared", None)
        entry["tasks"] = {
            name: {k: v for k, v in task.items() if k != "events"} for name, task in entry["tasks"].items()
        }
    (old / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    evaluation = evaluate_release(old, "reference:fair", "mortality_12m", cohorts=["colon"], config=fast_config)
    block = evaluation.result["cohorts"]["colon"]
    test = pl.read_parquet(old / "cohorts" / "colon" / "test.parquet")
    known, died = mortality_labels(test, 12.0)
    assert evaluation.tasks["colon"].horizon_months == 12.0 and died[known].sum() > 0
    assert np.isfinite(block["performance"]["auc"]["value"])


def test_a_model_listing_no_task_is_scored_on_every_task_the_release_declares(release_dir: Path, tmp_path) -> None:
    from pipeline.evaluation.registry import load_models_registry
    from pipeline.evaluation.stage import declared_task_names

    manifest = json.loads((release_dir / "manifest.json").read_text())
    declared = sorted({t for entry in manifest["cohorts"].values() for t in entry["tasks"]})
    assert declared_task_names(release_dir) == declared and "overall_survival" in declared
    registry = tmp_path / "models.yaml"
    registry.write_text("models:\n  fair:\n    model: reference:fair\n")
    assert load_models_registry(registry).get("fair").tasks == ()
