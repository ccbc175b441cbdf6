"""Resources that put every asset of the lineage under a temporary directory."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.energy import ENERGY, EnergyResource
from assets.ingestion import cohort_split, harmonized_cohort, raw_cohort
from assets.resources import (
    CohortRegistryResource,
    JsonIOManager,
    PolarsParquetIOManager,
    ReleaseSettingsResource,
    RulesResource,
    SynthesizerIOManager,
    ValidationConfigResource,
    WarehouseResource,
)
from pipeline.cohorts.registry import load_registry
from pipeline.release.settings import DEFAULT_RELEASE_CONFIG
from pipeline.rules import DEFAULT_RULES
from pipeline.validation.gates import DEFAULT_CONFIG

FAST_SYNTHESIS = {"profile": "fast", "seed": 3, "rows": 300, "params": {"epochs": "4"}}


def lineage_resources(tmp_path: Path, validation_config: Path = DEFAULT_CONFIG) -> dict[str, object]:
    return {
        "registry": CohortRegistryResource(path=str(load_registry().path), id_salt="t"),
        "validation_config": ValidationConfigResource(path=str(validation_config)),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "io_manager": PolarsParquetIOManager(base_dir=str(tmp_path / "assets")),
        "model_io_manager": SynthesizerIOManager(base_dir=str(tmp_path / "models")),
        "rules": RulesResource(path=str(DEFAULT_RULES)),
        "json_io_manager": JsonIOManager(base_dir=str(tmp_path / "assets")),
        "release_settings": ReleaseSettingsResource(path=str(DEFAULT_RELEASE_CONFIG)),
        ENERGY: EnergyResource(warehouse=str(tmp_path / "warehouse.duckdb"), enabled=False),
    }


@pytest.fixture
def colon_split(tmp_path: Path) -> Path:
    """colon ingested and split under ``tmp_path`` (the inputs of synthesis and validation)."""
    result = dg.materialize(
        [raw_cohort, harmonized_cohort, cohort_split], partition_key="colon", resources=lineage_resources(tmp_path)
    )
    assert result.success
    return tmp_path
