"""Run the whole lineage for every registered cohort into the local Dagster instance.

The runs are recorded in ``$DAGSTER_HOME`` so ``make ui`` shows them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import dagster as dg
import polars as pl

from assets.definitions import (
    defs,
    evaluation_job,
    main_job,
    release_job,
    stress_job,
    synthesis_job,
    validation_job,
)
from assets.evaluation import evaluation_partitions
from assets.launch import Launcher, RunOutcome, daemon, launcher
from assets.partitions import cohort_partitions
from pipeline.evaluation.records import leaderboard
from pipeline.release.references import tag_message
from pipeline.release.settings import load_release_settings
from pipeline.synthesis.catalog import DEFAULT_SYNTHESIZER
from pipeline.validation.queries import SCOREBOARD_SQL

RELEASE_METRICS = Path(__file__).resolve().parents[1] / "data" / "release_metrics.json"
DAEMON_LOG = Path(os.environ.get("DAGSTER_HOME", ".dagster")) / "logs" / "daemon.log"


def _say(outcome: RunOutcome) -> None:
    """One line per finished run: partition, job, time, outcome and any failed check (a gate outcome)."""
    checks = f"; failed checks: {', '.join(outcome.failed_checks)}" if outcome.failed_checks else ""
    status = "ok" if outcome.succeeded and not outcome.failed_checks else outcome.status.value.lower()
    status = "gate failed" if outcome.succeeded and outcome.failed_checks else status
    where = outcome.partition or "-"
    print(f"[{status}] {outcome.job} {where} in {outcome.seconds:.1f}s (run {outcome.run_id[:8]}{checks})", flush=True)


DEMO_SYNTHESIZERS = (DEFAULT_SYNTHESIZER, "copula")  # CTGAN at its 300-epoch default takes minutes per cohort


def run_all(launch: Launcher, synthesizers: tuple[str, ...] = DEMO_SYNTHESIZERS) -> int:
    """Ingest every cohort, then synthesize, then validate and build stress suites: each stage one
    backfill whose runs the instance's queue runs in parallel. Returns the number of failed runs.

    A failed gate is an outcome, not a failed run: it is a failed check on `validation_metrics`.
    """
    cohorts = cohort_partitions.get_partition_keys()
    ingested = launch.wait(launch.submit(main_job.name, cohorts), _say)
    ready = [o.partition for o in ingested if o.succeeded]
    keys = [f"{cohort}|{synthesizer}" for cohort in ready for synthesizer in synthesizers]
    synthesized = launch.wait(launch.submit(synthesis_job.name, keys), _say)
    sampled = [o.partition for o in synthesized if o.succeeded]
    with_flow = [c for c in ready if f"{c}|{DEFAULT_SYNTHESIZER}" in sampled]
    runs = launch.submit(validation_job.name, sampled) + launch.submit(stress_job.name, with_flow)
    checked = launch.wait(runs, _say)
    return sum(not o.succeeded for o in [*ingested, *synthesized, *checked])


def print_scoreboard() -> None:
    """Headline metrics and gate outcome of every validated synthetic cohort, from DuckDB."""
    board = defs.resources["warehouse"].get().query(SCOREBOARD_SQL)
    with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(board)


def release(launch: Launcher) -> bool:
    """Publish the release of config/release.yaml; a release interrupted earlier is completed, not skipped."""
    settings = load_release_settings()
    target = Path(defs.resources["releases"].root) / settings.version
    (outcome,) = launch.wait(launch.submit(release_job.name), _say)
    if not outcome.succeeded:
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


def evaluate(launch: Launcher) -> int:
    """Score every registered model (config/models.yaml) on the release and print the leaderboard."""
    version = load_release_settings().version
    outcomes = launch.wait(launch.submit(evaluation_job.name, evaluation_partitions.get_partition_keys()), _say)
    failed = sum(not o.succeeded for o in outcomes)
    board = leaderboard(defs.resources["warehouse"].get(), version)
    if board.height:
        shown = board.select("task", "cohort", "model", "score", "largest_flip_rate", "adversarial", "findings_failed")
        with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                       tbl_width_chars=200, fmt_str_lengths=60):  # fmt: skip
            print(f"leaderboard of release {version} (oncobench leaderboard --release {version}):")
            print(shown)
    return failed


def main(argv: list[str] | None = None) -> int:
    args = set(sys.argv[1:] if argv is None else argv)
    failed = 0
    with dg.DagsterInstance.get() as instance, daemon(DAEMON_LOG), launcher(instance) as launch:
        print(f"runs queue in {instance.root_directory}; the daemon starts "
              f"{os.environ.get('ONCOBENCH_CONCURRENT_RUNS', 'the configured number of')} at a time "
              f"(run logs: make ui; daemon log: {DAEMON_LOG})", flush=True)  # fmt: skip
        if "--release-only" not in args:
            failed = run_all(launch)
            print_scoreboard()
        if "--no-release" not in args:
            released = release(launch)
            failed += not released
            if released and "--no-evaluation" not in args:
                failed += evaluate(launch)
    print("done; see `make ui`" if not failed else f"{failed} step(s) failed; see `make ui`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
