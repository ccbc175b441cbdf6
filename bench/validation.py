"""Validation speed: our fidelity + privacy suite against sdmetrics on the same data.

Real rows: 100,000 training and 30,000 holdout rows; synthetic rows: 10k, 100k and 1M. No
public cohort here has 100k patients, so all three are drawn (different seeds) from a flow
fitted on support2_cancer, the widest default cohort (36 compared columns). Each job runs
in a fresh process with an address-space cap, so a job that runs out of memory fails alone
and its peak resident memory is its own; a job past the time limit is stopped and recorded.

    python bench/validation.py [--sizes 10000 100000 1000000] [--timeout 900] [--memory-gb 16]

Writes bench/results/validation.csv and bench/results/validation.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parent / ".cache"
REAL_ROWS, HOLDOUT_ROWS = 100_000, 30_000


def _frames(synthetic_rows: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    def path(name: str) -> Path:
        return CACHE / f"{name}.parquet"

    synthetic = pl.scan_parquet(path("synthetic")).head(synthetic_rows).collect()
    if synthetic.height != synthetic_rows:
        raise RuntimeError(
            f"the cache holds {synthetic.height} synthetic rows, not {synthetic_rows}: rerun without --reuse"
        )
    return pl.read_parquet(path("real")), pl.read_parquet(path("holdout")), synthetic


def prepare(max_rows: int) -> None:
    """Fit the flow once and cache real, holdout and synthetic rows."""
    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry
    from pipeline.synthesis.catalog import make_synthesizer

    CACHE.mkdir(exist_ok=True)
    entry = load_registry().get("support2_cancer")
    model = make_synthesizer("flow", profile="full")
    model.fit(harmonize_entry(read_raw(entry), entry, salt="bench"), seed=0)
    for name, rows, seed in (("real", REAL_ROWS, 10), ("holdout", HOLDOUT_ROWS, 11), ("synthetic", max_rows, 12)):
        model.sample(rows, seed=seed).write_parquet(CACHE / f"{name}.parquet")


def _ours(synthetic_rows: int) -> dict[str, object]:
    from pipeline.validation import fidelity, privacy
    from pipeline.validation.columns import column_kinds

    real, holdout, synthetic = _frames(synthetic_rows)
    kinds = column_kinds(real, synthetic)
    times, started = {}, time.perf_counter()
    shapes = fidelity.column_shapes(real, synthetic, kinds)[-1].value
    pairs = fidelity.pair_trends(real, synthetic, kinds)[-1].value
    times["shapes_pairs_s"] = time.perf_counter() - started  # what QualityReport computes
    mark = time.perf_counter()
    fidelity.distances(real, synthetic, kinds)
    times["distances_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    fidelity.c2st_auc(holdout, synthetic, kinds)
    times["c2st_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    privacy.exact_copies(real, holdout, synthetic, kinds)
    dcr = {m.metric: m.value for m in privacy.distance_metrics(real, holdout, synthetic, kinds)}
    times["privacy_s"] = time.perf_counter() - mark
    total = time.perf_counter() - started
    mark = time.perf_counter()
    privacy.anonymeter_risks(real, holdout, synthetic, kinds, secrets=["race"], attacks=300)
    times["anonymeter_s"] = time.perf_counter() - mark
    return {
        "seconds": total,
        **times,
        "column_shapes": shapes,
        "pair_trends": pairs,
        "dcr_share": dcr["dcr_share"],
    }


def _sdmetrics_inputs(synthetic_rows: int):
    from pipeline.validation.columns import column_kinds

    real, _, synthetic = _frames(synthetic_rows)
    kinds = column_kinds(real, synthetic)

    def to_pandas(frame: pl.DataFrame):
        return (
            frame.select(kinds.all)
            .with_columns(pl.col(c).cast(pl.String) for c in kinds.categorical)
            .with_columns(pl.col(c).cast(pl.Float64) for c in kinds.numerical)
            .to_pandas()
        )

    columns = {c: {"sdtype": "numerical" if c in kinds.numerical else "categorical"} for c in kinds.all}
    return to_pandas(real), to_pandas(synthetic), {"columns": columns}


def _sdmetrics_quality(synthetic_rows: int) -> dict[str, object]:
    from sdmetrics.reports.single_table import QualityReport

    real, synthetic, metadata = _sdmetrics_inputs(synthetic_rows)
    started = time.perf_counter()
    report = QualityReport()
    report.generate(real, synthetic, metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return {
        "seconds": time.perf_counter() - started,
        "column_shapes": float(properties["Column Shapes"]),
        "pair_trends": float(properties["Column Pair Trends"]),
    }


def _sdmetrics_dcr(synthetic_rows: int) -> dict[str, object]:
    from sdmetrics.single_table import DCRBaselineProtection

    real, synthetic, metadata = _sdmetrics_inputs(synthetic_rows)
    started = time.perf_counter()
    score = DCRBaselineProtection.compute(real, synthetic, {"tables": {"cohort": metadata}}, "cohort")
    return {"seconds": time.perf_counter() - started, "dcr_baseline_protection": score}


JOBS = {
    "oncobench fidelity+privacy": _ours,
    "sdmetrics QualityReport": _sdmetrics_quality,
    "sdmetrics DCRBaselineProtection": _sdmetrics_dcr,
}


def _child(job: str, synthetic_rows: int, memory_gb: float) -> dict[str, object]:
    cap = int(memory_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        result = {"status": "ok", **JOBS[job](synthetic_rows)}
    except MemoryError:
        result = {"status": f"out of memory (cap {memory_gb:g} GB)"}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def _run_job(job: str, size: int, timeout: float, memory_gb: float) -> dict[str, object]:
    """One job in a fresh interpreter (not a daemonic pool worker, so scikit-learn may use every core)."""
    command = [sys.executable, __file__, "--child", job, str(size), str(memory_gb)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"stopped after {timeout:g} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"failed (exit {done.returncode}): {last}"[:160]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--jobs", nargs="+", default=list(JOBS), choices=list(JOBS))
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a job is stopped")
    parser.add_argument("--memory-gb", type=float, default=16.0, help="address-space cap per job")
    parser.add_argument("--reuse", action="store_true", help="reuse the cached rows of an earlier run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job, size, memory_gb = args.child
        print(json.dumps(_child(job, int(size), float(memory_gb))))
        return
    cached = CACHE / "synthetic.parquet"
    enough = cached.exists() and pl.scan_parquet(cached).select(pl.len()).collect().item() >= max(args.sizes)
    if not (args.reuse and enough):
        prepare(max(args.sizes))
    rows, gave_up = [], {}
    for size in sorted(args.sizes):
        for job in args.jobs:
            if job in gave_up:  # it did not finish on fewer rows; more rows will not help
                result = {"status": f"not run: {gave_up[job]}"}
            else:
                result = _run_job(job, size, args.timeout, args.memory_gb)
                if result["status"] != "ok":
                    gave_up[job] = f"{result['status']} at {size:,} rows"
            row = {"synthetic_rows": size, "real_rows": REAL_ROWS, "job": job, **result}
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
            rows.append(row)
    table = pl.DataFrame(rows, infer_schema_length=None)
    table = table.with_columns(pl.col(pl.Float64).round(4))
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.write_csv(RESULTS / "validation.csv")
    header = (
        f"# Validation benchmark\n\nMachine: {platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}. Real: {REAL_ROWS:,} training + {HOLDOUT_ROWS:,} holdout rows; "
        f"per-job time limit {args.timeout:g} s, address-space cap {args.memory_gb:g} GB. `seconds` of the "
        "oncobench row is the whole fidelity + privacy suite (column shapes, pair trends, distances, C2ST, exact "
        "copies, DCR, DCR share, NNDR, MIA); Anonymeter is timed apart (`anonymeter_s`).\n\n"
    )
    (RESULTS / "validation.md").write_text(header + table.to_pandas().to_markdown(index=False) + "\n")
    print(f"wrote {RESULTS / 'validation.md'}")


if __name__ == "__main__":
    main()
