"""Do the model verdicts mean something? The reference models over seeds, on a released benchmark.

For every released cohort, every declared task and every seed, the release's synthetic patients
(train and test pooled) are split again with that seed and both reference models are scored with
the evaluation's own seed set to it (bootstraps, pairs, adversarial search), exactly as
``oncobench evaluate`` scores them. Two rates follow:

- **false alarms:** the share of seeds in which ``reference:fair`` (no protected attribute, no
  proxy) fails any finding (target: at most 5% on every cohort and task);
- **power:** the share of seeds in which ``reference:biased`` (the same model leaning on race,
  income and insurance where the cohort records them) fails the counterfactual flip-rate finding
  (target: at least 95% on every cohort recording one of them). The fair model is the race-blind
  version of the same model.

    python bench/references.py --release data/releases/0.1.0 [--seeds 10] [--cohorts colon] [--jobs 1]

Writes bench/results/references.csv (one row per cohort, task, model, seed and finding) and
bench/results/references.md (the rates, with exact binomial intervals).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import polars as pl
from scipy.stats import binomtest

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("reference:fair", "reference:biased")
LEANED_ON = ("race", "income_band", "insurance")  # what reference:biased leans on where recorded
FLIP = "counterfactual_flip_rate"


def _jobs(
    release: Path, seeds: int, cohorts: list[str] | None, tasks: list[str] | None
) -> list[tuple[str, str, str, int]]:
    from pipeline.evaluation.stage import open_release, read_cohorts
    from pipeline.evaluation.tasks import cohort_tasks

    manifest, _ = open_release(release)
    return [
        (str(release), c.name, task, seed)
        for c in read_cohorts(release, manifest, cohorts)
        for task in cohort_tasks(c.entry, c.train)
        if tasks is None or task in tasks
        for seed in range(seeds)
    ]


def _run(job: tuple[str, str, str, int]) -> list[dict[str, object]]:
    """Both reference models on one cohort, task and seed."""
    from pipeline.evaluation.config import load_evaluation_config
    from pipeline.evaluation.models import load_model
    from pipeline.evaluation.stage import ReleaseCohort, _evaluate_cohort, open_release, read_cohorts
    from pipeline.evaluation.tasks import cohort_tasks
    from pipeline.rules import load_rules
    from pipeline.split import split_cohort

    release, name, task_name, seed = job
    manifest, _ = open_release(release)
    [cohort] = read_cohorts(Path(release), manifest, [name])
    task = cohort_tasks(cohort.entry, cohort.train)[task_name]
    pooled = pl.concat([cohort.train, cohort.test], how="vertical_relaxed")
    fraction = cohort.test.height / pooled.height
    train, test = split_cohort(pooled, holdout_fraction=fraction, seed=seed)
    resplit = ReleaseCohort(name, cohort.entry, train, test, cohort.stress)
    config = load_evaluation_config()
    config = replace(config, settings=replace(config.settings, seed=seed))
    rules, rows = load_rules(), []
    for model in MODELS:
        started = time.perf_counter()
        block = _evaluate_cohort(load_model(model), task, resplit, config, rules, defaultdict(float), lambda _: None)
        seconds = time.perf_counter() - started
        score = block["performance"][task.target]["value"]
        for finding in block["findings"]:
            rows.append({"cohort": name, "task": task_name, "model": model, "seed": seed, "finding": finding["id"],
                         "verdict": finding.get("verdict", "pass" if finding["passed"] else "fail"),
                         "score": score, "seconds": round(seconds, 2)})  # fmt: skip
    return rows


def _rate(hits: int, n: int) -> str:
    if n == 0:
        return "-"
    interval = binomtest(hits, n).proportion_ci(0.95)
    return f"{hits}/{n} = {hits / n:.0%} [{interval.low:.0%}, {interval.high:.0%}]"


def summarize(results: pl.DataFrame, recorded: dict[str, list[str]]) -> pl.DataFrame:
    """Per cohort and task: the fair model's false-alarm rate and the biased model's power."""
    rows = []
    for (cohort, task), group in results.group_by(["cohort", "task"], maintain_order=True):
        fair = group.filter(pl.col("model") == MODELS[0])
        alarms = fair.group_by("seed").agg((pl.col("verdict") == "fail").any().alias("failed"))
        failing = fair.filter(pl.col("verdict") == "fail")["finding"].unique().sort().to_list()
        biased = group.filter((pl.col("model") == MODELS[1]) & (pl.col("finding") == FLIP))
        caught = int((biased["verdict"] == "fail").sum())
        leans = [a for a in LEANED_ON if a in recorded.get(cohort, [])]
        fair_score, biased_score = (
            group.filter(pl.col("model") == m).group_by("seed").agg(pl.col("score").first())["score"].mean()
            for m in MODELS
        )
        rows.append({
            "cohort": cohort, "task": task, "seeds": alarms.height,
            "fair_fails_any_finding": _rate(int(alarms["failed"].sum()), alarms.height),
            "fair_findings_failed": ", ".join(failing) or "none",
            "fair_inconclusive_share": round(float((fair["verdict"] == "inconclusive").mean() or 0.0), 3),
            "biased_leans_on": ", ".join(leans) or "nothing recorded",
            "biased_caught_by_flip_rate": _rate(caught, biased.height) if leans else "not applicable",
            "fair_score": round(float(fair_score), 3), "biased_score": round(float(biased_score), 3),
            "seconds_per_evaluation": round(float(group["seconds"].mean() or 0.0), 1),
        })  # fmt: skip
    return pl.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", type=Path, required=True, help="a release folder (it must verify)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cohorts", nargs="*", default=None)
    parser.add_argument("--tasks", nargs="*", default=None, help="task names (default: every declared task)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (one thread each)")
    parser.add_argument("--name", default="references")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    jobs = _jobs(args.release, args.seeds, args.cohorts, args.tasks)
    started, rows = time.perf_counter(), []
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for i, result in enumerate(pool.imap(_run, jobs), 1):
            rows += result
            print(f"[{i}/{len(jobs)}] {jobs[i - 1][1]} {jobs[i - 1][2]} seed {jobs[i - 1][3]}", flush=True)
    results = pl.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    results.write_csv(RESULTS / f"{args.name}.csv")
    from pipeline.evaluation.stage import open_release

    manifest, _ = open_release(args.release)
    recorded = {name: list(entry.get("protected") or []) for name, entry in manifest["cohorts"].items()}
    summary = summarize(results, recorded)
    table = summary.to_pandas().to_markdown(index=False)
    text = (
        f"# Reference models over {args.seeds} seeds (`python bench/references.py`)\n\n"
        f"Release `{manifest['release']}`; {len(jobs)} cohort-task-seed jobs in {time.perf_counter() - started:.0f} s "
        f"on {os.cpu_count()} cores ({platform.processor() or platform.machine()}). Each seed re-splits the "
        "release's synthetic patients and sets the evaluation seed. Rates with exact 95% binomial intervals.\n\n"
        "- `fair_fails_any_finding`: seeds in which reference:fair failed a finding (target <= 5%).\n"
        "- `biased_caught_by_flip_rate`: seeds in which reference:biased failed the counterfactual flip-rate "
        "finding, on cohorts recording race, income or insurance (target >= 95%).\n"
        "- `fair_score`, `biased_score`: the task's headline score on the test split (AUC; macro AUC for "
        "treatment; Harrell's C-index for survival), mean over seeds: the lean costs the biased model a few points "
        "at most (it coincides with the fair one where a cohort records nothing it leans on).\n\n"
        f"{table}\n"
    )
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
