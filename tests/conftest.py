"""Shared fixtures: the real cBioPortal study beside the project, small frames, temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_COHORTS = PROJECT_ROOT.parent / "shared" / "cohorts"
CRC_STUDY = SHARED_COHORTS / "crc_msk_2017"

requires_shared_cohorts = pytest.mark.skipif(
    not CRC_STUDY.exists(),
    reason=f"real cBioPortal study not found at {CRC_STUDY} (../shared/cohorts is beside the repo in CI)",
)


@pytest.fixture(autouse=True)
def _private_salt_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never create the real ~/.config/oncobench/salt: the private salt lives in a temp dir."""
    if "ONCOBENCH_SALT_FILE" not in os.environ:
        monkeypatch.setenv("ONCOBENCH_SALT_FILE", str(tmp_path_factory.getbasetemp() / "oncobench-salt"))


@pytest.fixture
def shared_study():
    """A real study folder of ../shared/cohorts by name, or a skip that says where it was looked for."""

    def find(name: str) -> Path:
        folder = SHARED_COHORTS / name
        if not folder.exists():
            pytest.skip(f"real study {name} not found at {folder} (../shared/cohorts is beside the repo in CI)")
        return folder

    return find


@pytest.fixture
def crc_study() -> Path:
    if not CRC_STUDY.exists():
        pytest.skip(f"real cBioPortal study not found at {CRC_STUDY}")
    return CRC_STUDY


def schema_named_frame(n: int = 40) -> pl.DataFrame:
    """A small source frame whose columns already carry schema names."""
    return pl.DataFrame(
        {
            "patient_id": [f"SRC-{i:04d}" for i in range(n)],
            "age_at_diagnosis": [40.0 + (i % 40) for i in range(n)],
            "sex": ["Female" if i % 2 else "Male" for i in range(n)],
            "race": [["White", "Black", "Asian"][i % 3] for i in range(n)],
            "cancer_stage_group": [["I", "II", "III", "IV"][i % 4] for i in range(n)],
            "survival_months": [float(i % 60) + 0.5 for i in range(n)],
            "vital_status_event": [i % 3 == 0 for i in range(n)],
            "ldh": [100.0 + (i * 17) % 23 for i in range(n)],  # unrelated to survival
        }
    ).with_columns(pl.col("vital_status_event").cast(pl.Int64))


@pytest.fixture
def small_table(tmp_path: Path) -> Path:
    path = tmp_path / "small_cohort.csv"
    schema_named_frame().write_csv(path)
    return path
