"""Everything Dagster needs: assets, checks, resources and the main job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets import checks, ingestion
from assets.partitions import cohort_partitions
from assets.resources import (
    CohortRegistryResource,
    PolarsParquetIOManager,
    WarehouseResource,
    default_data_dir,
)

main_job = dg.define_asset_job(
    "oncobench_main",
    selection=dg.AssetSelection.groups(ingestion.INGESTION),
    partitions_def=cohort_partitions,
    description="The whole lineage for one cohort, ending in its profile.",
)


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    """Definitions with every path under ``data_dir`` (default: ``$ONCOBENCH_DATA_DIR`` or ``data/``)."""
    data = Path(data_dir or default_data_dir())
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingestion]),
        asset_checks=dg.load_asset_checks_from_modules([checks]),
        jobs=[main_job],
        resources={
            "registry": CohortRegistryResource(),
            "warehouse": WarehouseResource(path=str(data / "warehouse.duckdb")),
            "io_manager": PolarsParquetIOManager(base_dir=str(data / "assets")),
        },
    )


defs = build_definitions()
