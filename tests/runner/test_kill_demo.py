"""A killed main job loses nothing and the next one finishes it.

`python -m runner.demo` (what `make demo` runs) is started on a one-cohort world and killed with
SIGKILL, driver, daemon and every run process at once, at points the test chooses by watching the
instance (not a timer): once the run that fits the synthesizer has started, once the release run
has started, once the run that scores a model has started. Each kill is followed by a new demo; the
last one runs to the end. The release then verifies, the audit chain holds, and the warehouse has
one evaluation row for every task the release declares, no more. (A kill between the release's own
steps is tested in ``tests/pipeline/release``: the release is journaled.)
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from pipeline.audit import read_log, verify_entries
from pipeline.release.verify import verify_release
from pipeline.settings import ROOT
from pipeline.warehouse import Warehouse
from tests.runner.world import COHORT, one_cohort_world

pytestmark = [pytest.mark.slow]
KILL_POINTS = ("synthesizer_model", "benchmark_release", "model_evaluation")  # while each one's run is started
RUN_SECONDS = 1200  # a demo of one cohort takes about 3 minutes on 2 cores


def _demo(environment: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "runner.demo"], cwd=ROOT, env=environment, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def _started(instance: dg.DagsterInstance, asset: str) -> bool:
    runs = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED]))
    return any(dg.AssetKey(asset) in (run.asset_selection or ()) for run in runs)


def _kill_tree(process: subprocess.Popen) -> int:
    """SIGKILL the demo and every process under it (daemon, code server, run workers) at once."""
    root = psutil.Process(process.pid)
    tree = [root, *root.children(recursive=True)]
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):  # already gone
            member.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=30)
    return len(tree)


def test_a_demo_killed_at_three_points_is_finished_by_the_next(tmp_path: Path) -> None:
    environment = one_cohort_world(tmp_path)
    for number, asset in enumerate(KILL_POINTS):
        log = tmp_path / f"demo-{number}.log"
        process = _demo(environment, log)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DAGSTER_HOME", environment["DAGSTER_HOME"])
            with dg.DagsterInstance.get() as instance:
                deadline = time.monotonic() + RUN_SECONDS
                while not _started(instance, asset):
                    assert process.poll() is None, f"the demo ended before {asset} started:\n{log.read_text()[-3000:]}"
                    assert time.monotonic() < deadline, f"{asset} never started:\n{log.read_text()[-3000:]}"
                    time.sleep(0.2)
        assert _kill_tree(process) >= 3  # the demo, its daemon and at least one run
        if number:
            assert "an earlier `make demo` was stopped" in log.read_text()

    log = tmp_path / "demo-last.log"
    finished = _demo(environment, log)
    assert finished.wait(timeout=RUN_SECONDS) == 0, log.read_text()[-5000:]
    said = log.read_text()
    assert "an earlier `make demo` was stopped" in said and "done; see `make ui`" in said

    release = tmp_path / "data" / "releases" / "0.1.0"
    assert verify_release(release) == []
    assert not list(release.parent.glob(".partial-*"))  # the killed release's half-written folder is gone
    store = Warehouse(tmp_path / "data" / "warehouse.duckdb")
    assert verify_entries(read_log(store).to_dicts()) == []
    rows = store.query("SELECT release, model, cohort, task, count(*) AS n FROM evaluations GROUP BY ALL")
    assert set(rows["n"]) == {1}, rows  # no evaluation row twice
    declared = json.loads((release / "manifest.json").read_text())["cohorts"][COHORT]["tasks"]
    assert sorted(rows["task"]) == sorted(declared) and set(rows["cohort"]) == {COHORT}  # none lost
