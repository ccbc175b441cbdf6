"""Harrell's C-index: this project's numpy blocks against lifelines' ``concordance_index``, the same values, timed.

The evaluation's bootstraps call Harrell's C thousands of times (survival tasks: the test split, every subgroup and
every stress cell, 200 resamples each), so its speed sets the evaluation's.

    python bench/harrell.py [--sizes 100 1000 5000] [--repeats 20]

Writes bench/results/harrell.csv and harrell.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from pathlib import Path

from pipeline.settings import export_environment
from pipeline.threads import THREAD_VARIABLES

export_environment({**dict.fromkeys(THREAD_VARIABLES, "1"), "POLARS_MAX_THREADS": "1"})

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from lifelines.utils import concordance_index  # noqa: E402

from pipeline.evaluation.stats import harrell_c  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def timed(call, repeats: int) -> tuple[float, float]:
    value, started = call(), time.perf_counter()
    for _ in range(repeats):
        call()
    return value, (time.perf_counter() - started) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 2000, 5000])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        rng = np.random.default_rng(n)
        t, e, r = rng.exponential(30, n).round(1), (rng.random(n) < 0.5).astype(int), rng.normal(size=n).round(2)
        ours, ours_ms = timed(lambda t=t, e=e, r=r: harrell_c(t, e, r), args.repeats)
        theirs, theirs_ms = timed(lambda t=t, e=e, r=r: concordance_index(t, -r, e), args.repeats)
        rows.append({"rows": n, "numpy_ms": round(ours_ms, 2), "lifelines_ms": round(theirs_ms, 2),
                     "speedup": round(theirs_ms / ours_ms, 1), "abs_difference": abs(ours - theirs)})  # fmt: skip
    table = pl.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    table.write_csv(RESULTS / "harrell.csv")
    text = (f"# Harrell's C-index: numpy blocks against lifelines\n\n{platform.machine()}, one thread, Python "
            f"{platform.python_version()}; `python bench/harrell.py` ({date.today()}); milliseconds per call, mean of "
            f"{args.repeats}; half the patients dead, tied times and scores. Above 2,000 rows `harrell_c` calls "
            "lifelines itself (the blocks cost n^2).\n\n"
            + table.to_pandas().to_markdown(index=False) + "\n")  # fmt: skip
    (RESULTS / "harrell.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
