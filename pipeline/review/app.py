"""The clinician review page: two synthetic patients of a release side by side, "which is more
clinically plausible?", judgements to DuckDB, Bradley–Terry scores back. One process (FastAPI,
served by uvicorn), no build step: the page is one HTML document with a small script.

Keys: ← the left patient is more plausible, → the right one, ↓ both are implausible. Every pair
served carries a signature, so a judgement of a pair the page never showed (a tampered request)
is refused; a reviewer id is letters, digits and ``._@-`` only.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from pipeline.review.page import PAGE
from pipeline.review.pool import ReviewPool, load_pool, pool_judgements, review_summary
from pipeline.review.ranking import CHOICES, Judgement, next_pair
from pipeline.review.store import record_judgement
from pipeline.warehouse import Warehouse

__all__ = ["create_app", "load_pool", "pool_judgements", "review_summary"]

REVIEWER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


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
