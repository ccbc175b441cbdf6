"""A killed `make demo` does not block the next one: its open backfill is canceled and its runs closed."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._time import get_current_timestamp

from pipeline.settings import ROOT
from runner import demo
from runner.recover import DEMO_TITLE, DemoAlreadyRunning, close_stale, demo_lock


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    """An instance with the project's dagster.yaml (run monitoring on, a queue of two)."""
    monkeypatch.setenv("ONCOBENCH_CONCURRENT_RUNS", "2")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    shutil.copyfile(ROOT / "config" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.get() as opened:
        yield opened


def _backfill(instance: dg.DagsterInstance, backfill_id: str, title: str) -> None:
    backfill = PartitionBackfill(
        backfill_id=backfill_id, status=BulkActionStatus.REQUESTED, from_failure=False, tags={},
        backfill_timestamp=get_current_timestamp(), partition_names=[], reexecution_steps=None, title=title,
    )  # fmt: skip
    instance.add_backfill(backfill)


ORIGIN = RemoteJobOrigin(  # a queued run names the code it would run: any origin will do, nothing runs
    RemoteRepositoryOrigin(InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=__file__)), "r"), "j"
)


def _run(instance: dg.DagsterInstance, run_id: str, status: DagsterRunStatus, backfill_id: str) -> None:
    tags = {"dagster/backfill": backfill_id}
    instance.add_run(DagsterRun(job_name="j", run_id=run_id, status=status, tags=tags, remote_job_origin=ORIGIN))


def test_a_killed_demo_is_closed_and_nothing_else_is_touched(instance: dg.DagsterInstance) -> None:
    assert instance.run_monitoring_enabled and instance.run_monitoring_max_runtime_seconds == 7200
    _backfill(instance, "killed", DEMO_TITLE)
    _backfill(instance, "from-the-ui", "someone's backfill")
    _run(instance, "started", DagsterRunStatus.STARTED, "killed")
    _run(instance, "queued", DagsterRunStatus.QUEUED, "killed")
    _run(instance, "done", DagsterRunStatus.SUCCESS, "killed")
    _run(instance, "theirs", DagsterRunStatus.STARTED, "from-the-ui")
    said: list[str] = []

    recovered = close_stale(instance, said.append)

    assert recovered.backfills == ("killed",) and recovered.failed_runs == ("started",)
    assert recovered.canceled_runs == ("queued",) and "earlier `make demo` was stopped" in said[0]
    status = {r: instance.get_run_by_id(r).status for r in ("started", "queued", "done", "theirs")}
    assert status == {"started": DagsterRunStatus.FAILURE, "queued": DagsterRunStatus.CANCELED,
                      "done": DagsterRunStatus.SUCCESS, "theirs": DagsterRunStatus.STARTED}  # fmt: skip
    assert instance.get_backfill("killed").status == BulkActionStatus.CANCELED
    assert instance.get_backfill("from-the-ui").status == BulkActionStatus.REQUESTED
    assert close_stale(instance, said.append).lines() == [] and len(said) == 1  # a second look finds nothing


def test_a_second_demo_is_refused_while_one_runs(instance: dg.DagsterInstance, capsys) -> None:
    root = Path(instance.root_directory)
    with demo_lock(root):
        with pytest.raises(DemoAlreadyRunning, match="another `make demo` is running"), demo_lock(root):
            pass
        assert demo.main([]) == 2
    assert "another `make demo` is running" in capsys.readouterr().err
    with demo_lock(root):  # released: the next demo may run
        pass
