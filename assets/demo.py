"""Run the whole lineage for every registered cohort into the local Dagster instance.

The runs are recorded in ``$DAGSTER_HOME`` so ``make ui`` shows them.
"""

from __future__ import annotations

import sys
import time

import dagster as dg

from assets.definitions import defs, main_job, synthesis_job
from assets.partitions import cohort_partitions
from pipeline.synthesis.catalog import DEFAULT_SYNTHESIZER


def _run(job_name: str, partition_key: str, label: str, instance: dg.DagsterInstance) -> bool:
    started = time.perf_counter()
    result = defs.resolve_job_def(job_name).execute_in_process(
        partition_key=partition_key, instance=instance, raise_on_error=False
    )
    status = "ok" if result.success else "FAILED"
    print(f"[{status}] {label} in {time.perf_counter() - started:.1f}s (run {result.run_id[:8]})", flush=True)
    return result.success


def run_all(instance: dg.DagsterInstance, synthesizer: str = DEFAULT_SYNTHESIZER) -> int:
    """Ingest every cohort, then synthesize it; return the number of failed cohorts."""
    failed = 0
    for cohort in cohort_partitions.get_partition_keys():
        ok = _run(main_job.name, cohort, f"{cohort}: ingestion", instance)
        model_key = dg.MultiPartitionKey({"cohort": cohort, "synthesizer": synthesizer})
        ok = ok and _run(synthesis_job.name, model_key, f"{cohort}: synthesis ({synthesizer})", instance)
        failed += not ok
    return failed


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        failed = run_all(instance)
    print("all cohorts materialized; see `make ui`" if not failed else f"{failed} cohort(s) failed; see `make ui`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
