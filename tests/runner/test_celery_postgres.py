"""The main job on a real distributed setup: Dagster's run, event and schedule storage on PostgreSQL,
every step a Celery task (Redis broker and result backend) executed by two workers in their own
processes, one thread each; the release it writes holds the same bytes as the in-process run's.

Both runs are `python -m runner.demo` (what `make demo` runs) on the one-cohort world of
``tests/runner/world.py``, with the same seeds. The services are Debian's ``postgresql`` and
``redis-server`` started by the test on free ports (``.ci/run`` installs them as it installs Chromium).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.release.verify import verify_release
from pipeline.settings import ROOT
from pipeline.warehouse import Warehouse
from tests.runner.services import (
    celery_environment,
    celery_workers,
    kill_tree,
    missing,
    on_postgres,
    postgres,
    redis,
    release_contents,
    steps_done,
)
from tests.runner.world import COHORT, one_cohort_world

pytestmark = [pytest.mark.slow]
if reason := missing():
    pytest.skip(f"{reason}: the Celery + Postgres run is skipped", allow_module_level=True)
pytest.importorskip("dagster_celery", reason="dagster-celery is not installed: `pip install -e '.[dev]'`")
pytest.importorskip("redis", reason="the redis client is not installed: `pip install -e '.[dev]'`")

RUN_SECONDS = 1500  # the one-cohort demo takes about 3 minutes on 2 cores, either way


def _demo(environment: dict[str, str], log: Path) -> None:
    with log.open("w") as out:
        demo = subprocess.Popen([sys.executable, "-m", "runner.demo"], cwd=ROOT, env=environment, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
        try:
            code = demo.wait(timeout=RUN_SECONDS)
        except subprocess.TimeoutExpired:
            kill_tree(demo)  # the demo, its daemon and its runs
            raise AssertionError(f"the demo did not finish in {RUN_SECONDS} s:\n{log.read_text()[-3000:]}") from None
    assert code == 0, log.read_text()[-5000:]
    assert "done; see `make ui`" in log.read_text()


def test_the_main_job_on_celery_workers_and_postgres_writes_the_same_release(tmp_path: Path) -> None:
    local = tmp_path / "in_process"
    local.mkdir()
    _demo(one_cohort_world(local), local / "demo.log")

    cluster = tmp_path / "celery"
    cluster.mkdir()
    environment = one_cohort_world(cluster)
    with postgres() as database, redis() as broker:
        on_postgres(Path(environment["DAGSTER_HOME"]), database)  # runs, events and schedules in Postgres
        environment = celery_environment(environment, broker)
        with celery_workers(environment, cluster) as worker_logs:
            started = time.monotonic()
            _demo(environment, cluster / "demo.log")
            seconds = time.monotonic() - started
        import psycopg2

        with contextlib.closing(psycopg2.connect(database)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM runs GROUP BY status")
            runs = dict(cursor.fetchall())
            cursor.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'STEP_SUCCESS'")
            steps = cursor.fetchone()[0]
    assert runs.get("SUCCESS", 0) >= 5 and set(runs) == {"SUCCESS"}, runs  # recorded in Postgres, none failed
    done_by = {log.name: steps_done(log) for log in worker_logs}
    assert all(done_by.values()) and sum(done_by.values()) >= steps, done_by  # both workers ran steps, all of them
    assert steps >= 10

    ours, theirs = cluster / "data" / "releases" / "0.1.0", local / "data" / "releases" / "0.1.0"
    assert verify_release(ours) == [] and verify_release(theirs) == []
    same, expected = release_contents(ours), release_contents(theirs)
    assert any(path.endswith("train.parquet") for path in same)
    assert same == expected, {k: (same.get(k), expected.get(k)) for k in set(same) | set(expected)
                              if same.get(k) != expected.get(k)}  # fmt: skip
    tasks = json.loads((ours / "manifest.json").read_text())["cohorts"][COHORT]["tasks"]
    scored = Warehouse(cluster / "data" / "warehouse.duckdb").query(
        "SELECT task, count(*) AS n FROM evaluations GROUP BY ALL"
    )
    assert sorted(scored["task"]) == sorted(tasks) and set(scored["n"]) == {1}
    print(f"celery + postgres demo: {seconds:.0f} s, steps {done_by}, runs {runs}")
