"""Where the steps of a run execute, chosen by ``$ONCOBENCH_EXECUTOR``: the same definitions on one
machine, on Kubernetes (dagster-k8s) or on Celery workers (dagster-celery). No scheduler of our own.

- ``in_process`` (default): every run is one process (the daemon's queue runs several at once).
- ``k8s``: one Kubernetes job per step (``k8s_job_executor``); with the K8sRunLauncher of
  ``deploy/k8s`` every run also gets its own pod.
- ``celery``: every step is a Celery task on the workers of ``deploy/celery``.

Multi-process executors hand assets between steps through the IO managers, so ``data/`` must be
storage every pod or worker sees (see the README, "Running on a cluster").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import dagster as dg

from pipeline.errors import OncoBenchError

# Runs and steps that train a synthesizer carry this tag; the run queue (deploy/*/dagster.yaml) and
# the k8s executor cap how many of them run at once.
STAGE_TAG = "oncobench/stage"
TRAINING = {STAGE_TAG: "training"}
EXECUTORS = ("in_process", "k8s", "celery")
DEFAULT_TRAINING_STEPS = 2


def _in_process(settings: Mapping[str, str]) -> dg.ExecutorDefinition:
    return dg.in_process_executor


def _k8s(settings: Mapping[str, str]) -> dg.ExecutorDefinition:
    from dagster_k8s import k8s_job_executor

    training = int(settings.get("ONCOBENCH_TRAINING_STEPS") or DEFAULT_TRAINING_STEPS)
    # step pods inherit the run launcher's image, env (ONCOBENCH_THREADS), volumes and resources
    config: dict[str, object] = {
        "tag_concurrency_limits": [{"key": STAGE_TAG, "value": "training", "limit": training}],
    }
    if settings.get("ONCOBENCH_MAX_STEPS"):
        config["max_concurrent"] = int(settings["ONCOBENCH_MAX_STEPS"])
    return k8s_job_executor.configured(config, name="oncobench_k8s")


def _celery(settings: Mapping[str, str]) -> dg.ExecutorDefinition:
    from dagster_celery import celery_executor

    config = {
        "broker": settings.get("ONCOBENCH_CELERY_BROKER") or "pyamqp://guest@localhost//",
        "backend": settings.get("ONCOBENCH_CELERY_BACKEND") or "rpc://",
    }
    return celery_executor.configured(config, name="oncobench_celery")


_BUILDERS: dict[str, Callable[[Mapping[str, str]], dg.ExecutorDefinition]] = {
    "in_process": _in_process,
    "k8s": _k8s,
    "celery": _celery,
}


def executor_for(name: str | None, settings: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """The executor called ``name`` (default ``in_process``), configured from ``settings`` (environment)."""
    chosen = (name or "in_process").strip().lower().replace("-", "_")
    if chosen not in _BUILDERS:
        raise OncoBenchError(f"ONCOBENCH_EXECUTOR must be one of {', '.join(EXECUTORS)}, got {name!r}")
    try:
        return _BUILDERS[chosen](settings or {})
    except ImportError as missing:
        raise OncoBenchError(
            f"ONCOBENCH_EXECUTOR={chosen} needs {missing.name}: pip install -e '.[cluster]'"
        ) from missing
