"""A whole evaluation of a release, timed: reference models and a scikit-learn gradient-boosting model.

Each evaluation runs in a fresh process (``oncobench evaluate``'s stage function, with the default
config/evaluation.yaml). The adversarial search is timed apart from the rest (target: the rest within
60 s on 2 cores for a scikit-learn model).

    python bench/evaluation.py [--release data/releases/0.1.0] [--tasks mortality_12m overall_survival]

Writes bench/results/<name>.csv and bench/results/<name>.md (default name: evaluation).
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_RELEASE = Path(__file__).resolve().parents[1] / "data" / "releases" / "0.1.0"
SKLEARN_MODEL = f"{Path(__file__).resolve()}:GradientBoosting"


class GradientBoosting:
    """A naive scikit-learn model builder's model: gradient boosting on every column it is shown."""

    def fit(self, frame: pd.DataFrame, labels: np.ndarray) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.columns = [c for c in frame.columns if c != "cohort" and frame[c].notna().any()]
        self.categories = {
            c: sorted(frame[c].dropna().astype(str).unique())
            for c in self.columns
            if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
        }
        self.model = HistGradientBoostingClassifier(max_iter=100, random_state=0, categorical_features="from_dtype")
        self.model.fit(self._matrix(frame), labels)

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.columns].copy()
        for column, levels in self.categories.items():
            x[column] = pd.Categorical(x[column].astype("string").astype(object), categories=levels)
        return x

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self._matrix(frame))


def _run_one(job: tuple[str, str, str]) -> dict[str, object]:
    release, model, task = job
    from pipeline.evaluation.stage import evaluate_release

    started = time.perf_counter()
    evaluation = evaluate_release(release, model, task)
    total = time.perf_counter() - started
    seconds = evaluation.seconds
    rows = []
    for cohort, block in evaluation.result["cohorts"].items():
        score = block["performance"][evaluation.tasks[cohort].target]
        pure = [e for e in block["counterfactual"] if e["mode"] == "pure"]
        top = max(pure, key=lambda e: (e["ci_low"] or 0, e["flip_rate"] or 0), default=None)
        rows.append(
            f"{cohort}: {score['value']:.3f}"
            + (
                f", {top['attribute']} {top['flip_rate']:.3f} [{top['ci_low']:.3f}, {top['ci_high']:.3f}]"
                if top
                else ""
            )
        )
    return {
        "model": model.rsplit("/", 1)[-1],
        "task": task,
        "cohorts": len(evaluation.result["cohorts"]),
        "total_seconds": round(total, 1),
        "without_adversarial_seconds": round(total - seconds.get("adversarial", 0.0), 1),
        "adversarial_seconds": round(seconds.get("adversarial", 0.0), 1),
        **{f"{k}_seconds": round(v, 1) for k, v in seconds.items() if k != "adversarial"},
        "score and largest pure flip rate [95% CI] per cohort": "; ".join(rows),
    }


def _run_cohort(job: tuple[str, str, str]) -> dict[str, object]:
    """Every task the release declares for one cohort, one model, in this process: the issue's "whole evaluation"."""
    import json

    from pipeline.evaluation.stage import evaluate_release

    release, model, cohort = job
    tasks = list(json.loads((Path(release) / "manifest.json").read_text())["cohorts"][cohort]["tasks"])
    started, steps = time.perf_counter(), {}
    for task in tasks:
        evaluation = evaluate_release(release, model, task, cohorts=[cohort])
        for step, seconds in evaluation.seconds.items():
            steps[step] = steps.get(step, 0.0) + seconds
    return {"model": model.rsplit("/", 1)[-1], "cohort": cohort, "tasks": ", ".join(tasks),
            "total_seconds": round(time.perf_counter() - started, 1),
            **{f"{k}_seconds": round(v, 1) for k, v in steps.items()}}  # fmt: skip


def per_cohort(release: Path, models: list[str], name: str) -> None:
    """One row per model and cohort: every declared task, timed in a fresh process (target: under 15 s)."""
    import json

    cohorts = list(json.loads((release / "manifest.json").read_text())["cohorts"])
    context, rows = multiprocessing.get_context("spawn"), []
    for model in models:
        for cohort in cohorts:
            with context.Pool(1) as pool:
                row = pool.apply(_run_cohort, ((str(release), model, cohort),))
            print(row, flush=True)
            rows.append(row)
    table = pl.DataFrame(rows)
    table.write_csv(RESULTS / f"{name}.csv")
    header = (f"# Whole evaluations: every task of one cohort, one model\n\nMachine: {platform.machine()}, "
              f"{multiprocessing.cpu_count()} cores, Python {platform.python_version()}; `python bench/evaluation.py "
              f"--per-cohort --release RELEASE` on the release {release.name} that `make demo` builds (default "
              "config/evaluation.yaml, explanations included); each row "
              "in a fresh process; target: under 15 s.\n\n")  # fmt: skip
    (RESULTS / f"{name}.md").write_text(header + table.to_pandas().to_markdown(index=False) + "\n")
    print(f"wrote {RESULTS / name}.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", type=Path, default=DEFAULT_RELEASE)
    parser.add_argument("--models", nargs="+", default=[SKLEARN_MODEL, "reference:fair", "reference:biased"])
    parser.add_argument("--tasks", nargs="+", default=["mortality_12m"])
    parser.add_argument("--name", default="evaluation", help="result file stem under bench/results/")
    parser.add_argument("--per-cohort", action="store_true", help="every declared task of each cohort, per model")
    args = parser.parse_args()
    if args.per_cohort:
        RESULTS.mkdir(parents=True, exist_ok=True)
        return per_cohort(args.release, args.models, args.name if args.name != "evaluation" else "evaluation_cohorts")
    rows = []
    context = multiprocessing.get_context("spawn")
    for task in args.tasks:
        for model in args.models:
            with context.Pool(1) as pool:  # a fresh process per evaluation: no warm caches
                row = pool.apply(_run_one, ((str(args.release), model, task),))
            print(row, flush=True)
            rows.append(row)
    table = pl.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.write_csv(RESULTS / f"{args.name}.csv")
    header = (
        f"# Evaluation benchmark\n\nMachine: {platform.machine()}, {multiprocessing.cpu_count()} cores, Python "
        f"{platform.python_version()}. Release `{args.release}`; default config/evaluation.yaml (bootstrap 200, "
        "subgroups 100, adversarial search of 5 patients x 300 evaluations). `without_adversarial_seconds` is the "
        "whole evaluation (training, predictions, performance, subgroups, twins, stress, findings) minus the "
        "adversarial search, timed apart.\n\n"
    )
    (RESULTS / f"{args.name}.md").write_text(header + table.to_pandas().to_markdown(index=False) + "\n")
    print(f"wrote {RESULTS / args.name}.md")


if __name__ == "__main__":
    main()
