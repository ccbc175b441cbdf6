"""Clinicians' review of an earlier release, for the next release's datasheet.

A release is frozen before anyone reviews it, so what reviewers said feeds forward: per cohort, the
latest earlier release whose synthetic patients were judged (``review_judgements``) gives its least
plausible patients (Bradley–Terry scores with intervals), its reliability and the candidate rules
they suggest. Candidates are proposals for a person to accept into ``config/plausibility_rules.yaml``;
nothing here changes a release.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.release.manifest import version_key
from pipeline.review.pool import ReviewPool, review_summary
from pipeline.review.store import CREATE, TABLE, judgements
from pipeline.warehouse import Warehouse

LEAST_PLAUSIBLE = 5  # patients listed per cohort
RULES_LISTED = 5
SHOWN_FIELDS = ("sex", "age_at_diagnosis", "primary_cancer_condition", "cancer_stage_group", "survival_months")


def _reviewed_releases(store: Warehouse, cohort: str, before: tuple) -> list[str]:
    """Releases with judgements of ``cohort`` that precede ``before`` (a :func:`version_key`), latest first."""
    with store.connect() as con:
        con.execute(CREATE)
        query = f"SELECT DISTINCT release FROM {TABLE} WHERE cohort = ?"
        found = [row[0] for row in con.execute(query, [cohort]).fetchall()]
    dated = [(key, r) for r in found if (key := version_key(r)) is not None and key < before]
    return [r for _, r in sorted(dated, reverse=True)]


def _reviewed_patients(release_dir: Path, cohort: str, ids: set[str]) -> pl.DataFrame | None:
    folder = release_dir / "cohorts" / cohort
    splits = [folder / f"{s}.parquet" for s in ("train", "test") if (folder / f"{s}.parquet").is_file()]
    if not splits:
        return None
    rows = pl.concat([pl.read_parquet(p) for p in splits], how="diagonal_relaxed")
    return rows.filter(pl.col("patient_id").is_in(list(ids)))


def cohort_review(store: Warehouse, releases_root: Path, cohort: str, *, before: str) -> dict[str, Any] | None:
    """The review of ``cohort`` in the latest earlier release that was reviewed and is still on disk, or None."""
    bound = version_key(before)
    if bound is None:
        return None
    for release in _reviewed_releases(store, cohort, bound):
        done = judgements(store, release, cohort)
        judged = {i for j in done for i in (j.left, j.right)}
        try:
            patients = _reviewed_patients(Path(releases_root) / release, cohort, judged)
        except (OSError, pl.exceptions.PolarsError):  # an unreadable earlier release: the one before it
            continue
        if patients is None or patients.height < 2:
            continue
        known = set(patients["patient_id"])
        done = [j for j in done if j.left in known and j.right in known]
        summary = review_summary(ReviewPool(release, cohort, patients), done)
        values = {r["patient_id"]: r for r in patients.iter_rows(named=True)}
        least = [
            {**{k: row[k] for k in ("rank", "patient_id", "score", "ci_low", "ci_high", "judgements")},
             **{f: values[row["patient_id"]].get(f) for f in SHOWN_FIELDS if f in patients.columns}}
            for row in summary["ranking"][:LEAST_PLAUSIBLE]
        ]  # fmt: skip
        return {
            "release": release,
            "judgements": summary["judgements"],
            "reviewers": summary["reviewers"],
            "patients_judged": patients.height,
            "split_half_reliability": summary["split_half_reliability"],
            "reviewer_agreement": summary["reviewer_agreement"],
            "least_plausible": least,
            "candidate_rules": summary["candidate_rules"][:RULES_LISTED],
        }
    return None


def earlier_reviews(store: Warehouse, releases_root: Path, cohorts: Iterable[str], *, before: str) -> dict[str, Any]:
    """:func:`cohort_review` of each cohort that has one."""
    found = {c: cohort_review(store, releases_root, c, before=before) for c in cohorts}
    return {c: review for c, review in found.items() if review is not None}
