"""Clinicians' review of a release feeds the next release's datasheet: its least plausible patients,
reliability and candidate rules; a release never lists a review of itself or of a later release."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.release.build import ReleaseOptions
from pipeline.release.publish import publish_release
from pipeline.release.verify import load_manifest, verify_release
from pipeline.review.feedback import earlier_reviews
from pipeline.review.pool import load_pool
from pipeline.review.ranking import LEFT, RIGHT, Judgement, next_pair
from pipeline.review.store import record_judgement
from pipeline.warehouse import Warehouse
from tests.pipeline.release.conftest import candidate

CREATED = "2026-01-01T00:00:00+00:00"


def _review(store: Warehouse, release: Path, rejected: int, judgements: int = 300) -> set[str]:
    """A reviewer who finds ``rejected`` patients implausible (they lose, with 10% noise), coin otherwise."""
    pool = load_pool(release, "good", size=40)
    bad, rng, done = set(pool.ids[:rejected]), np.random.default_rng(0), []
    for _ in range(judgements):
        left, right = next_pair(pool.ids, done)
        if (left in bad) != (right in bad):
            choice = RIGHT if left in bad else LEFT
            choice = (LEFT if choice == RIGHT else RIGHT) if rng.random() < 0.1 else choice
        else:
            choice = LEFT if rng.random() < 0.5 else RIGHT
        done.append(Judgement("dr.a", left, right, choice))
        record_judgement(store, pool.release, pool.cohort, done[-1])
    return bad


def test_the_next_release_lists_the_least_plausible_patients_of_the_reviewed_one(tmp_path: Path, colon_rows) -> None:
    store, root = Warehouse(tmp_path / "w.duckdb"), tmp_path / "releases"
    first = publish_release(root, [candidate(colon_rows, "good")], ReleaseOptions("1.0.0", created_at=CREATED),
                            store=store)  # fmt: skip
    assert (
        "No clinicians' review of an earlier release of these cohorts is on record"
        in (first.path / "datasheet.md").read_text()
    )
    bad = _review(store, first.path, rejected=3)

    second = publish_release(root, [candidate(colon_rows, "good")], ReleaseOptions("1.1.0", created_at=CREATED),
                             store=store)  # fmt: skip
    review = load_manifest(second.path).data["cohorts"]["good"]["clinician_review"]
    assert review["release"] == "1.0.0" and review["judgements"] == 300 and review["reviewers"] == 1
    listed = [p["patient_id"] for p in review["least_plausible"]]
    assert len(bad & set(listed[:3])) >= 2 and set(listed) >= bad  # the rejected patients head the list
    assert all(p["ci_low"] <= p["score"] <= p["ci_high"] for p in review["least_plausible"])
    sheet = (second.path / "datasheet.md").read_text()
    assert "## Clinician review" in sheet and "**good** (release 1.0.0): 300 judgements" in sheet
    assert all(patient in sheet for patient in bad)
    assert verify_release(second.path, second.manifest_sha256) == []

    assert earlier_reviews(store, root, ["good"], before="1.0.0") == {}  # not its own review
    assert earlier_reviews(store, root, ["good", "other"], before="2.0.0").keys() == {"good"}
    assert earlier_reviews(store, root, ["good"], before="not-a-version") == {}
    assert earlier_reviews(store, root, ["good"], before="1.0.0-rc.1") == {}  # a pre-release comes before 1.0.0
    assert earlier_reviews(store, root, ["good"], before="1.0.1-rc.1").keys() == {"good"}
