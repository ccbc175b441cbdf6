"""Run the whole lineage for every registered cohort into the local Dagster instance.

The runs are recorded in ``$DAGSTER_HOME`` so ``make ui`` shows them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import dagster as dg
import polars as pl

from pipeline.evaluation.records import leaderboard
from pipeline.recommenders.records import recommender_leaderboard
from pipeline.release.references import tag_message
from pipeline.release.settings import load_release_settings
from pipeline.settings import ROOT, current
from pipeline.validation.queries import SCOREBOARD_SQL
from runner.launch import BulkActionStatus, Launcher, RunOutcome, daemon, launcher
from runner.recover import DEMO_TITLE, DemoAlreadyRunning, close_stale, demo_lock

RELEASE_METRICS = ROOT / "data" / "release_metrics.json"
SETTINGS = current()
# the project's own log folder: $DAGSTER_HOME/logs belongs to Dagster's telemetry uploader
DAEMON_LOG = SETTINGS.logs_dir / "daemon.log"


def _say(outcome: RunOutcome) -> None:
    """One line per finished run: stage, partition, time, outcome and any failed check (a gate outcome)."""
    checks = f"; failed checks: {', '.join(outcome.failed_checks)}" if outcome.failed_checks else ""
    status = "ok" if outcome.succeeded and not outcome.failed_checks else outcome.status.value.lower()
    status = "gate failed" if outcome.succeeded and outcome.failed_checks else status
    stage = "+".join(outcome.stages) or outcome.job
    where = outcome.partition or "-"
    print(f"[{status}] {stage} {where} in {outcome.seconds:.1f}s (run {outcome.run_id[:8]}{checks})", flush=True)


LINEAGE = ("ingestion", "synthesis", "journeys", "validation", "stress")  # the asset groups before the release


def run_graph(
    launch: Launcher, *, lineage: bool = True, release: bool = True, evaluation: bool = True
) -> tuple[list[RunOutcome], BulkActionStatus]:
    """Materialize the selected stages of every partition as one backfill over the asset graph.

    Dagster's backfill daemon orders the runs by the graph's dependencies and partition mappings
    (ingestion, synthesis, validation and stress suites per cohort, then the release and the evaluations)
    and the instance's queue runs them in parallel. A failed gate is an outcome, not a failed run:
    a failed check on `validation_metrics` that keeps the cohort out of the release.
    """

    def keep(group: str, partition: str | None) -> bool:
        del partition  # every partition of the graph (the synthesizers of ONCOBENCH_SYNTHESIZERS)
        if group == "release":
            return release
        if group == "evaluation":  # model_evaluation, leaderboard and recommender_scores
            return release and evaluation
        return lineage and group in LINEAGE

    backfill_id = launch.backfill(keep, title=DEMO_TITLE)
    print(f"backfill {backfill_id}: the daemon starts each run once its upstream partitions are done", flush=True)
    outcomes = launch.wait_backfill(backfill_id, _say)
    status = launch.backfill_status(backfill_id)
    if status.value != "COMPLETED_SUCCESS":
        print(f"backfill {backfill_id} ended {status.value}: assets downstream of a failed run were not attempted")
    return outcomes, status


def _defs() -> dg.Definitions:
    """The project's definitions, imported when first needed (``--help`` needs none)."""
    from assets.definitions import defs

    return defs


def print_scoreboard() -> None:
    """Headline metrics and gate outcome of every validated synthetic cohort, from DuckDB."""
    board = _defs().resources["warehouse"].get().query(SCOREBOARD_SQL)
    with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(board)


