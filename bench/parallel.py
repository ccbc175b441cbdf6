"""Every default partition of ingestion and synthesis, run sequentially and in parallel, timed.

Each configuration gets a fresh Dagster instance and data folder and runs exactly as `make demo`
does (runs submitted through workspace.yaml into a queue the daemon drains), then reports the
wall time per stage and the sum of the runs' own times:

- ``sequential``: one run at a time, every core for it;
- ``parallel``: as many runs at once as cores, each with its share of the cores (the default);
- ``oversubscribed``: as many runs at once as cores, each starting a thread per core (what
  happens without thread budgets);
- ``celery``: as ``parallel``, but Dagster's storage on PostgreSQL and every step a Celery task run by
  two workers in their own processes (one step at a time each, one thread), Redis as broker: the
  real engine of ``deploy/celery`` on one machine (Debian's ``postgresql`` and ``redis-server``).

    python bench/parallel.py [--synthesizers flow copula] [--only sequential parallel celery ...]

Writes bench/results/parallel.csv and bench/results/parallel.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pipeline.settings import quiet_environment

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
RESULTS = PROJECT / "bench" / "results"
CONFIGURATIONS = {  # name -> (runs at once, threads per run: None = the budget)
    "sequential": (1, None),
    "parallel": (None, None),
    "oversubscribed": (None, "cores"),
    "celery": (None, None),
}


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_one(synthesizers: list[str]) -> dict[str, object]:
    """In this process (its environment already set): ingestion, then synthesis, timed."""
    import dagster as dg

    from assets.partitions import cohort_partitions
    from runner.launch import daemon, launcher

    timings: dict[str, object] = {}
    home = Path(os.environ["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance, daemon(home / "daemon.log"), launcher(instance) as launch:
        cohorts = cohort_partitions.get_partition_keys()
        for stage, job, keys in (
            ("ingestion", "oncobench_main", cohorts),
            ("synthesis", "oncobench_synthesis", [f"{c}|{s}" for c in cohorts for s in synthesizers]),
        ):
            started = time.perf_counter()
            outcomes = launch.wait(launch.submit(job, keys))
            timings[f"{stage}_wall_s"] = round(time.perf_counter() - started, 1)
            timings[f"{stage}_run_s"] = round(sum(o.seconds for o in outcomes), 1)
            timings[f"{stage}_failed"] = sum(not o.succeeded for o in outcomes)
    return timings


@contextlib.contextmanager
def _engine(name: str, env: dict[str, str], work: Path) -> Iterator[dict[str, str]]:
    """``env`` as is, or for ``celery`` on PostgreSQL and Redis with two workers (tests/runner/services.py)."""
    if name != "celery":
        yield env
        return
    from tests.runner.services import celery_environment, celery_workers, missing, on_postgres, postgres, redis

    if reason := missing():
        raise SystemExit(f"celery: {reason}")
    with postgres() as database, redis() as broker:
        on_postgres(Path(env["DAGSTER_HOME"]), database)
        env = celery_environment({**env, "ONCOBENCH_THREADS": "1"}, broker)  # one step at a time per worker
        with celery_workers(env, work):
            yield env


def measure(name: str, synthesizers: list[str]) -> dict[str, object]:
    """One configuration in a child process with its own instance, data folder and thread settings."""
    cores = _cores()
    runs, threads = CONFIGURATIONS[name]
    runs = runs or cores
    # the daemon's last writes may land while the folder is removed: do not fail the measurement for it
    with tempfile.TemporaryDirectory(prefix=f"oncobench-bench-{name}-", ignore_cleanup_errors=True) as work:
        home = Path(work) / "dagster"
        home.mkdir()
        shutil.copyfile(PROJECT / "config" / "dagster.yaml", home / "dagster.yaml")
        # telemetry off, and the thread settings left to the configuration
        env = {k: v for k, v in quiet_environment().items() if not k.endswith("_NUM_THREADS")}
        env.pop("ONCOBENCH_THREADS", None)
        env |= {"DAGSTER_HOME": str(home), "ONCOBENCH_DATA_DIR": str(Path(work) / "data"),
                "ONCOBENCH_CONCURRENT_RUNS": str(runs), "ONCOBENCH_SALT_FILE": str(Path(work) / "salt")}  # fmt: skip
        if threads == "cores":
            env["ONCOBENCH_THREADS"] = str(cores)
        code = f"import json, bench.parallel as b; print(json.dumps(b.run_one({synthesizers!r})))"
        with _engine(name, env, Path(work)) as env:
            started = time.perf_counter()  # services and workers up: the run itself is timed
            done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
        timings = json.loads(done.stdout.strip().splitlines()[-1])
    threads_per_run = cores if threads == "cores" else max(1, cores // runs)
    return {"configuration": name, "runs_at_once": runs, "threads_per_run": threads_per_run, **timings,
            "total_wall_s": round(seconds, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthesizers", nargs="+", default=["flow", "copula"])
    parser.add_argument("--only", nargs="+", choices=list(CONFIGURATIONS),
                        default=[c for c in CONFIGURATIONS if c != "celery"],
                        help="celery needs postgresql and redis-server: ask for it")  # fmt: skip
    args = parser.parse_args()
    import polars as pl

    rows = []
    for name in args.only:
        print(f"{name} ...", file=sys.stderr, flush=True)
        rows.append(measure(name, args.synthesizers))
        print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    table = pl.DataFrame(rows)
    previous = RESULTS / "parallel.csv"
    if previous.exists() and set(args.only) != set(CONFIGURATIONS):  # keep the other configurations' rows
        kept = pl.read_csv(previous).filter(~pl.col("configuration").is_in(args.only))
        order = {name: i for i, name in enumerate(CONFIGURATIONS)}
        table = pl.concat([kept, table], how="diagonal_relaxed").sort(pl.col("configuration").replace_strict(order))
    if "parallel" in table["configuration"].to_list():  # each configuration's times as a multiple of in-process
        base = table.filter(pl.col("configuration") == "parallel").row(0, named=True)
        table = table.with_columns(
            (pl.col(f"{stage}_wall_s") / base[f"{stage}_wall_s"]).round(2).alias(f"{stage}_wall_vs_parallel")
            for stage in ("ingestion", "synthesis", "total")
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.write_csv(RESULTS / "parallel.csv")
    machine = platform.processor() or platform.machine()
    header = (f"# Default partitions, sequential vs parallel\n\n{_cores()} cores, {machine}, "
              f"Python {platform.python_version()}; synthesizers {', '.join(args.synthesizers)} at the `full` profile; "
              "wall = first submission to last run finished; run = sum of the runs' own times; "
              "`*_vs_parallel`: wall time as a multiple of `parallel`'s. "
              f"This run: {', '.join(args.only)}; other rows are kept from earlier runs "
              "(older code: compare rows of one run).\n\n")  # fmt: skip
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_rows=-1, tbl_cols=-1, tbl_width_chars=400):  # fmt: skip
        (RESULTS / "parallel.md").write_text(header + str(table) + "\n")
    print(table)


if __name__ == "__main__":
    main()
