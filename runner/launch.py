"""Launch backfills and jobs through the project's workspace and Dagster instance, as the UI does.

An asset backfill over the graph (``Launcher.backfill``) is ordered and run by the daemon's
backfill loop; a job's runs (``Launcher.submit``) appear under that job. Either way runs carry
their code location and can be re-executed from the UI. They are submitted to the instance's run
coordinator: with the project's `dagster.yaml` a queue that the Dagster daemon drains up to
`max_concurrent_runs` at a time, each run in its own process (with its thread budget, see
`assets.definitions`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import __version__ as dagster_version
from dagster._cli.workspace.cli_target import (
    get_code_location_from_workspace,
    get_remote_job_from_remote_repo,
    get_remote_repository_from_code_location,
    get_workspace_from_cli_opts,
)
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.backfill import BULK_ACTION_TERMINAL_STATUSES, BulkActionStatus, PartitionBackfill
from dagster._core.execution.job_backfill import create_backfill_run
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.utils import make_new_backfill_id
from dagster._time import get_current_timestamp
from dagster_shared.cli import WorkspaceOpts

from pipeline.settings import ROOT as PROJECT_ROOT
from pipeline.settings import quiet_environment

WORKSPACE = PROJECT_ROOT / "workspace.yaml"
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class RunOutcome:
    """How one launched run ended: its status and the checks that failed in it."""

    run_id: str
    job: str
    partition: str | None
    status: DagsterRunStatus
    seconds: float
    failed_checks: tuple[str, ...]
    assets: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()  # the asset groups of the run's assets, in graph order

    @property
    def succeeded(self) -> bool:
        return self.status == DagsterRunStatus.SUCCESS


@contextmanager
def daemon(log_file: Path) -> Iterator[subprocess.Popen]:
    """The Dagster daemon (it drains the run queue) for the duration of the block, logging to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(WORKSPACE)],
            cwd=PROJECT_ROOT,
            env=quiet_environment(),  # no telemetry thread uploading (and deleting) $DAGSTER_HOME/logs
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop(process, seconds=60)


