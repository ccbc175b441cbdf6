"""Run the main job for every registered cohort into the local Dagster instance.

The runs are recorded in ``$DAGSTER_HOME`` so ``make ui`` shows them.
"""

from __future__ import annotations

import sys
import time

import dagster as dg

from assets.definitions import defs, main_job
from assets.partitions import cohort_partitions


def run_all(instance: dg.DagsterInstance) -> int:
    """Materialize every cohort partition; return the number of failed partitions."""
    job = defs.resolve_job_def(main_job.name)
    failed = 0
    for cohort in cohort_partitions.get_partition_keys():
        started = time.perf_counter()
        result = job.execute_in_process(partition_key=cohort, instance=instance, raise_on_error=False)
        status = "ok" if result.success else "FAILED"
        failed += not result.success
        print(
            f"[{status}] {cohort} in {time.perf_counter() - started:.1f}s (run {result.run_id[:8]})",
            flush=True,
        )
    return failed


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        failed = run_all(instance)
    print("all cohorts materialized" if not failed else f"{failed} cohort(s) failed; see `make ui`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
