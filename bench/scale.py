"""A registry-sized cohort end to end: time and peak memory of every stage, at growing sizes.

A real study (``--source``, default the SEER prostate cohort of the registry) is harmonized and the
flow is fitted on it, then draws ``N`` patients: the scaled cohort, written as a CSV registry export.
Each stage then runs as a user runs it, one process at a time (``oncobench ingest``, ``split``,
``synthesize``, ``validate``, ``stress``, and the release as ``benchmark_release`` builds it), under
``/usr/bin/time`` for its wall time and peak resident memory. A stage whose time grows faster than the
cohort is named in the results (``growth``: the exponent of time against rows between two sizes).

    python bench/scale.py [--sizes 100000 300000 1000000] [--source prostate_seer] [--timeout 3600]

Writes bench/results/scale.csv and scale.md (rows appended per size, so a ladder can be run in parts).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import export_environment

export_environment({"OMP_NUM_THREADS": "2", "ONCOBENCH_THREADS": "2"})  # one stage at a time: every core

import polars as pl  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results"
ONCOBENCH = [sys.executable, "-m", "pipeline.cli"]
TO_CSV = "import polars as pl, sys; pl.read_parquet(sys.argv[1]).write_csv(sys.argv[2])"  # a registry export
RELEASE = """
import sys
from pathlib import Path
import polars as pl
from pipeline.release.build import CohortCandidate, ReleaseOptions, build_release
work = Path(sys.argv[1])
candidate = CohortCandidate(cohort="scaled", synthesizer="flow", synthetic=pl.read_parquet(work / "synthetic.parquet"),
                            stress_suite=pl.read_parquet(work / "stress.parquet"),
                            metrics=pl.read_parquet(work / "metrics.parquet"), input_fingerprint="scale-bench")
