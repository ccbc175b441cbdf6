"""benchmark_release: the frozen, DVC-tracked snapshot of every cohort that passed its gates."""

from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import polars as pl

from assets.energy import measured
from assets.ingestion import harmonized_cohort
from assets.journeys import synthetic_journeys
from assets.metadata import table
from assets.resources import (
    BY_PARTITION,
    CohortRegistryResource,
    ReleaseSettingsResource,
    ReleaseStoreResource,
    ValidationConfigResource,
    WarehouseResource,
)
from assets.stress import stress_suite
from assets.synthesis import synthesizer_model, synthetic_cohort
from assets.validation import validation_metrics
from pipeline.release.build import ReleaseOptions, release_candidates
from pipeline.release.overview import release_overview
from pipeline.release.publish import publish_release
from pipeline.synthesis.base import Synthesizer

RELEASE = "release"
RELEASE_KEY = dg.AssetKey("benchmark_release")


class ReleaseConfig(dg.Config):
    """Overrides of config/release.yaml (empty: use the file)."""

    version: str = ""
    synthesizer: str = ""


def _every_partition(asset: dg.AssetsDefinition) -> dg.AssetIn:
    """Read every materialized partition of ``asset`` as ``{partition_key: value}``."""
    return dg.AssetIn(key=asset.key, metadata=BY_PARTITION, dagster_type=dg.Any)  # read lazily


@dg.asset(
    group_name=RELEASE,
    kinds={"dvc", "duckdb"},
    io_manager_key="json_io_manager",
    ins={
        "harmonized": _every_partition(harmonized_cohort),
        "models": _every_partition(synthesizer_model),
        "synthetic": _every_partition(synthetic_cohort),
        "metrics": _every_partition(validation_metrics),
        "stress": _every_partition(stress_suite),
        "lines": _every_partition(synthetic_journeys),
    },
)
@measured
def benchmark_release(
    context: dg.AssetExecutionContext,
    config: ReleaseConfig,
    registry: CohortRegistryResource,
    validation_config: ValidationConfigResource,
    warehouse: WarehouseResource,
    releases: ReleaseStoreResource,
    release_settings: ReleaseSettingsResource,
    harmonized: Mapping[str, pl.DataFrame],
    models: Mapping[str, Synthesizer],
    synthetic: Mapping[str, pl.DataFrame],
    metrics: Mapping[str, pl.DataFrame],
    stress: Mapping[str, pl.DataFrame],
    lines: Mapping[str, pl.DataFrame],
) -> dg.Output[dict[str, str]]:
    """Writes data/releases/VERSION/ once (train/test splits, synthetic lines of therapy where a cohort
    has timelines, stress suites, metrics, manifest,
    datasheet, audit log) for every cohort whose synthetic cohort passed all gates, records it in DuckDB
    and the audit log, and tracks and pushes it with DVC, as one journaled commit: a rerun after a
    crash completes the missing steps; a complete release is left as it is. Its value is the release
    handle (version, path, manifest sha256) that evaluations read."""
    settings = release_settings.load()
    version = config.version or settings.version
    synthesizer = config.synthesizer or settings.synthesizer
    candidates = release_candidates(
        registry.load().entries, synthesizer,
        harmonized=harmonized, models=models, synthetic=synthetic, metrics=metrics, stress=stress, lines=lines,
    )  # fmt: skip
    store = warehouse.get()
    report = publish_release(
        Path(releases.root),
        candidates,
        ReleaseOptions(
            version, settings.test_fraction, settings.seed, validation_config.load().version, tasks=settings.tasks
        ),
        store=store,
        repo=Path(releases.repo),
        track=settings.dvc_track,
    )
    context.log.info(report.summary())
    next_steps = report.next_steps
    if next_steps:
        context.log.info(f"release {version} tracked and pushed with DVC; to publish it run:\n" + "\n".join(next_steps))
    path = report.path
    summary = store.query(
        "SELECT cohort, synthesizer, released, round(max(value) FILTER (metric = 'column_shapes'), 3) AS shapes, "
        "round(max(value) FILTER (metric = 'c2st_auc'), 3) AS c2st FROM release_metrics WHERE version = ? "
        "GROUP BY ALL ORDER BY cohort",
        [version],
    )
    released = summary.filter(pl.col("released"))["cohort"].to_list()
    overview = release_overview(candidates, released)
    withheld = overview.filter(~pl.col("released")).select("cohort", "withheld_by", "privacy")
    handle = {"version": version, "path": str(path), "manifest_sha256": report.manifest_sha256 or ""}
    return dg.Output(
        handle,  # what model_evaluation reads: the release this run wrote
        metadata={
            "version": version,
            "path": dg.MetadataValue.path(str(path)),
            "status": "complete" if report.complete else "incomplete",
            "steps_done_now": dg.MetadataValue.json(report.completed_now),
            "manifest_sha256": report.manifest_sha256,
            "released": dg.MetadataValue.json(released),
            "withheld": table(withheld) if withheld.height else dg.MetadataValue.md("_none: every cohort passed_"),
            "privacy": table(overview.select("cohort", "privacy", "dcr_share", "mia_auc")),
            "datasheet": dg.MetadataValue.path(str(path / "datasheet.html")),
            "cohorts": table(summary),
            "next_steps": dg.MetadataValue.md("```\n" + "\n".join(next_steps or ["(not a DVC repository)"]) + "\n```"),
        },
    )