def report_release(launch: Launcher, outcome: RunOutcome | None) -> bool:
    """Say where the release of config/release.yaml is and how to check, publish and pull it."""
    settings = load_release_settings(SETTINGS.release)
    target = Path(_defs().resources["releases"].root) / settings.version
    if outcome is None or not outcome.succeeded:
        print(f"release {settings.version} was not written (see the runs above, or `make ui`)")
        return False
    event = launch.instance.get_latest_materialization_event(dg.AssetKey("benchmark_release"))
    metadata = event.asset_materialization.metadata if event and event.run_id == outcome.run_id else {}
    done_now, sha = metadata.get("steps_done_now"), metadata.get("manifest_sha256")
    if done_now is not None and not done_now.value:
        print(f"release {settings.version} was already published at {target}; bump `version` in "
              "config/release.yaml to release again")  # fmt: skip
    elif done_now is not None:
        print(f"release {settings.version}: committed steps {', '.join(done_now.value)}")
    shutil.copyfile(target / "headline_metrics.json", RELEASE_METRICS)  # the DVC metrics file
    print(f"release {settings.version} written to {target}")
    print(f"  check it:   oncobench verify {target}")
    relative = os.path.relpath(target)
    tracked = f"{relative}.dvc {os.path.dirname(relative)}/.gitignore {os.path.relpath(RELEASE_METRICS)}"
    version = settings.version
    message = tag_message(version, sha.value if sha is not None else "(see manifest.json)")
    print(f"  publish it: git add {tracked} && git commit -m 'Release {version}' && "
          f"git tag -a release-{version} -m '{message}'")  # fmt: skip
    print(f"  pull it:    oncobench pull {settings.version} --repo <repository URL> --out oncobench-{settings.version}")
    return True


def print_leaderboard() -> None:
    """The leaderboard of the release of config/release.yaml, from DuckDB."""
    version = load_release_settings(SETTINGS.release).version
    board = leaderboard(_defs().resources["warehouse"].get(), version)
    if board.height:
        columns = ("score", "largest_flip_rate", "adversarial", "findings_failed", "findings_inconclusive")
        shown = board.select("task", "cohort", "model", *columns)
        with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                       tbl_width_chars=200, fmt_str_lengths=60):  # fmt: skip
            print(f"leaderboard of release {version} (oncobench leaderboard --release {version}):")
            print(shown)
    recommenders = recommender_leaderboard(_defs().resources["warehouse"].get(), version)
    if recommenders.height:
        with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                       tbl_width_chars=200, fmt_str_lengths=60):  # fmt: skip
            print(f"recommenders on release {version} (oncobench leaderboard --recommenders --release {version}):")
            print(recommenders.drop("release"))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runner.demo", description=__doc__.splitlines()[0])
    stages = parser.add_mutually_exclusive_group()
    stages.add_argument("--no-release", action="store_true", help="the lineage only (DVC stage `lineage`)")
    stages.add_argument("--release-only", action="store_true", help="the release and evaluation only")
    parser.add_argument("--no-evaluation", action="store_true", help="no model evaluation after the release")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    lineage, release = not args.release_only, not args.no_release
    evaluation = release and not args.no_evaluation
    try:
        instance = dg.DagsterInstance.get()
    except dg.DagsterError as error:  # no $DAGSTER_HOME (`make demo` sets it) or an unreadable dagster.yaml
        print(f"error: no Dagster instance ({str(error).splitlines()[0]}); run `make demo`", file=sys.stderr)
        return 2
    try:
        with instance, demo_lock(Path(instance.root_directory)):
            close_stale(instance)  # before the daemon starts: it would resume what a killed demo left
            return _run(instance, lineage=lineage, release=release, evaluation=evaluation)
    except DemoAlreadyRunning as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the daemon was stopped on the way out; what it left, the next demo closes
        print("stopped; the next `make demo` closes the runs this one left open and runs them again", file=sys.stderr)
        return 130


def _run(instance: dg.DagsterInstance, *, lineage: bool, release: bool, evaluation: bool) -> int:
    with daemon(DAEMON_LOG), launcher(instance) as launch:
        print(f"runs queue in {instance.root_directory}; the daemon starts "
              f"{SETTINGS.concurrent_runs or 'the configured number of'} at a time "
              f"(run logs: make ui; daemon log: {DAEMON_LOG})", flush=True)  # fmt: skip
        outcomes, status = run_graph(launch, lineage=lineage, release=release, evaluation=evaluation)
        failed = sum(not o.succeeded for o in outcomes) + (status.value != "COMPLETED_SUCCESS" and not outcomes)
        if lineage:
            print_scoreboard()
        if release:
            made = [o for o in outcomes if "benchmark_release" in o.assets]
            failed += not report_release(launch, made[-1] if made else None) and not failed
        if evaluation:
            print_leaderboard()
    print("done; see `make ui`" if not failed else f"{failed} step(s) failed; see `make ui`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
