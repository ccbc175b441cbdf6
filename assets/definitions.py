"""Everything Dagster needs: assets, checks, resources and the main job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets import checks, ingestion, journeys, release, stress, synthesis, validation
from assets.energy import ENERGY, EnergyResource
from assets.evaluation import EvaluationConfigResource, ModelsRegistryResource, build_model_evaluation, leaderboard
from assets.executors import TRAINING, executor_for
from assets.recommenders import RECOMMENDER_SCORES, RecommendersResource, build_recommender_evaluation
from assets.resources import (
    CohortRegistryResource,
    JsonIOManager,
    PolarsParquetIOManager,
    ReleaseSettingsResource,
    ReleaseStoreResource,
    RulesResource,
    SynthesizerIOManager,
    ValidationConfigResource,
    WarehouseResource,
)
from pipeline.cohorts.identifiers import DEFAULT_SALT
from pipeline.evaluation.config import load_evaluation_config
from pipeline.settings import Settings, current
from pipeline.threads import available_cores, configured_threads, limit_threads

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
    selection=dg.AssetSelection.assets("model_evaluation", "leaderboard"),
    description="Score one registered model (config/models.yaml) on the release; record it on the leaderboard "
    "(the `leaderboard` asset: every model's verdict).",
)

recommender_job = dg.define_asset_job(
    name="oncobench_recommenders",
    selection=dg.AssetSelection.assets(RECOMMENDER_SCORES),
    description="Score one registered treatment recommender (`recommenders:` in config/models.yaml) on the release.",
)

release_job = dg.define_asset_job(
    name="oncobench_release",
    selection=dg.AssetSelection.groups(release.RELEASE),
    description="Write the release of config/release.yaml from every cohort that passed its gates.",
)


def limit_run_threads(settings: Settings) -> int:
    """Give this process (a run or step) its share of the cores: cores / ``concurrent_runs``.

    ``threads`` (``$ONCOBENCH_THREADS``) overrides it. Every run process imports these definitions, so
    torch, BLAS/OpenMP and scikit-learn stay within the cores when the queue runs several runs at once.
    """
    concurrent = settings.concurrent_runs or str(available_cores())
    runs = int(concurrent) if concurrent.isdigit() and int(concurrent) > 0 else available_cores()
    return limit_threads(configured_threads(concurrent_processes=runs))  # settings.threads wins when set


def build_definitions(data_dir: str | None = None, *, settings: Settings | None = None) -> dg.Definitions:
    """Definitions built from ``settings`` (default: this process's environment, ``pipeline.settings``),
    with every path under ``data_dir`` when given. Every resource, path and config file comes from
    those settings; ``executor`` picks ``in_process`` (the default: one process per run), ``k8s`` or
    ``celery`` (see ``assets.executors``).
    """
    settings = (settings or current()).with_overrides(data_dir=Path(data_dir) if data_dir else None)
    # energy and carbon of every materialization (codecarbon, offline; grid: emissions_country of the
    # evaluation config); ONCOBENCH_ENERGY=off turns it off
    country = load_evaluation_config(settings.evaluation).settings.emissions_country
    assets = [*dg.load_assets_from_modules([ingestion, synthesis, journeys, validation, stress, release]),
              build_model_evaluation(settings), leaderboard]  # fmt: skip
    recommenders = build_recommender_evaluation(settings, settings.guidelines, settings.recommender_evaluation)
    jobs = [main_job, synthesis_job, validation_job, stress_job, release_job, evaluation_job]
    if recommenders is not None:
        assets.append(recommenders)
        jobs.append(recommender_job)
    return dg.Definitions(
        assets=assets,
        asset_checks=dg.load_asset_checks_from_modules([checks]),
        jobs=jobs,
        executor=executor_for(settings.executor, settings.executor_settings),  # every job's, and the UI's
        resources={
            "registry": CohortRegistryResource(path=str(settings.registry), id_salt=settings.id_salt or DEFAULT_SALT),
            "validation_config": ValidationConfigResource(path=str(settings.validation)),
            "rules": RulesResource(path=str(settings.rules)),
            "warehouse": WarehouseResource(path=str(settings.warehouse)),
            "io_manager": PolarsParquetIOManager(base_dir=str(settings.assets_dir)),
            "model_io_manager": SynthesizerIOManager(base_dir=str(settings.models_dir)),
            "json_io_manager": JsonIOManager(base_dir=str(settings.assets_dir)),
            "releases": ReleaseStoreResource(root=str(settings.releases_dir), repo=str(settings.repo)),
            "release_settings": ReleaseSettingsResource(path=str(settings.release)),
            "models": ModelsRegistryResource(path=str(settings.models)),
            "evaluation_config": EvaluationConfigResource(path=str(settings.evaluation)),
            "recommenders": RecommendersResource(
                models=str(settings.models),
                config=str(settings.recommender_evaluation),
                guidelines=str(settings.guidelines),
            ),
            ENERGY: EnergyResource(warehouse=str(settings.warehouse), country=country, enabled=settings.energy),
        },
    )


limit_run_threads(current())
defs = build_definitions()
