"""An append-only, hash-chained audit log in DuckDB: ingestion, training, validation, releases.

Each entry holds the hash of the previous one, so editing, removing or reordering any entry
breaks the chain at a point :func:`verify_chain` names. A chain cannot vouch for its own end,
so every release records an *anchor* (the chain's length and head hash when it was exported) in
its manifest and its warehouse row; checked against the latest anchor, deleted tail entries, an
emptied or dropped table and a wholesale rewrite with fresh hashes are reported too. Entries
appended after the latest release are covered by the chain only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.errors import OncoBenchError
from pipeline.io import write_text_atomic
from pipeline.warehouse import Warehouse

TABLE = "audit_log"
GENESIS = "0" * 64
KINDS = ("ingestion", "training", "validation", "stress", "release", "evaluation")


class AuditError(OncoBenchError):
    """An audit log that cannot be read; names the file and line."""


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


def find_entries(store: Warehouse, kind: str, subject: str) -> list[dict[str, Any]]:
    """Entries of one kind and subject, in storage order (e.g. whether a release was already audited)."""
    if TABLE not in store.tables():
        return []
    with store.connect() as con:
        found = con.sql(f"SELECT * FROM {TABLE} WHERE kind = ? AND subject = ? ORDER BY seq", params=[kind, subject])
        return found.pl().to_dicts()


def read_log(store: Warehouse) -> pl.DataFrame:
    """Every entry in storage order (the order a reader sees, not the claimed sequence)."""
    if TABLE not in store.tables():
        return pl.DataFrame()
    with store.connect() as con:
        return con.sql(f"SELECT * EXCLUDE (rowid) FROM (SELECT rowid, * FROM {TABLE}) ORDER BY rowid").pl()


@dataclass(frozen=True)
class ChainProblem:
    """One break in the chain, naming the entry (``seq`` None: the log as a whole)."""

    seq: int | None
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}" if self.seq is not None else f"audit log: {self.problem}"


@dataclass(frozen=True)
class Anchor:
    """The chain's length and head hash as recorded outside it (a release manifest or row)."""

    entries: int
    head: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "head": self.head}


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


def check_anchor(entries: list[dict[str, Any]], anchor: Anchor, *, exact: bool = False) -> list[ChainProblem]:
    """Entry ``anchor.entries`` must exist and carry the anchored hash (and be the last one if ``exact``)."""
    n = anchor.entries
    if len(entries) < n:
        missing = f"entries {len(entries) + 1}-{n} are missing" if len(entries) + 1 < n else f"entry {n} is missing"
        return [ChainProblem(None, f"{len(entries)} entries, but {anchor.source} anchors {n}: {missing} (deleted)")]
    if n and entries[n - 1]["hash"] != anchor.head:
        return [ChainProblem(int(entries[n - 1]["seq"]), f"hash differs from the one anchored in {anchor.source} "
                             "(the chain was rewritten)")]  # fmt: skip
    if exact and len(entries) > n:
        return [ChainProblem(None, f"{len(entries)} entries, but {anchor.source} anchors exactly {n}")]
    return []


def verify_chain(store: Warehouse, anchors: list[Anchor] | tuple[Anchor, ...] = ()) -> list[ChainProblem]:
    """Verify the log as stored (in insertion order), then against the latest anchor."""
    if TABLE not in store.tables():
        latest = max(anchors, key=lambda a: a.entries, default=None)
        if latest is not None and latest.entries:
            return [ChainProblem(None, f"table {TABLE} is missing from {store.path}, but {latest.source} "
                                 f"anchors {latest.entries} entries (dropped)")]  # fmt: skip
        return []
    entries = read_log(store).to_dicts()
    problems = verify_entries(entries)
    latest = max(anchors, key=lambda a: a.entries, default=None)
    return problems + (check_anchor(entries, latest) if latest is not None else [])


def anchor_of(entries: list[dict[str, Any]], source: str = "") -> Anchor:
    return Anchor(len(entries), entries[-1]["hash"] if entries else GENESIS, source)


def export_log(store: Warehouse, path: Path) -> Anchor:
    """Write the log as JSON lines (one entry per line, in order); return its anchor (length, head hash)."""
    entries = read_log(store).to_dicts()
    write_text_atomic("".join(_canonical(e) + "\n" for e in entries), path)
    return anchor_of(entries, str(path))


def parse_anchor(value: object, source: str) -> Anchor | None:
    """An anchor from a manifest's ``audit`` block (None when absent or malformed)."""
    if not isinstance(value, dict):
        return None
    entries, head = value.get("entries"), value.get("head")
    if not isinstance(entries, int) or isinstance(entries, bool) or entries < 0 or not isinstance(head, str):
        return None
    return Anchor(entries, head, source)


def warehouse_anchors(store: Warehouse) -> list[Anchor]:
    """Anchors recorded in the warehouse ``releases`` rows."""
    if "releases" not in store.tables():
        return []
    columns = set(store.query("SELECT * FROM releases LIMIT 0").columns)
    if not {"audit_entries", "audit_head"} <= columns:
        return []
    rows = store.query("SELECT version, audit_entries, audit_head FROM releases WHERE audit_entries IS NOT NULL")
    return [Anchor(int(n), head, f"release {v} ({store.path})") for v, n, head in rows.iter_rows()]


def read_exported(path: Path) -> list[dict[str, Any]]:
    """Entries of an exported log, for ``verify_entries``; a broken file is an OncoBenchError naming the line."""
    entries = []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise AuditError(f"{path}: cannot read the exported audit log ({error})") from None
    fields = ("seq", "recorded_at", "kind", "subject", "payload", "previous_hash", "hash")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise AuditError(f"{path}: line {number} is not JSON ({error})") from None
        if not isinstance(entry, dict) or any(f not in entry for f in fields):
            raise AuditError(f"{path}: line {number} is not an audit entry (needs {', '.join(fields)})")
        entries.append(entry)
    return entries
