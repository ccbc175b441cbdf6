"""How many judgements does a clinician review need? Bottom-decile recall of planted implausible patients
and split-half reliability of the Bradley–Terry scores, by the number of judgements and the pair policy.

The world is the review tests' (tests/pipeline/review/conftest.py): 40 colon patients, 4 of them planted
implausible (a negative age, a man with ovarian cancer), and the simulated reviewer of issue 25: prefers the
rule-consistent patient, calls two implausible ones both implausible, has no preference between two consistent
ones (a coin), and answers wrongly 20% of the time. Pairs come from the review page's active policy
(:func:`pipeline.review.ranking.next_pair`) or uniformly at random among unmet pairs.

Reliability is bounded by the world, not the method: only the planted tenth differs in true plausibility, a
spread of about 0.17 in squared log-odds (a two-point distribution with a gap of log 4); the ceiling it implies
is printed beside the measurement (the Spearman–Brown formula with the error variance of a Bradley–Terry score
judged ``n`` times at even odds, 4/n, with the judgements spread evenly; active pairs, which spend them where
the ranking is uncertain, can do better).

    python bench/review.py [--seeds 8] [--judgements 300 600 1200]

Writes bench/results/review.csv and review.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

from pipeline.settings import export_environment

export_environment({"OMP_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1", "ONCOBENCH_THREADS": "1"})

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


def _random_pair(ids: list[str], done: list, rng: np.random.Generator) -> tuple[str, str]:
    met = {frozenset((j.left, j.right)) for j in done}
    while True:
        left, right = rng.choice(len(ids), 2, replace=False)
        if frozenset((ids[left], ids[right])) not in met or len(met) >= len(ids) * (len(ids) - 1) // 2:
            return ids[left], ids[right]


def run(seeds: int, sizes: list[int]) -> pl.DataFrame:
    from pipeline.review.ranking import Judgement, bradley_terry, next_pair, split_half_reliability
    from tests.pipeline.review.conftest import SimulatedReviewer, review_patients

    patients = review_patients()
    ids = patients["patient_id"].to_list()
    decile = math.ceil(len(ids) / 10)
    rows = []
    for policy in ("active", "random"):
        for seed in range(seeds):
            reviewer, rng, done = SimulatedReviewer(patients, seed=seed), np.random.default_rng(seed), []
            started = time.perf_counter()
            for n in range(1, max(sizes) + 1):
                left, right = next_pair(ids, done) if policy == "active" else _random_pair(ids, done, rng)
                done.append(Judgement("r1", left, right, reviewer.choose(left, right)))
                if n in sizes:
                    ranking = np.argsort(bradley_terry(ids, done))[:decile]
                    found = len(reviewer.implausible & {ids[i] for i in ranking})
                    rows.append({"policy": policy, "seed": seed, "judgements": n,
                                 "planted_in_bottom_decile": found / len(reviewer.implausible),
                                 "split_half_reliability": split_half_reliability(ids, done, seed=seed),
                                 "seconds": time.perf_counter() - started})  # fmt: skip
    return pl.DataFrame(rows)


def ceiling(judgements: int, patients: int = 40, planted: int = 4) -> float:
    """The reliability an ideal estimator reaches in this world with ``judgements`` spread evenly."""
    share = planted / patients
    true_variance = share * (1 - share) * math.log(4) ** 2
    per_patient = (judgements / 2) * 2 / patients  # a half holds judgements/2 comparisons of 2 patients each
    error = 4 / per_patient  # the variance of a Bradley-Terry score from that many comparisons at even odds
    half = true_variance / (true_variance + error)
    return 2 * half / (1 + half)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--judgements", type=int, nargs="+", default=[300, 600, 1200])
    args = parser.parse_args()
    frame = run(args.seeds, sorted(args.judgements))
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.write_csv(RESULTS / "review.csv")
    summary = (
        frame.group_by("policy", "judgements")
        .agg(
            pl.col("planted_in_bottom_decile").mean().round(3).alias("planted_in_bottom_decile"),
            pl.col("split_half_reliability").mean().round(3).alias("reliability_mean"),
            pl.col("split_half_reliability").min().round(3).alias("reliability_min"),
            pl.col("split_half_reliability").max().round(3).alias("reliability_max"),
            (pl.col("split_half_reliability") >= 0.8).mean().round(3).alias("share_reaching_0.8"),
        )
        .with_columns(pl.col("judgements").map_elements(ceiling, return_dtype=pl.Float64).round(3).alias("ceiling"))
        .sort("policy", "judgements")
    )
    text = [
        "# Clinician review: judgements needed",
        "",
        f"{args.seeds} simulated reviewers per row (20% wrong answers, a coin between two consistent patients); "
        f"40 colon patients, 4 planted implausible. Machine: {platform.machine()}, Python "
        f"{platform.python_version()}; `python bench/review.py`.",
        "",
        "`ceiling`: the split-half reliability (Spearman–Brown) an ideal estimator reaches in this world with the "
        "judgements spread evenly; only the planted tenth differs in true plausibility.",
        "",
        summary.to_pandas().to_markdown(index=False),
        "",
    ]
    (RESULTS / "review.md").write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