def stop(process: subprocess.Popen, seconds: float) -> None:
    """Terminate ``process``; kill it if it has not exited after ``seconds``."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()  # reaped, not left a zombie


class Launcher:
    """Submits runs of the workspace's jobs and waits for them."""

    def __init__(self, instance: dg.DagsterInstance, workspace) -> None:
        self.instance = instance
        self.workspace = workspace
        self.location = get_code_location_from_workspace(workspace, None)
        self.repository = get_remote_repository_from_code_location(self.location, None)

    def submit(
        self, job_name: str, partitions: Sequence[str] | None = None, run_config: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Submit one run per partition (a backfill, as in the UI), or one run of an unpartitioned job.

        ``run_config`` (e.g. ops' config) is given to every run, over the partition's own.
        """
        job = get_remote_job_from_remote_repo(self.repository, job_name)
        if partitions is None:
            config = dict(run_config or {})
            plan = self.location.get_execution_plan(job, config, step_keys_to_execute=None, known_state=None,
                                                    instance=self.instance).execution_plan_snapshot  # fmt: skip
            run = self.instance.create_run(
                job_name=job.name, run_id=None, run_config=config, resolved_op_selection=None,
                step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None, root_run_id=None,
                parent_run_id=None, tags=dict(job.tags), job_snapshot=job.job_snapshot, execution_plan_snapshot=plan,
                parent_job_snapshot=job.parent_job_snapshot, remote_job_origin=job.get_remote_origin(),
                job_code_origin=job.get_python_origin(), asset_selection=None, asset_check_selection=None,
                asset_graph=self.repository.asset_graph,
            )  # fmt: skip
            self.instance.submit_run(run.run_id, self.workspace)
            return [run.run_id]
        if not partitions:  # nothing upstream succeeded: nothing to submit
            return []
        partition_set = next(s for s in self.repository.get_partition_sets() if s.job_name == job.name)
        backfill = PartitionBackfill(
            backfill_id=make_new_backfill_id(), partition_set_origin=partition_set.get_remote_origin(),
            status=BulkActionStatus.REQUESTED, partition_names=list(partitions), from_failure=False,
            reexecution_steps=None, tags={}, backfill_timestamp=get_current_timestamp(),
        )  # fmt: skip
        params = self.location.get_partition_set_execution_params(
            repository_handle=self.repository.handle,
            partition_set_name=partition_set.name,
            partition_names=list(partitions),
            instance=self.instance,
        )
        run_ids = []
        for data in params.partition_data:
            run = create_backfill_run(
                self.workspace, self.instance, self.location, job, partition_set, backfill,
                data.name, data.tags, {**data.run_config, **(run_config or {})},
            )  # fmt: skip
            if run is not None:
                self.instance.submit_run(run.run_id, self.workspace)
                run_ids.append(run.run_id)
        self.instance.add_backfill(
            backfill.with_status(BulkActionStatus.COMPLETED).with_end_timestamp(get_current_timestamp())
        )
        return run_ids

    def backfill(
        self,
        keep: Callable[[str, str | None], bool] | None = None,
        run_config: Mapping[str, Any] | None = None,
        title: str = "",
    ) -> str:
        """Submit one asset backfill over the whole graph and return its id.

        ``keep(group_name, partition_key)`` (default: everything) selects the asset partitions.
        The daemon's backfill loop then materializes them in dependency order, following the
        partition mappings (a cohort's synthesis after its ingestion; the release after every
        validation and stress suite it reads; evaluations after the release), and each run goes
        through the run queue. An asset partition whose upstream failed is not attempted.
        """
        graph = self.repository.asset_graph
        selected = set()
        for key in graph.materializable_asset_keys:
            partitions = graph.get(key).partitions_def
            names = partitions.get_partition_keys() if partitions else [None]
            group = graph.get(key).group_name
            selected |= {AssetKeyPartitionKey(key, name) for name in names if keep is None or keep(group, name)}
        if not selected:
            raise ValueError("the backfill selects no asset partition")
        backfill = PartitionBackfill.from_asset_graph_subset(
            backfill_id=make_new_backfill_id(), backfill_timestamp=get_current_timestamp(), tags={},
            dynamic_partitions_store=self.instance, asset_graph_subset=AssetGraphSubset.from_asset_partition_set(
                selected, graph), title=title or None, description=None, run_config=dict(run_config or {}),
        )  # fmt: skip
        self.instance.add_backfill(backfill)
        return backfill.backfill_id

    def wait_backfill(self, backfill_id: str, report=None, poll_seconds: float = 1.0) -> list[RunOutcome]:
        """Wait until the backfill is done and each of its runs finished; ``report(outcome)`` as each run does."""
        outcomes: dict[str, RunOutcome] = {}
        while True:
            done = self.instance.get_backfill(backfill_id).status in BULK_ACTION_TERMINAL_STATUSES
            runs = self.instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
            for run in sorted(runs, key=lambda r: r.run_id):
                if run.run_id in outcomes or run.status not in FINISHED:
                    continue
                outcomes[run.run_id] = self._outcome(run)
                if report:
                    report(outcomes[run.run_id])
            if done and all(run.status in FINISHED for run in runs):
                return list(outcomes.values())
            time.sleep(poll_seconds)

    def backfill_status(self, backfill_id: str) -> BulkActionStatus:
        return self.instance.get_backfill(backfill_id).status

    def wait(self, run_ids: Sequence[str], report=None, poll_seconds: float = 1.0) -> list[RunOutcome]:
        """Wait for every run to finish; call ``report(outcome)`` as each one does."""
        pending, outcomes = set(run_ids), {}
        while pending:
            for run in self.instance.get_runs(filters=RunsFilter(run_ids=list(pending))):
                if run.status not in FINISHED:
                    continue
                pending.discard(run.run_id)
                outcome = self._outcome(run)
                outcomes[run.run_id] = outcome
                if report:
                    report(outcome)
            if pending:
                time.sleep(poll_seconds)
        return [outcomes[r] for r in run_ids]

    def _outcome(self, run) -> RunOutcome:
        stats = self.instance.get_run_stats(run.run_id)
        seconds = (stats.end_time or 0) - (stats.start_time or stats.end_time or 0)
        records = self.instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        failed = tuple(
            r.event_log_entry.dagster_event.event_specific_data.check_name
            for r in records
            if not r.event_log_entry.dagster_event.event_specific_data.passed
        )
        keys = run.asset_selection or ()
        graph = self.repository.asset_graph
        order = {key: i for i, key in enumerate(graph.toposorted_asset_keys)}
        stages = tuple(dict.fromkeys(graph.get(k).group_name for k in sorted(keys, key=lambda k: order.get(k, 0))))
        assets = tuple(sorted(key.to_user_string() for key in keys))
        return RunOutcome(
            run.run_id, run.job_name, run.tags.get("dagster/partition"), run.status, seconds, failed, assets, stages
        )


@contextmanager
def launcher(instance: dg.DagsterInstance) -> Iterator[Launcher]:
    """A launcher on the project's workspace (a code server is started for it)."""
    with get_workspace_from_cli_opts(
        instance, version=dagster_version, workspace_opts=WorkspaceOpts(workspace=[str(WORKSPACE)]), log_level="WARNING"
    ) as workspace:
        yield Launcher(instance, workspace)
