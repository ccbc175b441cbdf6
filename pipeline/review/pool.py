"""The patients under review: a seeded sample of one release's cohort, each shown as a card, and
what the judgements so far say about them (scores, reliability, agreement, candidate rules)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.errors import OncoBenchError
from pipeline.review.ranking import Judgement, reviewer_agreement, scores, split_half_reliability
from pipeline.review.rules import candidate_rules
from pipeline.review.store import judgements
from pipeline.warehouse import Warehouse

HIDDEN = ("patient_id", "cohort")  # shown as the patient's number only


@dataclass
class ReviewPool:
    """The synthetic patients of one release's cohort under review (a seeded sample), and their lines."""

    release: str
    cohort: str
    patients: pl.DataFrame
    lines: pl.DataFrame | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def ids(self) -> list[str]:
        return self.patients["patient_id"].to_list()

    def sign(self, left: str, right: str) -> str:
        return hmac.new(self.secret, f"{left}|{right}".encode(), hashlib.sha256).hexdigest()[:32]

    def card(self, patient_id: str) -> dict[str, Any]:
        row = self.patients.filter(pl.col("patient_id") == patient_id).row(0, named=True)
        fields = {k: _shown(v) for k, v in row.items() if k not in HIDDEN and v is not None}
        lines = []
        if self.lines is not None:
            mine = self.lines.filter(pl.col("patient_id") == patient_id).sort("line")
            lines = [f"line {r['line']}: {r['regimen']} ({r['regimen_class']}), day {r['start_day']}-{r['end_day']}"
                     for r in mine.iter_rows(named=True)]  # fmt: skip
        return {"id": patient_id, "fields": fields, "lines": lines}


def _shown(value: Any) -> Any:
    return round(value, 1) if isinstance(value, float) and math.isfinite(value) else value


def load_pool(release_dir: Path, cohort: str, *, size: int = 200, seed: int = 0) -> ReviewPool:
    """``size`` patients (seeded) of ``cohort`` in a release directory; a clear error when it is not one."""
    folder = Path(release_dir) / "cohorts" / cohort
    if not (Path(release_dir) / "manifest.json").is_file():
        raise OncoBenchError(f"{release_dir}: not a release (no manifest.json); give data/releases/<version>")
    if not folder.is_dir():
        released = sorted(p.name for p in (Path(release_dir) / "cohorts").glob("*") if p.is_dir())
        raise OncoBenchError(f"{release_dir}: no cohort {cohort!r} in this release (released: {', '.join(released)})")
    patients = pl.concat([pl.read_parquet(folder / f"{s}.parquet") for s in ("train", "test")], how="diagonal_relaxed")
    if size < 2:
        raise OncoBenchError(f"--patients must be at least 2, got {size}")
    patients = patients.sample(min(size, patients.height), seed=seed, shuffle=True)
    line_files = [folder / f"lines_{s}.parquet" for s in ("train", "test") if (folder / f"lines_{s}.parquet").exists()]
    lines = pl.concat([pl.read_parquet(f) for f in line_files]) if line_files else None
    return ReviewPool(Path(release_dir).name, cohort, patients, lines)


def pool_judgements(pool: ReviewPool, store: Warehouse) -> list[Judgement]:
    """The stored judgements of the pool's release and cohort on patients of the pool."""
    known = set(pool.ids)
    return [j for j in judgements(store, pool.release, pool.cohort) if j.left in known and j.right in known]


def review_summary(pool: ReviewPool, done: list[Judgement], *, seed: int = 0) -> dict[str, Any]:
    """Scores with intervals, reliability, agreement and candidate rules of the judgements so far."""
    ranked = scores(pool.ids, done, seed=seed)
    agreement, pairs = reviewer_agreement(done)
    reliability = split_half_reliability(pool.ids, done, seed=seed)
    return {
        "release": pool.release, "cohort": pool.cohort, "judgements": len(done),
        "reviewers": len({j.reviewer for j in done}),
        "split_half_reliability": None if math.isnan(reliability) else reliability,
        "reviewer_agreement": None if math.isnan(agreement) else agreement, "pairs_judged_twice": pairs,
        "ranking": ranked.to_dicts(),
        "candidate_rules": candidate_rules(pool.patients, ranked),
    }  # fmt: skip
