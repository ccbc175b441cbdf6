"""Thread budgets: keep torch, BLAS/OpenMP and scikit-learn within the cores a process may use.

Each of them starts as many threads as the machine has cores. Two processes doing that at once
oversubscribe the CPU and run many times slower, so every process that computes (a CLI command,
a Dagster run or step) sets one budget here: the cores divided by the processes running beside it.
"""

from __future__ import annotations

import os
import sys

from pipeline.errors import OncoBenchError
from pipeline.settings import current, export_environment

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def available_cores() -> int:
    """Cores this process may run on (CPU affinity where the OS tells it, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_budget(concurrent_processes: int, cores: int | None = None) -> int:
    """Threads per process so that ``concurrent_processes`` of them together use at most the cores."""
    return max(1, (cores or available_cores()) // max(1, concurrent_processes))


def configured_threads(explicit: int | None = None, *, concurrent_processes: int = 1) -> int:
    """``explicit``, else ``$ONCOBENCH_THREADS``, else this process's share of the cores."""
    raw = explicit if explicit is not None else current().threads
    if raw in (None, ""):
        return thread_budget(concurrent_processes)
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise OncoBenchError(f"--threads / ONCOBENCH_THREADS must be a positive whole number, got {raw!r}")
    return threads


def limit_threads(threads: int) -> int:
    """Cap every thread pool of this process (and the environment of its children) at ``threads``."""
    threads = max(1, int(threads))
    export_environment({variable: str(threads) for variable in THREAD_VARIABLES})
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # BLAS and OpenMP pools already loaded (numpy, scikit-learn)
    torch = sys.modules.get("torch")  # not yet imported: it reads OMP_NUM_THREADS when it is
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
