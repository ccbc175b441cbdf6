"""benchmark_release: the frozen, DVC-tracked snapshot of every cohort that passed its gates."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.ingestion import harmonized_cohort
from assets.metadata import table
from assets.resources import (
    BY_PARTITION,
    CohortRegistryResource,
    ReleaseStoreResource,
    ValidationConfigResource,
    WarehouseResource,
)
from assets.stress import stress_suite
from assets.synthesis import synthesizer_model, synthetic_cohort
from assets.validation import validation_metrics
from pipeline import audit
from pipeline.fingerprint import frame_fingerprint
from pipeline.release.build import CohortCandidate, ReleaseOptions, build_release
from pipeline.release.dvc import is_dvc_repo, track_release
from pipeline.release.records import record_release
from pipeline.release.settings import load_release_settings
from pipeline.synthesis.base import Synthesizer

RELEASE = "release"


class ReleaseConfig(dg.Config):
    """Overrides of config/release.yaml (empty: use the file)."""

    version: str = ""
    synthesizer: str = ""


def _every_partition(asset: dg.AssetsDefinition) -> dg.AssetIn:
    """Read every materialized partition of ``asset`` as ``{partition_key: value}``."""
    return dg.AssetIn(key=asset.key, metadata=BY_PARTITION)


@dg.asset(
    group_name=RELEASE,
    kinds={"dvc", "duckdb"},
    ins={
        "harmonized": _every_partition(harmonized_cohort),
        "models": _every_partition(synthesizer_model),
        "synthetic": _every_partition(synthetic_cohort),
        "metrics": _every_partition(validation_metrics),
        "stress": _every_partition(stress_suite),
    },
)
def benchmark_release(
    context: dg.AssetExecutionContext,
    config: ReleaseConfig,
    registry: CohortRegistryResource,
    validation_config: ValidationConfigResource,
    warehouse: WarehouseResource,
    releases: ReleaseStoreResource,
    harmonized: dict[str, pl.DataFrame],
    models: dict[str, Synthesizer],
    synthetic: dict[str, pl.DataFrame],
    metrics: dict[str, pl.DataFrame],
    stress: dict[str, pl.DataFrame],
) -> dg.MaterializeResult:
    """Writes data/releases/VERSION/ once (train/test splits, stress suites, metrics, manifest,
    datasheet, audit log) for every cohort whose synthetic cohort passed all gates; tracks it with DVC."""
    settings = load_release_settings()
    version = config.version or settings.version
    synthesizer = config.synthesizer or settings.synthesizer
    candidates = []
    for entry in registry.load().entries:
        key = f"{entry.name}|{synthesizer}"
        real, model = harmonized.get(entry.name), models.get(key)
        candidates.append(
            CohortCandidate(
                cohort=entry.name,
                synthesizer=synthesizer,
                synthetic=synthetic.get(key),
                stress_suite=stress.get(entry.name),
                metrics=metrics.get(key),
                input_fingerprint=frame_fingerprint(real) if real is not None else "missing",
                parameters=model.report.params if model is not None else {},
                seeds={"training": model.report.seed} if model is not None else {},
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
