"""Release inputs: two small cohorts whose metrics pass (or fail) the default gates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.release.build import CohortCandidate
from pipeline.stress.tags import EDGE_CASE, tagged
from pipeline.validation.gates import load_validation_config
from pipeline.validation.metrics import Metric
from pipeline.validation.suite import metric_table

CONFIG = load_validation_config()


def metrics_for(cohort: str, *, mia: float = 0.5) -> pl.DataFrame:
    values = [
        Metric("fidelity", "column_shapes", 0.95),
        Metric("fidelity", "c2st_auc", 0.6),
        Metric("privacy", "unique_record_copies", 0.0),
        Metric("privacy", "dcr_share", 0.52),
        Metric("privacy", "mia_auc", mia),
        Metric("fairness", "representation_ratio", 0.9, "sex=Female"),
    ]
    named = {(m.family, m.metric) for m in values}
    values += [  # a comfortably passing value for every other gate of the config
        Metric(g.family, g.metric, g.threshold / 2 if g.bound == "max" else (1 + g.threshold) / 2)
        for g in CONFIG.gates_for(cohort)
        if (g.family, g.metric) not in named
    ]
    return metric_table(values, CONFIG, cohort=cohort, synthesizer="flow", run_id="r", rows=500)


@pytest.fixture(scope="session")
def colon_rows() -> pl.DataFrame:
    entry = load_registry().get("colon")
    return harmonize_entry(read_raw(entry), entry, salt="t").head(200)


def candidate(rows: pl.DataFrame, cohort: str, *, mia: float = 0.5, stress: bool = True) -> CohortCandidate:
    return CohortCandidate(
        cohort=cohort,
        synthesizer="flow",
        synthetic=rows.with_columns(pl.lit(cohort).alias("cohort")),
        stress_suite=tagged(rows.head(20), stress_type=EDGE_CASE, stress_cell="sex=Female") if stress else None,
        metrics=metrics_for(cohort, mia=mia),
        input_fingerprint="f" * 64,
        parameters={"epochs": 4},
        seeds={"training": 0},
    )


def run(*command: str, cwd: Path) -> str:
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


DVC = (sys.executable, "-m", "dvc")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real Git+DVC repository whose default DVC remote is a local directory."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run("git", "init", "-q", "-b", "main", cwd=repo)
    run("git", "config", "user.email", "ci@example.org", cwd=repo)
    run("git", "config", "user.name", "CI", cwd=repo)
    run(*DVC, "init", "-q", cwd=repo)
    run(*DVC, "config", "core.analytics", "false", cwd=repo)
    run(*DVC, "remote", "add", "-d", "local", str(tmp_path / "remote"), cwd=repo)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-q", "-m", "init", cwd=repo)
    return repo
