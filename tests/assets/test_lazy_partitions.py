"""Assets that read every partition of an upstream asset read only the partitions they use."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.resources import LazyPartitions


def test_only_the_partitions_used_are_read(tmp_path: Path) -> None:
    files = {"colon|flow": tmp_path / "colon__flow.pkl", "colon|copula": tmp_path / "colon__copula.pkl"}
    read: list[Path] = []
    models = LazyPartitions(files, lambda path: read.append(path) or path.name)
    assert sorted(models) == ["colon|copula", "colon|flow"] and len(models) == 2 and read == []
    assert models["colon|flow"] == "colon__flow.pkl" and models.get("colon|flow") == "colon__flow.pkl"
    assert read == [files["colon|flow"]]  # once, and never the copula
    assert models.get("colon|ctgan") is None
    with pytest.raises(KeyError):
        models["colon|ctgan"]
