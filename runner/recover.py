"""Recover from a killed `make demo`: one demo at a time, and what a killed one left behind closed.

A demo killed with its daemon leaves its backfill open and its runs QUEUED or STARTED with no
process behind them: they fill the queue's slots and the next demo waits forever. Before it
launches anything, the demo takes an exclusive lock (a second demo on the same instance is refused
at once) and, holding it, knows that no other demo is running: it cancels the open backfills of
earlier demos and fails (STARTED) or cancels (QUEUED) their unfinished runs, saying so. Runs and
backfills started elsewhere (the UI, a schedule) are left alone. The data needs no repair: every
stage writes its outputs atomically and the release step is journaled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._time import get_current_timestamp
from filelock import FileLock, Timeout

DEMO_TITLE = "make demo"  # the title of the demo's backfills (runner.demo)
OPEN_BACKFILLS = (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING)
UNFINISHED = (DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING)
WAITING = (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED)


class DemoAlreadyRunning(RuntimeError):
    """Another demo holds the instance's lock."""


@dataclass(frozen=True)
class Recovered:
    """What an earlier, killed demo left open and this one closed."""

    backfills: tuple[str, ...] = ()
    failed_runs: tuple[str, ...] = ()
    canceled_runs: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        if not (self.backfills or self.failed_runs or self.canceled_runs):
            return []
        return [
            f"an earlier `make demo` was stopped: canceled its backfill(s) {', '.join(self.backfills) or '-'}; "
            f"marked {len(self.failed_runs)} started run(s) failed and canceled {len(self.canceled_runs)} "
            "queued run(s); this demo runs them again"
        ]


@contextmanager
def demo_lock(root: Path) -> Iterator[None]:
    """Hold the instance's demo lock for the block; :class:`DemoAlreadyRunning` when another demo does."""
    lock = FileLock(str(root / "demo.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout as error:
        raise DemoAlreadyRunning(
            f"another `make demo` is running on {root} (lock {lock.lock_file}); wait for it or stop it"
        ) from error
    try:
        yield
    finally:
        lock.release()


def close_stale(instance: dg.DagsterInstance, say: Callable[[str], None] = print) -> Recovered:
    """Cancel earlier demos' open backfills and close their unfinished runs. Call it holding
    :func:`demo_lock`: only then is nothing of an earlier demo still running."""
    stale = [b for status in OPEN_BACKFILLS for b in instance.get_backfills(status=status) if b.title == DEMO_TITLE]
    failed, canceled = [], []
    for backfill in stale:
        instance.update_backfill(
            backfill.with_status(BulkActionStatus.CANCELED).with_end_timestamp(get_current_timestamp())
        )
        tags = {"dagster/backfill": backfill.backfill_id}
        for run in instance.get_runs(filters=RunsFilter(tags=tags, statuses=[*UNFINISHED, *WAITING])):
            message = f"left unfinished by a stopped `make demo` (backfill {backfill.backfill_id})"
            if run.status in WAITING:
                instance.report_run_canceled(run, message)
                canceled.append(run.run_id)
            else:
                instance.report_run_failed(run, message)
                failed.append(run.run_id)
    recovered = Recovered(tuple(b.backfill_id for b in stale), tuple(failed), tuple(canceled))
    for line in recovered.lines():
        say(line)
    return recovered
