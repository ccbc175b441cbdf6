"""An append-only, hash-chained audit log in DuckDB: ingestion, training, validation, releases.

Each entry holds the hash of the previous one, so editing, removing or reordering any entry
breaks the chain at a point :func:`verify_chain` names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.warehouse import Warehouse

TABLE = "audit_log"
GENESIS = "0" * 64
KINDS = ("ingestion", "training", "validation", "stress", "release")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry_hash(seq: int, recorded_at: str, kind: str, subject: str, payload: str, previous: str) -> str:
    """sha256 over the entry's fields and the previous entry's hash."""
    text = _canonical([seq, recorded_at, kind, subject, payload, previous])
    return hashlib.sha256(text.encode()).hexdigest()


def append(store: Warehouse, kind: str, subject: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Add one entry after the current last one (under the warehouse lock) and return it."""
    if kind not in KINDS:
        raise ValueError(f"audit kind must be one of {KINDS}, got {kind!r}")
    with store.connect() as con:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (seq BIGINT, recorded_at VARCHAR, kind VARCHAR, subject VARCHAR, "
            "payload VARCHAR, previous_hash VARCHAR, hash VARCHAR)"
        )
        last = con.execute(f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
        seq, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
        recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
        body = _canonical(payload)
        digest = entry_hash(seq, recorded_at, kind, subject, body, previous)
        con.execute(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [seq, recorded_at, kind, subject, body, previous, digest],
        )
    return {"seq": seq, "recorded_at": recorded_at, "kind": kind, "subject": subject, "payload": body,
            "previous_hash": previous, "hash": digest}  # fmt: skip


def read_log(store: Warehouse) -> pl.DataFrame:
    """Every entry in storage order (the order a reader sees, not the claimed sequence)."""
    if TABLE not in store.tables():
        return pl.DataFrame()
    with store.connect() as con:
        return con.sql(f"SELECT * EXCLUDE (rowid) FROM (SELECT rowid, * FROM {TABLE}) ORDER BY rowid").pl()


@dataclass(frozen=True)
class ChainProblem:
    """One break in the chain, naming the entry."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


def verify_entries(entries: list[dict[str, Any]]) -> list[ChainProblem]:
    """Check every entry's hash and its link to the one before, in the order given."""
    problems = []
    previous_hash, expected_seq = GENESIS, 1
    for entry in entries:
        seq = int(entry["seq"])
        recomputed = entry_hash(
            seq, entry["recorded_at"], entry["kind"], entry["subject"], entry["payload"], entry["previous_hash"]
        )
        if recomputed != entry["hash"]:
            problems.append(ChainProblem(seq, "edited: its content does not match its hash"))
        if seq != expected_seq:
            what = "removed before it" if seq > expected_seq else "out of order or duplicated"
            problems.append(ChainProblem(seq, f"expected entry {expected_seq} here: entries {what}"))
        elif entry["previous_hash"] != previous_hash:
            problems.append(ChainProblem(seq, "does not link to the entry before it"))
        previous_hash, expected_seq = entry["hash"], seq + 1
    return problems


def verify_chain(store: Warehouse) -> list[ChainProblem]:
    """Verify the log as stored (in insertion order)."""
    return verify_entries(read_log(store).to_dicts())


def export_log(store: Warehouse, path: Path) -> int:
    """Write the log as JSON lines (one entry per line, in order); return the entry count."""
    entries = read_log(store).to_dicts()
    path.write_text("".join(_canonical(e) + "\n" for e in entries))
    return len(entries)


def read_exported(path: Path) -> list[dict[str, Any]]:
    """Entries of an exported log, for ``verify_entries``."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
