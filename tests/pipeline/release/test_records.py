"""Releases in DuckDB: list shows them, diff shows what changed between two."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.release.build import ReleaseOptions, build_release
from pipeline.release.records import record_release
from pipeline.warehouse import Warehouse
from tests.pipeline.release.conftest import candidate


def test_list_and_diff_two_releases(tmp_path: Path, colon_rows, capsys: pytest.CaptureFixture[str]) -> None:
    store = Warehouse(tmp_path / "w.duckdb")
    for version, mia in (("1.0.0", 0.50), ("1.1.0", 0.55)):
        path = build_release(tmp_path / "releases", [candidate(colon_rows, "good", mia=mia)], ReleaseOptions(version))
        record_release(store, path)
    assert main(["list", "--warehouse", str(store.path)]) == 0
    listing = capsys.readouterr().out
    assert "1.0.0" in listing and "1.1.0" in listing
    assert main(["diff", "1.0.0", "1.1.0", "--warehouse", str(store.path)]) == 0
    diff = capsys.readouterr().out
    assert "mia_auc" in diff and "0.05" in diff and "column_shapes" not in diff
    assert store.query("SELECT count(*) AS n FROM release_files WHERE version = '1.1.0'")["n"][0] > 5
    assert main(["diff", "1.0.0", "2.0.0", "--warehouse", str(store.path)]) == 2
    assert "release 2.0.0 is not recorded" in capsys.readouterr().err
