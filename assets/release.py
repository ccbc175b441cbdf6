"""benchmark_release: the frozen, DVC-tracked snapshot of every cohort that passed its gates."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.metadata import table
from assets.resources import (
    AssetFilesResource,
    CohortRegistryResource,
    ModelStoreResource,
    ReleaseStoreResource,
    ValidationConfigResource,
    WarehouseResource,
)
from assets.stress import stress_suite
from assets.synthesis import synthetic_cohort
from assets.validation import validation_metrics
from pipeline import audit
from pipeline.fingerprint import frame_fingerprint
from pipeline.release.build import CohortCandidate, ReleaseOptions, build_release
from pipeline.release.dvc import is_dvc_repo, track_release
from pipeline.release.records import record_release
from pipeline.release.settings import load_release_settings

RELEASE = "release"


class ReleaseConfig(dg.Config):
    """Overrides of config/release.yaml (empty: use the file)."""

    version: str = ""
    synthesizer: str = ""


@dg.asset(group_name=RELEASE, kinds={"dvc", "duckdb"}, deps=[synthetic_cohort, validation_metrics, stress_suite])
def benchmark_release(
    context: dg.AssetExecutionContext,
    config: ReleaseConfig,
    registry: CohortRegistryResource,
    validation_config: ValidationConfigResource,
    warehouse: WarehouseResource,
    models: ModelStoreResource,
    asset_files: AssetFilesResource,
    releases: ReleaseStoreResource,
) -> dg.MaterializeResult:
    """Writes data/releases/<version>/ once (train/test splits, stress suites, metrics, manifest,
    datasheet, audit log) for every cohort whose synthetic cohort passed all gates; tracks it with DVC."""
    settings = load_release_settings()
    version = config.version or settings.version
    synthesizer = config.synthesizer or settings.synthesizer
    candidates = []
    for entry in registry.load().entries:
        key = f"{entry.name}|{synthesizer}"
        real = asset_files.read("harmonized_cohort", entry.name)
        model = models.load(entry.name, synthesizer)
        candidates.append(
            CohortCandidate(
                cohort=entry.name,
                synthesizer=synthesizer,
                synthetic=asset_files.read("synthetic_cohort", key),
                stress_suite=asset_files.read("stress_suite", entry.name),
                metrics=asset_files.read("validation_metrics", key),
                input_fingerprint=frame_fingerprint(real) if real is not None else "missing",
                parameters=model.report.params,
                seeds={"training": model.report.seed},
                description=entry.description,
            )
        )
    store = warehouse.get()
    path = build_release(
        Path(releases.root),
        candidates,
        ReleaseOptions(version, settings.test_fraction, settings.seed, validation_config.load().version),
        audit_log=lambda target: audit.export_log(store, target),
    )
    record_release(store, path)
    manifest = (path / "manifest.json").read_text()
    audit.append(store, "release", version, {"path": str(path), "manifest_sha256": audit.sha256_text(manifest)})
    repo = Path(releases.repo)
    next_steps = []
    if settings.dvc_track and is_dvc_repo(repo) and path.resolve().is_relative_to(repo.resolve()):
        next_steps = track_release(repo, path)
        context.log.info(f"release {version} tracked and pushed with DVC; to publish it run:\n" + "\n".join(next_steps))
    summary = store.query(
        "SELECT cohort, synthesizer, released, round(max(value) FILTER (metric = 'column_shapes'), 3) AS shapes, "
        "round(max(value) FILTER (metric = 'c2st_auc'), 3) AS c2st FROM release_metrics WHERE version = ? "
        "GROUP BY ALL ORDER BY cohort",
        [version],
    )
    released = summary.filter(pl.col("released"))["cohort"].to_list()
    return dg.MaterializeResult(
        metadata={
            "version": version,
            "path": dg.MetadataValue.path(str(path)),
            "released": dg.MetadataValue.json(released),
            "withheld": dg.MetadataValue.json(summary.filter(~pl.col("released"))["cohort"].to_list()),
            "cohorts": table(summary),
            "next_steps": dg.MetadataValue.md("```\n" + "\n".join(next_steps or ["(not a DVC repository)"]) + "\n```"),
        }
    )
