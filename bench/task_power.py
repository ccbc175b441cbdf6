"""Which tasks each default cohort declares, at which horizon, and how many synthetic rows give
every declared task 100 events in the release's test split.

Each cohort is harmonized and split as the pipeline splits it (``config/validation.yaml``), and
the training part planned with ``config/release.yaml`` (``pipeline.release.power.plan_power``, what
``synthetic_cohort`` and ``oncobench synthesize`` sample by default). No synthesis unless
``--synthesize``: then ``oncobench synthesize`` (flow, profile full, default rows) runs on the
training part, its rows are split as the release splits them and the declared tasks' test events
counted (``pipeline.release.tasks.task_declarations``).

    python bench/task_power.py [--cohorts colon rott2 ...] [--synthesize colon ...]

Writes bench/results/task_power.csv and task_power.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import polars as pl

from pipeline.settings import export_environment
from pipeline.threads import THREAD_VARIABLES

export_environment({**dict.fromkeys(THREAD_VARIABLES, "1"), "ONCOBENCH_THREADS": "1"})

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_COHORTS = ("support2_cancer", "colon", "rott2", "prostate_seer")


def training_split(cohort: str) -> pl.DataFrame:
    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry
    from pipeline.split import split_cohort
    from pipeline.validation.gates import load_validation_config

    settings = load_validation_config().settings
    entry = load_registry().get(cohort)
    real = harmonize_entry(read_raw(entry), entry, salt="task-power-bench")
    return split_cohort(real, holdout_fraction=settings.holdout_fraction, seed=settings.split_seed)[0]


def plan_rows(cohort: str, train: pl.DataFrame) -> tuple[list[dict[str, object]], list[dict[str, object]], int]:
    """One row per declared task, one per task not declared, and the planned rows."""
    from pipeline.release.power import expected_test_events, plan_power
    from pipeline.release.settings import load_release_settings

    release = load_release_settings()
    plan = plan_power(train, release.test_fraction, release.tasks)
    declared = [
        {
            "cohort": cohort, "train_rows": plan.train_rows, "task": t.task, "horizon_months": t.horizon_months,
            "train_events": t.train_events, "events_per_row": round(t.train_events / plan.train_rows, 4),
            "rows_needed": t.rows_needed, "rows": plan.rows, "factor": round(plan.rows / plan.train_rows, 2),
            "expected_test_events": t.expected_test_events, "arms": ", ".join(t.classes),
            "expected_at_training_rows": round(
                expected_test_events(t.train_events, plan.train_rows, plan.train_rows, release.test_fraction), 1
            ),
        }
        for t in plan.tasks
    ]  # fmt: skip
    skipped = [{"cohort": cohort, "task": task, "reason": why} for task, why in plan.not_declared.items()]
    return declared, skipped, plan.rows


def synthesized_events(cohort: str, train: pl.DataFrame) -> tuple[int, dict[str, int], dict[str, str]]:
    """``oncobench synthesize`` with its default rows, split as the release splits: (rows, test events
    per declared task, tasks not declared)."""
    from pipeline.cli import main
    from pipeline.release.settings import load_release_settings
    from pipeline.release.tasks import task_declarations
    from pipeline.split import split_cohort

    release = load_release_settings()
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "train.parquet", Path(folder) / "synthetic.parquet"
        train.write_parquet(source)
        code = main(["--threads", "1", "synthesize", str(source), "--synthesizer", "flow", "--out", str(out)])
        if code != 0:
            raise SystemExit(f"{cohort}: oncobench synthesize exited {code}")
        synthetic = pl.read_parquet(out)
    train_part, test = split_cohort(synthetic, holdout_fraction=release.test_fraction, seed=release.seed)
    declared = task_declarations(train_part, test, release.tasks)
    events = {name: task["events"]["test"] for name, task in declared.tasks.items()}
    return synthetic.height, events, declared.not_declared


def markdown(declared: pl.DataFrame, skipped: pl.DataFrame, synthesized: pl.DataFrame | None) -> str:
    from pipeline.release.settings import load_release_settings

    release = load_release_settings()
    rules = release.tasks
    text = (
        "# Tasks with power\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}. Each default cohort split as the "
        "pipeline splits it (config/validation.yaml); the training part planned with config/release.yaml "
        f"(test_fraction {release.test_fraction}, horizons {list(rules.horizons)} months, min_event_share "
        f"{rules.min_event_share}, min_known_share {rules.min_known_share}, max_binary {rules.max_binary}, "
        f"min_events {rules.min_events}, max_factor {rules.max_factor:g}, margin {rules.margin}). `rows`: the "
        "synthetic rows `synthetic_cohort` and `oncobench synthesize` sample by default (`factor`: times the "
        "training rows); `expected_test_events`: at those rows; `expected_at_training_rows`: at the previous "
        "default (as many rows as the training split). Treatment's events are the patients of its smallest arm.\n\n"
        "## Declared tasks\n\n" + declared.to_pandas().to_markdown(index=False) + "\n\n"
        "## Not declared\n\n" + skipped.to_pandas().to_markdown(index=False) + "\n"
    )
    if synthesized is not None and synthesized.height:
        text += (
            "\n## Synthesized (flow, profile full, default rows), split as the release splits\n\n"
            "Test events each declared task actually holds; a task short of its events would not be declared.\n\n"
            + synthesized.to_pandas().to_markdown(index=False)
            + "\n"
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", nargs="+", default=list(DEFAULT_COHORTS))
    parser.add_argument("--synthesize", nargs="*", default=[], help="cohorts to synthesize and count for real")
    args = parser.parse_args(argv)
    declared, skipped, synthesized = [], [], []
    for cohort in args.cohorts:
        train = training_split(cohort)
        tasks, reasons, rows = plan_rows(cohort, train)
        declared += tasks
        skipped += reasons
        print(f"{cohort}: {train.height} training rows -> {rows} synthetic rows for {[t['task'] for t in tasks]}")
        if cohort in args.synthesize:
            height, events, not_declared = synthesized_events(cohort, train)
            for task in [t["task"] for t in tasks] + [t for t in events if t not in {x["task"] for x in tasks}]:
                synthesized.append({"cohort": cohort, "rows": height, "task": task, "test_events": events.get(task),
                                    "not_declared": not_declared.get(task, "")})  # fmt: skip
            print(f"  synthesized {height} rows; test events {events}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = pl.DataFrame(declared)
    table.write_csv(RESULTS / "task_power.csv")
    text = markdown(table, pl.DataFrame(skipped), pl.DataFrame(synthesized) if synthesized else None)
    (RESULTS / "task_power.md").write_text(text)
    print(f"-> {RESULTS / 'task_power.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
