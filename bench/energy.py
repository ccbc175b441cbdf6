"""The overhead of energy tracking: 20 start/stops of ``pipeline.energy.track_energy`` around nothing.

Each materialization runs inside one tracker, so this is what tracking adds per materialization
(the first tracker of a process also detects the CPU; Dagster runs one process per run, or per
step with a multiprocess executor). ``ONCOBENCH_ENERGY=off`` turns tracking off.

    python bench/energy.py [--repeats 20] [--country DEU]

Writes bench/results/energy.csv and bench/results/energy.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--country", default="DEU")
    args = parser.parse_args()
    started = time.perf_counter()
    from pipeline.energy import track_energy

    imported = time.perf_counter() - started
    rows = []
    for attempt in range(args.repeats):
        started = time.perf_counter()
        with track_energy("bench", str(attempt), args.country) as measured:
            pass
        rows.append({"attempt": attempt, "seconds": time.perf_counter() - started, "measured": measured.measured})
    frame = pl.DataFrame(rows)
    seconds = frame["seconds"]
    summary = pl.DataFrame([{
        "machine": platform.processor() or platform.machine(), "repeats": args.repeats,
        "import_s": round(imported, 3), "first_s": round(seconds[0], 3),
        "mean_s": round(seconds.mean(), 3), "mean_after_first_s": round(seconds[1:].mean(), 3),
        "max_after_first_s": round(seconds[1:].max(), 3), "measured": bool(frame["measured"].all()),
    }])  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    summary.write_csv(RESULTS / "energy.csv")
    (RESULTS / "energy.md").write_text(summary.to_pandas().to_markdown(index=False) + "\n")
    print(summary.to_pandas().to_markdown(index=False))


if __name__ == "__main__":
    main()
