"""Partitions follow the cohort registry: adding a registry entry adds a partition."""

from __future__ import annotations

import dagster as dg

from pipeline.cohorts.registry import load_registry
from pipeline.synthesis.catalog import SYNTHESIZERS

cohort_partitions = dg.StaticPartitionsDefinition(load_registry().names)
synthesizer_partitions = dg.StaticPartitionsDefinition(sorted(SYNTHESIZERS))
# Assets that involve a model are partitioned by cohort x synthesizer.
model_partitions = dg.MultiPartitionsDefinition({"cohort": cohort_partitions, "synthesizer": synthesizer_partitions})