build_release(work / "releases", [candidate], ReleaseOptions("0.1.0"))
"""


def _timed(stage: str, command: list[str], work: Path, timeout: float) -> dict[str, object]:
    """Run ``command`` under /usr/bin/time: wall seconds, peak RSS (GB) and exit code."""
    report = work / f"{stage}.time"
    started = time.perf_counter()
    try:
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(report), *command], cwd=PROJECT,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        code, tail = done.returncode, (done.stderr or done.stdout)[-400:]
    except subprocess.TimeoutExpired:
        code, tail = "timeout", f"stopped after {timeout:.0f} s"
    seconds = time.perf_counter() - started
    peak = None
    if report.exists() and (lines := report.read_text().strip().splitlines()):
        peak = round(int(lines[-1].split()[-1]) / 1024**2, 2)  # KiB -> GiB
    row = {"stage": stage, "seconds": round(seconds, 1), "peak_gb": peak, "exit": str(code)}
    if str(code) != "0":
        row["error"] = tail.strip().replace("\n", " ")[-300:]
    print(f"  {stage}: {row}", file=sys.stderr, flush=True)
    return row


def run_size(rows: int, source: str, work: Path, timeout: float, on_stage: Callable[[list[dict[str, object]]], None],
             finished: dict[str, dict[str, object]] | None = None) -> list[dict[str, object]]:  # fmt: skip
    """Every stage on a cohort of ``rows`` patients scaled up from ``source`` (protected attributes: the
    registry's for ``source``, as a registry export would be registered)."""
    from pipeline.cohorts.registry import load_registry

    protected = list(load_registry().get(source).protected) or ["sex", "race"]
    scaled_parquet, scaled = work / "scaled.parquet", work / "scaled_cohort.csv"
    real = work / "real.parquet"
    cli = ONCOBENCH
    steps: list[tuple[str, list[str]]] = []
    steps.append(("make_cohort", [*cli, "ingest", source, "--out", str(real), "--force"]))
    steps.append(("make_cohort", [*cli, "synthesize", str(real), "--synthesizer", "flow", "--rows", str(rows),
                                  "--seed", "7", "--out", str(scaled_parquet)]))  # fmt: skip
    steps.append(("make_cohort", [sys.executable, "-c", TO_CSV, str(scaled_parquet), str(scaled)]))
    steps.append(("ingest", [*cli, "ingest", str(scaled), "--name", "scaled", "--out", str(work / "cohort.parquet"),
                             "--force"]))  # fmt: skip
    steps.append(("split", [*cli, "split", str(work / "cohort.parquet"), "--out-dir", str(work)]))
    steps.append(("synthesize", [*cli, "synthesize", str(work / "train.parquet"), "--synthesizer", "flow",
                                 "--seed", "0", "--rows", str(rows), "--save-model", str(work / "model.pkl"),
                                 "--out", str(work / "synthetic.parquet")]))  # fmt: skip
    steps.append(("validate", [*cli, "validate", str(work / "train.parquet"), str(work / "synthetic.parquet"),
                               "--holdout", str(work / "holdout.parquet"), "--cohort", "scaled",
                               "--synthesizer", "flow", "--out", str(work / "metrics.parquet"),
                               "--protected", *protected]))  # fmt: skip
    steps.append(("stress", [*cli, "stress", str(work / "train.parquet"), "--kind", "all", "--model",
                             str(work / "model.pkl"), "--out", str(work / "stress.parquet"),
                             "--attribute", *protected]))  # fmt: skip
    steps.append(("release", [sys.executable, "-c", RELEASE, str(work)]))
    measured: dict[str, dict[str, object]] = {}
    for number, (stage, command) in enumerate(steps):
        if stage in (finished or {}):  # measured by an earlier run on this folder (--work): its outputs are here
            measured[stage] = {k: v for k, v in finished[stage].items() if k != "rows"}
            continue
        row = _timed(f"{stage}_{number}", command, work, timeout)
        if stage in measured:  # the cohort is made in three commands: one row
            kept = measured[stage]
            kept["seconds"] = round(float(kept["seconds"]) + float(row["seconds"]), 1)
            kept["peak_gb"] = max((p for p in (kept["peak_gb"], row["peak_gb"]) if p is not None), default=None)
            kept["exit"], kept["error"] = row["exit"], row.get("error", kept.get("error"))
        else:
            measured[stage] = {**row, "stage": stage}
        on_stage([{"rows": rows, **row} for row in measured.values()])  # written as it goes: a stopped run keeps it
        if row["exit"] not in ("0", "1"):  # validate exits 1 when a gate fails: a verdict, not a crash
            break
    return [{"rows": rows, **row} for row in measured.values()]


def _growth(table: pl.DataFrame) -> pl.DataFrame:
    """Per stage, the exponent of seconds against rows from the previous size (1 = linear)."""
    previous = pl.col("seconds").shift(1).over("stage", order_by="rows")
    rows_before = pl.col("rows").shift(1).over("stage", order_by="rows")
    exponent = (pl.col("seconds").log() - previous.log()) / (pl.col("rows").log() - rows_before.log())
    return table.with_columns(exponent.round(2).alias("growth"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--source", default="prostate_seer")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one stage may take")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folders here")
    parser.add_argument("--work", type=Path, default=None,
                        help="one size: go on in this kept folder, skipping stages scale.csv has as done")  # fmt: skip
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for size in args.sizes:
        print(f"{size} patients ...", file=sys.stderr, flush=True)
        work = args.work or Path(tempfile.mkdtemp(prefix=f"oncobench-scale-{size}-", dir=args.keep))
        finished = _finished(size) if args.work else {}
        try:
            found = run_size(size, args.source, work, args.timeout,
                             lambda done, before=list(rows): _write([*before, *done], args), finished)  # fmt: skip
        finally:
            if args.keep is None and args.work is None:
                shutil.rmtree(work, ignore_errors=True)
        rows += found
        _write(rows, args)
    print((RESULTS / "scale.md").read_text())
    return 0


def _finished(size: int) -> dict[str, dict[str, object]]:
    """Stages of ``size`` that scale.csv records as done (exit 0)."""
    path = RESULTS / "scale.csv"
    if not path.exists():
        return {}
    table = pl.read_csv(path, infer_schema_length=None).filter((pl.col("rows") == size) & (pl.col("exit") == 0))
    return {row["stage"]: row for row in table.drop("growth", strict=False).to_dicts()}


def _write(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    table = pl.DataFrame(rows, infer_schema_length=None)
    previous = RESULTS / "scale.csv"
    if previous.exists():  # earlier sizes of the ladder stay
        kept = pl.read_csv(previous, infer_schema_length=None).filter(~pl.col("rows").is_in(table["rows"].implode()))
        table = pl.concat([kept.drop("growth", strict=False), table], how="diagonal_relaxed")
    table = _growth(table).sort("rows", "stage")
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.write_csv(RESULTS / "scale.csv")
    totals = table.group_by("rows").agg(pl.col("seconds").sum().alias("seconds"), pl.col("peak_gb").max()).sort("rows")
    lines = [
        "# A registry-sized cohort end to end",
        "",
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; cohort scaled up from "
        f"`{args.source}` with the flow; each stage one process with every core, under /usr/bin/time. "
        "`growth`: exponent of seconds against rows from the previous size (1 = linear). `python bench/scale.py`.",
        "",
        table.to_pandas().to_markdown(index=False),
        "",
        "Totals (make_cohort included):",
        "",
        totals.with_columns((pl.col("seconds") / 60).round(1).alias("minutes")).to_pandas().to_markdown(index=False),
        "",
    ]
    (RESULTS / "scale.md").write_text("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
