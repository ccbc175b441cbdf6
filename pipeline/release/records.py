"""Releases in DuckDB: ``releases``, ``release_files`` and ``release_metrics``, for list and diff."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.release.journal import read_journals
from pipeline.release.manifest import ReleaseError
from pipeline.release.verify import load_manifest
from pipeline.warehouse import Warehouse

LIST_SQL = """
SELECT r.version, r.created_at, m.cohort, m.synthesizer, m.released,
       round(max(m.value) FILTER (m.metric = 'column_shapes'), 3) AS shapes,
       round(max(m.value) FILTER (m.metric = 'pair_trends'), 3) AS pairs,
       round(max(m.value) FILTER (m.metric = 'c2st_auc'), 3) AS c2st,
       round(max(m.value) FILTER (m.metric = 'dcr_share'), 3) AS dcr_share,
       round(max(m.value) FILTER (m.metric = 'mia_auc'), 3) AS mia
FROM releases r JOIN release_metrics m USING (version)
GROUP BY ALL ORDER BY r.created_at, m.cohort
"""

DIFF_SQL = """
WITH a AS (SELECT * FROM release_metrics WHERE version = ?), b AS (SELECT * FROM release_metrics WHERE version = ?)
SELECT coalesce(a.cohort, b.cohort) AS cohort, coalesce(a.family, b.family) AS family,
       coalesce(a.metric, b.metric) AS metric, coalesce(a.target, b.target) AS target,
       a.value AS before, b.value AS after, b.value - a.value AS change
FROM a FULL JOIN b ON a.cohort = b.cohort AND a.synthesizer = b.synthesizer AND a.family = b.family
     AND a.metric = b.metric AND a.target = b.target
WHERE (coalesce(a.target, b.target) = '(all)' OR coalesce(a.gate, b.gate))
  AND (a.value IS DISTINCT FROM b.value)
ORDER BY cohort, family, metric, target
"""


def record_release(store: Warehouse, directory: Path) -> str:
    """Add (or refresh) one release's rows in the three tables; return its version.

    The ``releases`` row records the manifest's sha256 (a reference ``verify`` checks) and the
    audit chain anchor the manifest carries.
    """
    loaded = load_manifest(directory)
    manifest = loaded.data
    version = manifest["release"]
    key = {"version": version}
    anchor = manifest.get("audit") if isinstance(manifest.get("audit"), dict) else {}
    summary = pl.DataFrame(
        [
            {
                "created_at": manifest["created_at"],
                "code_revision": manifest["code_revision"],
                "validation_config_version": manifest["validation_config_version"],
                "cohorts_released": ", ".join(manifest["cohorts"]),
                "cohorts_withheld": ", ".join(manifest["withheld"]),
                "path": str(directory),
                "manifest_sha256": loaded.sha256,
                "audit_entries": anchor.get("entries"),
                "audit_head": anchor.get("head"),
            }
        ],
        schema_overrides={"audit_entries": pl.Int64, "audit_head": pl.String},
    )
    files = pl.DataFrame(manifest["files"], schema_overrides={"rows": pl.Int64})
    store.replace_rows("releases", summary, key, add_columns=True)
    store.replace_rows("release_files", files, key, add_columns=True)
    store.replace_rows("release_metrics", pl.read_parquet(directory / "metrics.parquet"), key, add_columns=True)
    return version


def list_releases(store: Warehouse, root: Path | None = None) -> pl.DataFrame:
    """Releases with headline metrics and a ``status``: complete, or incomplete naming the missing steps.

    A release whose commit was interrupted before its warehouse rows were written is listed from
    its journal under ``root`` (the releases directory) with no metrics.
    """
    recorded = store.query(LIST_SQL) if "releases" in store.tables() else pl.DataFrame()
    journals = read_journals(root) if root is not None and Path(root).is_dir() else {}
    versions = set(recorded["version"].to_list()) if recorded.height else set()
    status = {v: j.status() for v, j in journals.items()}
    status.update({v: "unknown (no journal)" for v in versions - set(journals)})
    if not status:
        return pl.DataFrame()
    states = pl.DataFrame({"version": list(status), "status": list(status.values())})
    if not recorded.height:
        return states.sort("version")
    listing = states.join(recorded, on="version", how="left")
    return listing.sort("created_at", "version", "cohort", nulls_last=True).select(
        "version", "status", *(c for c in recorded.columns if c != "version")
    )


def diff_releases(store: Warehouse, before: str, after: str) -> pl.DataFrame:
    known = set(store.query("SELECT version FROM releases")["version"]) if "releases" in store.tables() else set()
    for version in (before, after):
        if version not in known:
            raise ReleaseError(f"release {version} is not recorded in {store.path}; recorded: {sorted(known)}")
    return store.query(DIFF_SQL, [before, after])
