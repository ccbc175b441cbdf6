"""Run the whole lineage for every registered cohort into the local Dagster instance.

The runs are recorded in ``$DAGSTER_HOME`` so ``make ui`` shows them.
"""

from __future__ import annotations

import sys
import time

import dagster as dg

from assets.definitions import defs, main_job, synthesis_job, validation_job
from assets.partitions import cohort_partitions
from pipeline.synthesis.catalog import DEFAULT_SYNTHESIZER


def _run(job_name: str, partition_key: str, label: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    started = time.perf_counter()
    result = defs.resolve_job_def(job_name).execute_in_process(
        partition_key=partition_key, instance=instance, raise_on_error=False
    )
    failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    status = "ok" if result.success and not failed_checks else "FAILED"
    detail = f", failed checks: {', '.join(failed_checks)}" if failed_checks else ""
    print(f"[{status}] {label} in {time.perf_counter() - started:.1f}s (run {result.run_id[:8]}{detail})", flush=True)
    return result


def run_all(instance: dg.DagsterInstance, synthesizer: str = DEFAULT_SYNTHESIZER) -> int:
    """Ingest, synthesize and validate every cohort; return the number of cohorts that failed a step."""
    failed = 0
    for cohort in cohort_partitions.get_partition_keys():
        ok = _run(main_job.name, cohort, f"{cohort}: ingestion", instance).success
        model_key = dg.MultiPartitionKey({"cohort": cohort, "synthesizer": synthesizer})
        ok = ok and _run(synthesis_job.name, model_key, f"{cohort}: synthesis ({synthesizer})", instance).success
        # validation runs on its own so that metrics are recorded even when a gate failed
        ok = ok and _run(validation_job.name, model_key, f"{cohort}: validation ({synthesizer})", instance).success
        failed += not ok
    return failed


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        failed = run_all(instance)
    print("all cohorts materialized; see `make ui`" if not failed else f"{failed} cohort(s) failed; see `make ui`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
