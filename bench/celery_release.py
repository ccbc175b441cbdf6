"""The default backfill (`make demo`: every registered cohort, the whole lineage, the release and the
evaluations) in process and on Celery workers with Postgres storage: same release bytes?

Each side is `python -m runner.demo` with its own Dagster instance and data folder and the same seeds;
the Celery side runs Dagster's storage on a throwaway PostgreSQL, Redis as broker and result backend,
and two dagster-celery workers (one step at a time each, one thread). Every release file is compared
by sha256 but those that record when and by which run the release was made (manifest, datasheet,
audit log; the metric table's run ids); see tests/runner/services.py.

    python bench/celery_release.py

Writes bench/results/celery_release.md.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
RESULTS = PROJECT / "bench" / "results"


def _world(folder: Path, salt: Path) -> dict[str, str]:
    from pipeline.settings import quiet_environment

    home = folder / "home"
    home.mkdir(parents=True)
    shutil.copyfile(PROJECT / "config" / "dagster.yaml", home / "dagster.yaml")
    return {**quiet_environment(), "DAGSTER_HOME": str(home), "ONCOBENCH_DATA_DIR": str(folder / "data"),
            "ONCOBENCH_REPO": str(folder), "ONCOBENCH_CONCURRENT_RUNS": "2", "ONCOBENCH_THREADS": "1",
            "OMP_NUM_THREADS": "1", "ONCOBENCH_SALT_FILE": str(salt)}  # fmt: skip


def _demo(environment: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-m", "runner.demo"], cwd=PROJECT, env=environment, stdout=out,
                              stderr=subprocess.STDOUT, timeout=5400)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the demo failed ({log}):\n{log.read_text()[-3000:]}")
    return time.perf_counter() - started


def main() -> int:
    from tests.runner.services import (
        celery_environment,
        celery_workers,
        missing,
        on_postgres,
        postgres,
        redis,
        release_contents,
        steps_done,
    )

    if reason := missing():
        raise SystemExit(reason)
    work = Path(tempfile.mkdtemp(prefix="oncobench-celery-release-"))
    local, cluster = work / "in_process", work / "celery"
    print("in process ...", file=sys.stderr, flush=True)
    local_seconds = _demo(_world(local, work / "salt"), work / "in_process.log")
    print(f"  {local_seconds:.0f} s; celery ...", file=sys.stderr, flush=True)
    environment = _world(cluster, work / "salt")  # the same salt: the same ids
    with postgres() as database, redis() as broker:
        on_postgres(Path(environment["DAGSTER_HOME"]), database)
        environment = celery_environment(environment, broker)
        with celery_workers(environment, cluster) as logs:
            celery_seconds = _demo(environment, work / "celery.log")
            steps = {log.name: steps_done(log) for log in logs}
    releases = sorted(p.name for p in (local / "data" / "releases").iterdir() if p.is_dir() and p.name[0].isdigit())
    lines = ["# The default backfill in process and on Celery + Postgres", "",
             f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
             "`python bench/celery_release.py`. Both: `python -m runner.demo`, 2 runs at once; Celery: 2 workers "
             "with one step at a time and one thread each, Dagster storage on PostgreSQL, Redis broker.", "",
             f"- in process: {local_seconds:.0f} s; Celery + Postgres: {celery_seconds:.0f} s (wall times of this run, "
             f"not a timing benchmark: see bench/parallel.py); steps finished per worker: {steps}", ""]  # fmt: skip
    identical = True
    for version in releases:
        ours = release_contents(cluster / "data" / "releases" / version)
        theirs = release_contents(local / "data" / "releases" / version)
        differing = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
        identical &= not differing
        verdict = "all identical" if not differing else f"{len(differing)} differ: {', '.join(differing)}"
        lines.append(f"- release {version}: {len(theirs)} files compared, {verdict}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "celery_release.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if identical:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept for inspection: {work}", file=sys.stderr)
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
