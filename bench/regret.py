"""Inverse-simulation regret, validated in a planted world where the best line is known.

Each seed draws a planted world (``pipeline.recommenders.planted_world``: lines whose class matches an indication of
the therapy table last ``--effect`` times longer, classes otherwise assigned at random), fits the outcome simulator
on its journeys (two halves cross-fitted, plus ``--rounds`` bootstrap resamples for the interval), and asks each
recommender for the next line of as many fresh patients. The mean regret over actionable patients is judged against
its bound (``REGRET_BOUND_DAYS``): fail, pass or inconclusive. Targets: the guideline reference (and the agent)
ranked above the biased and random references; the planted faulty recommenders flagged (fail) in >= 95% of seeds;
the guideline reference flagged in <= 5%.

    python bench/regret.py [--seeds 10] [--patients 1500] [--rounds 10] [--effect 2.0]

Writes bench/results/regret.csv and regret.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

from pipeline.settings import export_environment
from pipeline.threads import THREAD_VARIABLES

export_environment({**dict.fromkeys(THREAD_VARIABLES, "1"), "POLARS_MAX_THREADS": "1", "ONCOBENCH_THREADS": "1"})

import polars as pl  # noqa: E402 (after the thread caps)

RESULTS = Path(__file__).resolve().parent / "results"
RECOMMENDERS = ("guideline", "agent", "insurance_biased", "random", "ignores_biomarkers")


class IgnoresBiomarkers:
    """Planted fault: the table's default class for the cancer and line, whatever the biomarkers say."""

    def __init__(self, table) -> None:
        self.table = table

    def recommend(self, items: list[dict]) -> list[dict]:
        answers = []
        for item in items:
            default = self.table.default(self.table.patient(item))
            answers.append({"patient_id": item["patient_id"], "therapy_class": default.therapy_class,
                            "agents": list(default.regimen)})  # fmt: skip
        return answers


def one_seed(seed: int, patients: int, rounds: int, effect: float) -> list[dict]:
    from pipeline.recommenders.guidelines_file import load_guidelines
    from pipeline.recommenders.interface import parse_answer
    from pipeline.recommenders.planted_world import planted_world
    from pipeline.recommenders.references import reference_recommender
    from pipeline.recommenders.simulator import bootstrap_fits, mean_regret

    table = load_guidelines()
    world = planted_world(table, patients, seed=seed, effect=effect)
    started = time.perf_counter()
    fits = bootstrap_fits(world.lines, rounds, seed)
    fitted = time.perf_counter() - started
    people = [table.patient(i) for i in world.items]
    rows = []
    for name in RECOMMENDERS:
        recommender = IgnoresBiomarkers(table) if name == "ignores_biomarkers" else reference_recommender(name, seed)
        answers = recommender.recommend(world.items)
        classes = [parse_answer(a, i["patient_id"], table).therapy_class for a, i in zip(answers, world.items,
                                                                                         strict=True)]  # fmt: skip
        regret = mean_regret(fits, table, people, classes, world.ages, world.stage_iv, seed=seed)
        rows.append({"seed": seed, "recommender": name, **regret, "fit_seconds": round(fitted, 1)})
    print(f"seed {seed}: fitted in {fitted:.0f} s; " + ", ".join(
        f"{r['recommender']} {r['value']:.1f} {r['verdict']}" for r in rows), file=sys.stderr)  # fmt: skip
    return rows


def _exact(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson 95% interval of a rate k/n (scipy's exact binomial test)."""
    from scipy.stats import binomtest

    interval = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="exact")
    return interval.low, interval.high


def markdown(table: pl.DataFrame, args: argparse.Namespace) -> str:
    summary = table.group_by("recommender", maintain_order=True).agg(
        mean_regret_days=pl.col("value").mean().round(1),
        ci_low_mean=pl.col("ci_low").mean().round(1),
        ci_high_mean=pl.col("ci_high").mean().round(1),
        actionable=pl.col("n").mean().round(0),
        flagged=(pl.col("verdict") == "fail").sum(),
        passed=(pl.col("verdict") == "pass").sum(),
        seeds=pl.len(),
    )
    rates = [_exact(f, n) for f, n in zip(summary["flagged"], summary["seeds"], strict=True)]
    summary = summary.with_columns(
        flag_rate_ci_low=pl.Series([low for low, _ in rates]).round(3),
        flag_rate_ci_high=pl.Series([high for _, high in rates]).round(3),
    )
    return "\n".join([
        "# Inverse-simulation regret in a planted world", "",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; produced by "
        f"`python bench/regret.py --seeds {args.seeds} --patients {args.patients} --rounds {args.rounds} "
        f"--effect {args.effect}` ({date.today()}). A matched line lasts {args.effect}x longer; regret = the "
        "simulator's best class minus the recommended class, restricted mean days to next line or death over 730 "
        "days, cross-fitted halves, mean over actionable patients; "
        "interval: normal, from the spread of bootstrap refits each judged on resampled patients; flagged: the "
        "interval above the bound (30 days); `flag_rate_ci_*`: exact 95% interval of the share of seeds flagged "
        "(targets: >= 0.95 for the faulty recommenders, <= 0.05 for the guideline reference and the agent).", "",
        summary.to_pandas().to_markdown(index=False), "",
        "Per seed:", "", table.to_pandas().to_markdown(index=False), "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--patients", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--effect", type=float, default=2.0)
    args = parser.parse_args()
    rows = [r for seed in range(args.seeds) for r in one_seed(seed, args.patients, args.rounds, args.effect)]
    table = pl.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    table.write_csv(RESULTS / "regret.csv")
    (RESULTS / "regret.md").write_text(markdown(table, args))
    print(markdown(table, args))


if __name__ == "__main__":
    main()
