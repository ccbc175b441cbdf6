"""Run the whole lineage for every registered cohort into the local Dagster instance.

The runs are recorded in ``$DAGSTER_HOME`` so ``make ui`` shows them.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
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
from assets.partitions import cohort_partitions
from pipeline.evaluation.records import leaderboard
from pipeline.release.references import tag_message
from pipeline.release.settings import load_release_settings
from pipeline.synthesis.catalog import DEFAULT_SYNTHESIZER
from pipeline.validation.queries import SCOREBOARD_SQL

RELEASE_METRICS = Path(__file__).resolve().parents[1] / "data" / "release_metrics.json"


def _run(
    job_name: str, partition_key: str | None, label: str, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    started = time.perf_counter()
    result = defs.resolve_job_def(job_name).execute_in_process(
        partition_key=partition_key, instance=instance, raise_on_error=False
    )
    failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    status = "ok" if result.success and not failed_checks else "FAILED"
    detail = f", failed checks: {', '.join(failed_checks)}" if failed_checks else ""
    print(f"[{status}] {label} in {time.perf_counter() - started:.1f}s (run {result.run_id[:8]}{detail})", flush=True)
    return result


DEMO_SYNTHESIZERS = (DEFAULT_SYNTHESIZER, "copula")  # CTGAN at its 300-epoch default takes minutes per cohort


def run_all(instance: dg.DagsterInstance, synthesizers: tuple[str, ...] = DEMO_SYNTHESIZERS) -> int:
    """Ingest every cohort, synthesize and validate it per synthesizer, build its stress suite.

    Returns the number of failed steps. A failed gate is an outcome, not a failed step: the
    blocking check stops that synthetic cohort in its run; validation still records its metrics.
    """
    failed = 0
    for cohort in cohort_partitions.get_partition_keys():
        if not _run(main_job.name, cohort, f"{cohort}: ingestion", instance).success:
            failed += 1
            continue
        for synthesizer in synthesizers:
            key = dg.MultiPartitionKey({"cohort": cohort, "synthesizer": synthesizer})
            synthesis = _run(synthesis_job.name, key, f"{cohort}: synthesis ({synthesizer})", instance)
            if not synthesis.asset_materializations_for_node("synthetic_cohort"):
                failed += 1
                continue
            failed += not _run(validation_job.name, key, f"{cohort}: validation ({synthesizer})", instance).success
        failed += not _run(stress_job.name, cohort, f"{cohort}: stress suite ({DEFAULT_SYNTHESIZER})", instance).success
    return failed


def print_scoreboard() -> None:
    """Headline metrics and gate outcome of every validated synthetic cohort, from DuckDB."""
    board = defs.resources["warehouse"].get().query(SCOREBOARD_SQL)
    with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(board)


def release(instance: dg.DagsterInstance) -> bool:
    """Publish the release of config/release.yaml; a release interrupted earlier is completed, not skipped."""
    settings = load_release_settings()
    target = Path(defs.resources["releases"].root) / settings.version
    result = _run(release_job.name, None, f"release {settings.version}", instance)
    if not result.success:
        return False
    materialized = result.asset_materializations_for_node("benchmark_release")
    metadata = materialized[-1].metadata if materialized else {}
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


def evaluate(instance: dg.DagsterInstance) -> int:
    """Score every registered model (config/models.yaml) on the release and print the leaderboard."""
    version = load_release_settings().version
    failed = 0
    for key in evaluation_partitions.get_partition_keys():
        failed += not _run(evaluation_job.name, key, f"evaluation of {key} on release {version}", instance).success
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
    with dg.DagsterInstance.get() as instance:
        if "--release-only" not in args:
            failed = run_all(instance)
            print_scoreboard()
        if "--no-release" not in args:
            released = release(instance)
            failed += not released
            if released and "--no-evaluation" not in args:
                failed += evaluate(instance)
    print("done; see `make ui`" if not failed else f"{failed} step(s) failed; see `make ui`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
