"""Partitions follow the cohort registry and the synthesizers of this process's settings
(``pipeline.settings``): adding a registry entry adds a partition."""

from __future__ import annotations

import functools
from pathlib import Path

import dagster as dg

from pipeline.cohorts.registry import CohortRegistry, load_registry
from pipeline.settings import current
from pipeline.synthesis.catalog import configured_synthesizers


def cached_registry(path: Path | str | None = None) -> CohortRegistry:
    """The cohort registry, parsed once per process (and again only when the file changes)."""
    resolved = Path(path or current().registry).resolve()
    try:
        modified = resolved.stat().st_mtime_ns
    except OSError:
        return load_registry(resolved)  # raises the registry's own error, naming the file
    return _parse(resolved, modified)


@functools.cache
def _parse(path: Path, modified_ns: int) -> CohortRegistry:
    del modified_ns  # part of the cache key only
    return load_registry(path)


cohort_partitions = dg.StaticPartitionsDefinition(cached_registry().names)
synthesizer_partitions = dg.StaticPartitionsDefinition(configured_synthesizers())
# Assets that involve a model are partitioned by cohort x synthesizer.
model_partitions = dg.MultiPartitionsDefinition({"cohort": cohort_partitions, "synthesizer": synthesizer_partitions})
