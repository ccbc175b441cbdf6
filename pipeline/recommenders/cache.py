"""Answers cached in DuckDB (table ``recommendation_cache`` of the warehouse), keyed by the recommender's
fingerprint and the patient's request item (its sha256: the record, journey and next line), so re-scoring a
release costs no call. Answers are written only after a whole evaluation succeeded (nothing half-written)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.warehouse import Warehouse

TABLE = "recommendation_cache"
SCHEMA = {"fingerprint": pl.String, "item_sha256": pl.String, "patient_id": pl.String, "answer": pl.String,
          "cached_at": pl.String}  # fmt: skip


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same item always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def item_key(item: dict[str, Any]) -> str:
    """sha256 of a request item."""
    return hashlib.sha256(canonical(item).encode()).hexdigest()


class AnswerCache:
    """The cache of one warehouse; ``None`` store: nothing is cached."""

    def __init__(self, store: Warehouse | None) -> None:
        self.store = store

    def lookup(self, fingerprint: str, keys: list[str]) -> dict[str, Any]:
        """item sha256 -> the cached raw answer, for the keys cached under ``fingerprint``."""
        if self.store is None or not keys or TABLE not in self.store.tables():
            return {}
        wanted = pl.DataFrame({"item_sha256": keys})
        with self.store.connect() as con:
            con.register("wanted", wanted)
            rows = con.execute(
                f'SELECT c.item_sha256, c.answer FROM "{TABLE}" c JOIN wanted w USING (item_sha256) '
                "WHERE c.fingerprint = ?",
                [fingerprint],
            ).fetchall()
        return {key: json.loads(answer) for key, answer in rows}

    def save(self, fingerprint: str, answers: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Add ``(item sha256, patient id, answer)`` rows not cached yet; returns how many were given."""
        if self.store is None or not answers:
            return 0
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = pl.DataFrame([(fingerprint, key, pid, canonical(answer), now) for key, pid, answer in answers],
                            schema=SCHEMA, orient="row")  # fmt: skip
        with self.store.connect() as con:
            con.register("incoming", rows)
            con.execute(f'CREATE TABLE IF NOT EXISTS "{TABLE}" AS SELECT * FROM incoming LIMIT 0')
            con.execute(
                f'INSERT INTO "{TABLE}" SELECT * FROM incoming i WHERE NOT EXISTS '
                f'(SELECT 1 FROM "{TABLE}" c WHERE c.fingerprint = i.fingerprint AND c.item_sha256 = i.item_sha256)'
            )
        return rows.height
