"""Partitions follow the cohort registry: adding a registry entry adds a partition."""

from __future__ import annotations

import dagster as dg

from pipeline.cohorts.registry import load_registry

cohort_partitions = dg.StaticPartitionsDefinition(load_registry().names)
