"""The audit chain detects an edited, removed or reordered entry and names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import audit
from pipeline.warehouse import Warehouse


@pytest.fixture
def store(tmp_path: Path) -> Warehouse:
    store = Warehouse(tmp_path / "w.duckdb")
    for i, kind in enumerate(["ingestion", "training", "validation", "release"], start=1):
        audit.append(store, kind, f"subject-{i}", {"n": i})
    return store


def test_an_untouched_chain_verifies_and_exports(store: Warehouse, tmp_path: Path) -> None:
    assert audit.verify_chain(store) == []
    assert audit.export_log(store, tmp_path / "log.jsonl") == 4
    assert audit.verify_entries(audit.read_exported(tmp_path / "log.jsonl")) == []


def test_an_edited_entry_is_named(store: Warehouse) -> None:
    with store.connect() as con:
        con.execute("UPDATE audit_log SET payload = '{\"n\":99}' WHERE seq = 2")
    assert [str(p) for p in audit.verify_chain(store)] == ["entry 2: edited: its content does not match its hash"]


def test_a_removed_entry_is_named(store: Warehouse) -> None:
    with store.connect() as con:
        con.execute("DELETE FROM audit_log WHERE seq = 2")
    problems = [str(p) for p in audit.verify_chain(store)]
    assert problems == ["entry 3: expected entry 2 here: entries removed before it"]


def test_reordered_entries_are_named(tmp_path: Path, store: Warehouse) -> None:
    audit.export_log(store, tmp_path / "log.jsonl")
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    problems = [str(p) for p in audit.verify_entries(audit.read_exported(tmp_path / "log.jsonl"))]
    assert problems[0] == "entry 3: expected entry 2 here: entries removed before it"
    assert "entry 2: expected entry 4 here: entries out of order or duplicated" in problems
