"""Everything Dagster needs: assets, checks, resources and the main job."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from assets import checks, evaluation, ingestion, release, stress, synthesis, validation
from assets.energy import with_energy
from assets.evaluation import EvaluationConfigResource, ModelsRegistryResource
from assets.executors import TRAINING, executor_for
from assets.resources import (
    PROJECT_ROOT,
    CohortRegistryResource,
    PolarsParquetIOManager,
    ReleaseStoreResource,
    RulesResource,
    SynthesizerIOManager,
    ValidationConfigResource,
    WarehouseResource,
)
from pipeline.cohorts.identifiers import DEFAULT_SALT
from pipeline.cohorts.registry import registry_path
from pipeline.evaluation.config import DEFAULT_EVALUATION_CONFIG, load_evaluation_config
from pipeline.evaluation.registry import DEFAULT_MODELS
from pipeline.rules import DEFAULT_RULES
from pipeline.threads import available_cores, configured_threads, limit_threads
from pipeline.validation.gates import DEFAULT_CONFIG

main_job = dg.define_asset_job(
    name="oncobench_main",
    selection=dg.AssetSelection.groups(ingestion.INGESTION),
    description="Ingestion for one cohort: raw, harmonized (GX-checked) and profiled.",
)
synthesis_job = dg.define_asset_job(
    name="oncobench_synthesis",
    tags=TRAINING,  # the run queue's tag concurrency limit on a cluster (deploy/*/dagster.yaml)
    selection=dg.AssetSelection.groups(synthesis.SYNTHESIS),
    description="Fit one synthesizer on one training split and sample a synthetic cohort (GX-checked).",
)
validation_job = dg.define_asset_job(
    name="oncobench_validation",
    selection=dg.AssetSelection.groups(validation.VALIDATION),
    description="Every validation metric of one synthetic cohort into DuckDB; the gate verdict is a check on it.",
)

stress_job = dg.define_asset_job(
    name="oncobench_stress",
    selection=dg.AssetSelection.groups(stress.STRESS),
    description="Counterfactual twins, rare edge cases and upsampling for one cohort, from its fitted flow.",
)

evaluation_job = dg.define_asset_job(
    name="oncobench_evaluation",
    selection=dg.AssetSelection.groups(evaluation.EVALUATION),
    description="Score one registered model (config/models.yaml) on the release; record it on the leaderboard.",
)

release_job = dg.define_asset_job(
    name="oncobench_release",
    selection=dg.AssetSelection.groups(release.RELEASE),
    description="Write the release of config/release.yaml from every cohort that passed its gates.",
)


def _setting(variable: str, default: Path | str) -> str:
    """An environment variable's value, read once here when the definitions are built."""
    return os.environ.get(variable) or str(default)


def limit_run_threads() -> int:
    """Give this process (a run or step) its share of the cores: cores / ``$ONCOBENCH_CONCURRENT_RUNS``.

    ``$ONCOBENCH_THREADS`` overrides it. Every run process imports these definitions, so torch,
    BLAS/OpenMP and scikit-learn stay within the cores when the queue runs several runs at once.
    """
    concurrent = _setting("ONCOBENCH_CONCURRENT_RUNS", str(available_cores()))
    runs = int(concurrent) if concurrent.isdigit() and int(concurrent) > 0 else available_cores()
    return limit_threads(configured_threads(concurrent_processes=runs))


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    """Definitions with every path under ``data_dir`` (default: ``$ONCOBENCH_DATA_DIR`` or ``data/``).

    The only place resources are built and environment variables read: ``ONCOBENCH_DATA_DIR``,
    ``ONCOBENCH_REGISTRY``, ``ONCOBENCH_VALIDATION``, ``ONCOBENCH_RULES``, ``ONCOBENCH_ID_SALT``,
    ``ONCOBENCH_MODELS``, ``ONCOBENCH_EVALUATION``, and ``ONCOBENCH_EXECUTOR`` (``in_process``, the
    default: one process per run; ``k8s``; ``celery``; see ``assets.executors``) with its settings.
    """
    data = Path(data_dir or _setting("ONCOBENCH_DATA_DIR", PROJECT_ROOT / "data"))
    # energy and carbon of every materialization (codecarbon, offline; grid: emissions_country of the
    # evaluation config); ONCOBENCH_ENERGY=off turns it off
    energy = load_evaluation_config(_setting("ONCOBENCH_EVALUATION", DEFAULT_EVALUATION_CONFIG)).settings
    assets = with_energy(
        dg.load_assets_from_modules([ingestion, synthesis, validation, stress, release, evaluation]),
        warehouse=str(data / "warehouse.duckdb"), country=energy.emissions_country,
        enabled=_setting("ONCOBENCH_ENERGY", "on").lower() not in ("off", "0", "false", "no"),
    )  # fmt: skip
    return dg.Definitions(
        assets=assets,
        asset_checks=dg.load_asset_checks_from_modules([checks]),
        jobs=[main_job, synthesis_job, validation_job, stress_job, release_job, evaluation_job],
        executor=executor_for(os.environ.get("ONCOBENCH_EXECUTOR"), os.environ),  # every job's, and the UI's
        resources={
            "registry": CohortRegistryResource(
                path=str(registry_path()), id_salt=_setting("ONCOBENCH_ID_SALT", DEFAULT_SALT)
            ),
            "validation_config": ValidationConfigResource(path=_setting("ONCOBENCH_VALIDATION", DEFAULT_CONFIG)),
            "rules": RulesResource(path=_setting("ONCOBENCH_RULES", DEFAULT_RULES)),
            "warehouse": WarehouseResource(path=str(data / "warehouse.duckdb")),
            "io_manager": PolarsParquetIOManager(base_dir=str(data / "assets")),
            "model_io_manager": SynthesizerIOManager(base_dir=str(data / "models")),
            "releases": ReleaseStoreResource(root=str(data / "releases")),
            "models": ModelsRegistryResource(path=_setting("ONCOBENCH_MODELS", DEFAULT_MODELS)),
            "evaluation_config": EvaluationConfigResource(
                path=_setting("ONCOBENCH_EVALUATION", DEFAULT_EVALUATION_CONFIG)
            ),
        },
    )


limit_run_threads()
defs = build_definitions()
