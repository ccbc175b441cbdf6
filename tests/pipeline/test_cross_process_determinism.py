"""The same inputs and seeds give the same bytes in another process. Polars seeds its hash tables per
process, so an unordered ``group_by`` or ``value_counts`` that feeds an output (the order of twin rows,
of Kaplan-Meier subgroups and their resampling, of category frequencies summed into a metric) shows
up only across processes, as it did between a Celery worker and an in-process run (rott2, whose
protected attribute is the banded age)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from pipeline.settings import ROOT

CLI = [sys.executable, "-m", "pipeline.cli"]


def _run(*arguments: str) -> None:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "ONCOBENCH_THREADS": "1"}
    done = subprocess.run([*CLI, *arguments], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # validate exits 1 when a gate fails: a verdict


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_stress_and_validation_give_the_same_bytes_in_separate_processes(tmp_path: Path) -> None:
    _run("ingest", "rott2", "--out", str(tmp_path / "rott2.parquet"))
    _run("split", str(tmp_path / "rott2.parquet"), "--out-dir", str(tmp_path))
    train, holdout = tmp_path / "train.parquet", tmp_path / "holdout.parquet"
    _run("synthesize", str(train), "--synthesizer", "flow", "--profile", "fast", "--seed", "0",
         "--save-model", str(tmp_path / "flow.model"), "--out", str(tmp_path / "synthetic.parquet"))  # fmt: skip
    for attempt in ("a", "b"):
        _run("stress", str(tmp_path / "synthetic.parquet"), "--kind", "twins", "--attribute", "age_at_diagnosis",
             "--out", str(tmp_path / f"twins_{attempt}.parquet"))  # fmt: skip
        _run("validate", str(train), str(tmp_path / "synthetic.parquet"), "--holdout", str(holdout),
             "--out", str(tmp_path / f"metrics_{attempt}.parquet"))  # fmt: skip
    assert _digest(tmp_path / "twins_a.parquet") == _digest(tmp_path / "twins_b.parquet")
    first, second = (pl.read_parquet(tmp_path / f"metrics_{a}.parquet").drop("run_id", strict=False) for a in "ab")
    assert first.height > 100
    assert first.equals(second), first.join(second, on=["family", "metric", "target"], how="full").head()
