"""A release with journeys: the recommender evaluation fits the outcome simulator on the release's training
journeys and judges the test recommendations' regret; without journeys the finding is not applicable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from pipeline.recommenders.stage import evaluate_recommender_release
from pipeline.release.build import ReleaseOptions, build_release
from tests.pipeline.journeys.conftest import SplitStudy, split_study
from tests.pipeline.release.conftest import candidate


def _release(tmp_path: Path, study: SplitStudy, with_lines: bool) -> Path:
    patients = pl.concat([study.train, study.holdout, study.unseen], how="diagonal_relaxed")  # stands in for synthetic
    released = dataclasses.replace(candidate(patients, "ov"), lines=study.lines if with_lines else None)
    options = ReleaseOptions("1.0.0", validation_config_version="1.0.0", created_at="2026-01-01T00:00:00+00:00")
    return build_release(tmp_path / ("with" if with_lines else "without"), [released], options)


@pytest.fixture
def ov(shared_study) -> SplitStudy:
    return split_study(shared_study("tcga_biotab_ov"))


def test_regret_is_judged_on_a_release_with_journeys_and_absent_without(ov: SplitStudy, tmp_path: Path) -> None:
    release = _release(tmp_path, ov, with_lines=True)
    assert (release / "cohorts" / "ov" / "lines_train.parquet").is_file()
    block = evaluate_recommender_release(release, "reference:guideline").result["cohorts"]["ov"]
    regret = block["regret"]
    assert regret["training_lines"] > 200
    # OV's lines are mostly chemotherapy: each cross-fitted half may know one class only, and says so
    assert len(regret.get("simulated_classes", [])) >= 2 or regret["reason"].startswith("no outcome simulator")
    finding = next(f for f in block["findings"] if f["id"] == "inverse_simulation_regret")
    if regret["value"] is None:  # TCGA OV records no biomarker the therapy table indicates on: nothing actionable
        assert regret["n"] == 0 and finding["verdict"] == "not applicable"
    else:
        assert finding["verdict"] in {"pass", "fail", "inconclusive"} and regret["n"] > 0

    plain = evaluate_recommender_release(_release(tmp_path, ov, with_lines=False), "reference:guideline")
    block = plain.result["cohorts"]["ov"]
    assert "regret" not in block
    finding = next(f for f in block["findings"] if f["id"] == "inverse_simulation_regret")
    assert finding["verdict"] == "not applicable" and finding["passed"]  # its check passes, saying so
