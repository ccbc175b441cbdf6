"""Clinicians' judgements in DuckDB (table ``review_judgements``), one row each, appended under the
warehouse's lock: two reviewers at once never lose or corrupt a row, and a session survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.review.ranking import Judgement
from pipeline.warehouse import Warehouse

TABLE = "review_judgements"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (release VARCHAR, cohort VARCHAR, reviewer VARCHAR, left_id VARCHAR, "
    "right_id VARCHAR, choice VARCHAR, judged_at VARCHAR)"
)


def record_judgement(store: Warehouse, release: str, cohort: str, judgement: Judgement) -> str:
    """Append one judgement with the time it was made; return that time (UTC, ISO 8601)."""
    judged_at = datetime.now(UTC).isoformat(timespec="microseconds")
    with store.transaction() as con:
        con.execute(CREATE)
        con.execute(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [release, cohort, judgement.reviewer, judgement.left, judgement.right, judgement.choice, judged_at],
        )
    return judged_at


def judgements(store: Warehouse, release: str, cohort: str) -> list[Judgement]:
    """Every judgement of one release's cohort, in the order they were made."""
    with store.connect() as con:
        con.execute(CREATE)
        rows = con.execute(
            f"SELECT reviewer, left_id, right_id, choice FROM {TABLE} WHERE release = ? AND cohort = ? "
            "ORDER BY judged_at, reviewer",
            [release, cohort],
        ).fetchall()
    return [Judgement(*row) for row in rows]
