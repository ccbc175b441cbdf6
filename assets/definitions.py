"""Everything Dagster needs: assets, checks, resources and the main job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets import checks, ingestion, release, stress, synthesis, validation
from assets.partitions import cohort_partitions, model_partitions
from assets.resources import (
    AssetFilesResource,
    CohortRegistryResource,
    ModelStoreResource,
    PolarsParquetIOManager,
    ReleaseStoreResource,
    SynthesizerIOManager,
    ValidationConfigResource,
    WarehouseResource,
    default_data_dir,
)

main_job = dg.define_asset_job(
    "oncobench_main",
    selection=dg.AssetSelection.groups(ingestion.INGESTION),
    partitions_def=cohort_partitions,
    description="Ingestion for one cohort: raw, harmonized (GX-checked) and profiled.",
)
synthesis_job = dg.define_asset_job(
    "oncobench_synthesis",
    selection=dg.AssetSelection.groups(synthesis.SYNTHESIS),
    partitions_def=model_partitions,
    description="Fit one synthesizer on one training split and sample a synthetic cohort; gates run as checks.",
)
validation_job = dg.define_asset_job(
    "oncobench_validation",
    selection=dg.AssetSelection.groups(validation.VALIDATION),
    partitions_def=model_partitions,
    description="Every validation metric of one synthetic cohort into DuckDB, gates recorded even when they fail.",
)

stress_job = dg.define_asset_job(
    "oncobench_stress",
    selection=dg.AssetSelection.groups(stress.STRESS),
    partitions_def=cohort_partitions,
    description="Counterfactual twins, rare edge cases and upsampling for one cohort, from its fitted flow.",
)

release_job = dg.define_asset_job(
    "oncobench_release",
    selection=dg.AssetSelection.groups(release.RELEASE),
    description="Write the release of config/release.yaml from every cohort that passed its gates.",
)


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    """Definitions with every path under ``data_dir`` (default: ``$ONCOBENCH_DATA_DIR`` or ``data/``)."""
    data = Path(data_dir or default_data_dir())
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingestion, synthesis, validation, stress, release]),
        asset_checks=dg.load_asset_checks_from_modules([checks]),
        jobs=[main_job, synthesis_job, validation_job, stress_job, release_job],
        resources={
            "registry": CohortRegistryResource(),
            "validation_config": ValidationConfigResource(),
            "warehouse": WarehouseResource(path=str(data / "warehouse.duckdb")),
            "io_manager": PolarsParquetIOManager(base_dir=str(data / "assets")),
            "model_io_manager": SynthesizerIOManager(base_dir=str(data / "models")),
            "models": ModelStoreResource(base_dir=str(data / "models")),
            "asset_files": AssetFilesResource(base_dir=str(data / "assets")),
            "releases": ReleaseStoreResource(root=str(data / "releases")),
        },
    )


defs = build_definitions()
