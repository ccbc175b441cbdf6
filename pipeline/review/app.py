"""The clinician review page: two synthetic patients of a release side by side, "which is more
clinically plausible?", judgements to DuckDB, Bradley–Terry scores back. One process (FastAPI,
served by uvicorn), no build step: the page is one HTML document with a small script.

Keys: ← the left patient is more plausible, → the right one, ↓ both are implausible. Every pair
served carries a signature, so a judgement of a pair the page never showed (a tampered request)
is refused; a reviewer id is letters, digits and ``._@-`` only.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from pipeline.errors import OncoBenchError
from pipeline.review.page import PAGE
from pipeline.review.ranking import CHOICES, Judgement, next_pair, reviewer_agreement, scores, split_half_reliability
from pipeline.review.rules import candidate_rules
from pipeline.review.store import judgements, record_judgement
from pipeline.warehouse import Warehouse

REVIEWER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
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


class JudgementIn(BaseModel):
    reviewer: str
    left: str
    right: str
    choice: str
    token: str


def _reviewer(reviewer: str) -> str:
    if not REVIEWER.match(reviewer or ""):
        raise HTTPException(400, "reviewer id: 1-64 letters, digits or . _ @ - (starting with a letter or digit)")
    return reviewer


def create_app(pool: ReviewPool, store: Warehouse, *, seed: int = 0) -> FastAPI:
    """The review application over ``pool``, storing judgements in ``store``."""
    app = FastAPI(title=f"OncoBench review: {pool.release} {pool.cohort}", docs_url=None, redoc_url=None)
    known = set(pool.ids)

    def made() -> list[Judgement]:
        return pool_judgements(pool, store)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE.replace("{{TITLE}}", f"{pool.release} · {pool.cohort}")

    @app.get("/api/pair")
    def pair(reviewer: str) -> dict[str, Any]:
        _reviewer(reviewer)
        done = made()
        mine = [j for j in done if j.reviewer == reviewer]
        left, right = next_pair(pool.ids, done, seed=seed + len(mine))
        return {"left": pool.card(left), "right": pool.card(right), "token": pool.sign(left, right),
                "judged": len(mine), "judged_by_all": len(done)}  # fmt: skip

    @app.post("/api/judgements", status_code=201)
    def judge(body: JudgementIn) -> dict[str, Any]:
        _reviewer(body.reviewer)
        if body.choice not in CHOICES:
            raise HTTPException(400, f"choice must be one of {', '.join(CHOICES)}")
        if body.left not in known or body.right not in known or body.left == body.right:
            raise HTTPException(400, "judgement refused: these patients are not a pair of this review")
        if not hmac.compare_digest(body.token, pool.sign(body.left, body.right)):
            raise HTTPException(400, "judgement refused: this pair was not served by this review (signature)")
        judged_at = record_judgement(store, pool.release, pool.cohort, Judgement(body.reviewer, body.left,
                                                                                 body.right, body.choice))  # fmt: skip
        return {"judged_at": judged_at}

    @app.get("/api/scores")
    def ranking() -> dict[str, Any]:
        return review_summary(pool, made(), seed=seed)

    return app


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
