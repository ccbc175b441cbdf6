"""The audit chain detects an edited, removed or reordered entry and names it; anchored in the
releases outside the log, it also detects deleted tail entries, an emptied or dropped table, a
wholesale rewrite with fresh hashes and a truncated export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import audit
from pipeline.cli import main
from pipeline.warehouse import Warehouse


@pytest.fixture
def store(tmp_path: Path) -> Warehouse:
    store = Warehouse(tmp_path / "w.duckdb")
    for i, kind in enumerate(["ingestion", "training", "validation", "release"], start=1):
        audit.append(store, kind, f"subject-{i}", {"n": i})
    return store


@pytest.fixture
def anchored(store: Warehouse, tmp_path: Path) -> Warehouse:
    """A release folder whose manifest anchors the four entries, then one more entry after it."""
    release = tmp_path / "releases" / "1.0.0"
    release.mkdir(parents=True)
    anchor = audit.export_log(store, release / "audit_log.jsonl")
    manifest = {"release": "1.0.0", "files": [], "audit": anchor.as_dict()}
    (release / "manifest.json").write_text(json.dumps(manifest))
    audit.append(store, "stress", "after the release", {"n": 5})
    return store


def _cli(store: Warehouse, *extra: str) -> int:
    return main(["audit", "verify", "--warehouse", str(store.path), "--releases", str(store.path.parent / "releases"),
                 *extra])  # fmt: skip


def test_an_untouched_chain_verifies_and_exports(store: Warehouse, tmp_path: Path) -> None:
    assert audit.verify_chain(store) == []
    anchor = audit.export_log(store, tmp_path / "log.jsonl")
    assert anchor.entries == 4 and anchor.head == audit.read_log(store)["hash"][-1]
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


def test_an_anchored_chain_verifies(anchored: Warehouse, capsys) -> None:
    assert _cli(anchored) == 0
    assert "chain intact up to release 1.0.0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM audit_log WHERE seq >= 3", "audit log: 2 entries, but release 1.0.0 (",
         ),
        ("DELETE FROM audit_log", "audit log: 0 entries, but release 1.0.0 ("),
        ("DROP TABLE audit_log", "audit log: table audit_log is missing from"),
    ],
    ids=["tail deleted", "all rows deleted", "table dropped"],
)  # fmt: skip
def test_deletions_are_caught_by_the_release_anchor(anchored: Warehouse, sql: str, message: str, capsys) -> None:
    with anchored.connect() as con:
        con.execute(sql)
    assert _cli(anchored) == 1
    err = capsys.readouterr().err
    assert message in err and "anchors" in err


def test_a_rewrite_with_fresh_hashes_is_caught(anchored: Warehouse, tmp_path: Path, capsys) -> None:
    entries = audit.read_log(anchored).to_dicts()
    with anchored.connect() as con:
        con.execute("DROP TABLE audit_log")
    for entry in entries:  # a consistent new chain: every hash recomputed, one payload changed
        payload = json.loads(entry["payload"])
        audit.append(anchored, entry["kind"], entry["subject"], {**payload, "n": 0} if payload["n"] == 2 else payload)
    assert audit.verify_chain(anchored) == []  # the chain alone cannot tell
    assert _cli(anchored) == 1
    assert "entry 4: hash differs from the one anchored in release 1.0.0" in capsys.readouterr().err


def test_a_truncated_export_is_caught_by_its_release_anchor(anchored: Warehouse, tmp_path: Path, capsys) -> None:
    exported = tmp_path / "releases" / "1.0.0" / "audit_log.jsonl"
    assert _cli(anchored, "--file", str(exported)) == 0
    lines = exported.read_text().splitlines()
    exported.write_text("\n".join(lines[:-1]) + "\n")
    assert _cli(anchored, "--file", str(exported)) == 1
    assert "audit log: 3 entries, but release 1.0.0" in capsys.readouterr().err


def test_a_broken_export_is_a_clear_error(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "audit_log.jsonl"
    broken.write_text('{"seq": 1}\nnot json\n')
    assert main(["audit", "verify", "--file", str(broken)]) == 2
    assert f"{broken}: line 1 is not an audit entry" in capsys.readouterr().err
