"""A real release in a temporary folder: support2_cancer (race, sex, income, education; twins in both modes)
and colon (treatment arms), with rare-cell and upsampled rows, written by the release builder."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.evaluation.config import DEFAULT_EVALUATION_CONFIG, EvaluationConfig, load_evaluation_config
from pipeline.evaluation.stage import Evaluation, evaluate_release
from pipeline.release.build import CohortCandidate, ReleaseOptions, build_release
from pipeline.release.tasks import LEGACY_RULES
from pipeline.rules import load_rules
from pipeline.stress.suite import StressSettings, build_stress_suite
from pipeline.stress.tags import EDGE_CASE, UPSAMPLE, tagged
from tests.pipeline.release.conftest import metrics_for

SIZES = {"support2_cancer": 900, "colon": 600}
BASE_ROWS = 120


def _stress(rows: pl.DataFrame, cohort: str) -> pl.DataFrame:
    entry = load_registry().get(cohort)
    protected = list(entry.protected)
    suite = build_stress_suite(
        rows, None, protected=protected, descendants={a: entry.descendants(a) for a in protected},
        rules=load_rules(), settings=StressSettings(kinds=("twins",)), base=rows.head(BASE_ROWS),
    )  # fmt: skip
    attribute = protected[0]
    levels = rows[attribute].drop_nulls().unique().sort().to_list()
    cells = [
        tagged(rows.tail(200).filter(pl.col(attribute) == levels[-1]), stress_type=UPSAMPLE,
               stress_cell=f"{attribute}={levels[-1]}"),
        tagged(rows.tail(60).head(25), stress_type=EDGE_CASE, stress_cell="cancer_stage_group=IV & rare"),
    ]  # fmt: skip
    return pl.concat([suite.frame, *(c.select(suite.frame.columns) for c in cells)], how="vertical")


def passing_metrics(cohort: str) -> pl.DataFrame:
    """Validation metrics whose gates all passed (the release builder ships only such cohorts)."""
    passed = pl.when(pl.col("gate")).then(True).otherwise(pl.col("passed"))
    return metrics_for(cohort).with_columns(passed.alias("passed"))


def build_test_release(root: Path, version: str = "0.9.0") -> Path:
    """Write release ``version`` under ``root`` from real harmonized rows (standing in for synthetic ones)."""
    candidates = []
    for cohort, size in SIZES.items():
        entry = load_registry().get(cohort)
        rows = harmonize_entry(read_raw(entry), entry, salt="t").head(size)
        candidates.append(
            CohortCandidate(
                cohort=cohort, synthesizer="flow", synthetic=rows, stress_suite=_stress(rows, cohort),
                metrics=passing_metrics(cohort), input_fingerprint="f" * 64, parameters={}, seeds={"training": 0},
            )
        )  # fmt: skip
    # a few hundred rows hold too few events for the release's task rules: declare the tasks releases
    # declared before events were counted (mortality_12m, overall_survival, treatment)
    options = ReleaseOptions(version, created_at="2026-01-01T00:00:00+00:00", tasks=LEGACY_RULES)
    return build_release(root, candidates, options)


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Release 0.9.0, built once per test session; tests must not change it (copy it first)."""
    return build_test_release(tmp_path_factory.mktemp("releases"))


FAST_SETTINGS = {"bootstrap": 60, "bootstrap_small": 30, "adversarial_patients": 3, "adversarial_budget": 120}


def write_fast_config(path: Path) -> Path:
    """config/evaluation.yaml with fewer resamples and a smaller search budget (same findings)."""
    raw = yaml.safe_load(DEFAULT_EVALUATION_CONFIG.read_text())
    raw["settings"].update(FAST_SETTINGS)
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="session")
def fast_config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fast_config(tmp_path_factory.mktemp("config") / "evaluation.yaml")


@pytest.fixture(scope="session")
def fast_config(fast_config_file: Path) -> EvaluationConfig:
    return load_evaluation_config(fast_config_file)


@pytest.fixture(scope="session")
def evaluations(release_dir: Path, fast_config: EvaluationConfig) -> dict[tuple[str, str], Evaluation]:
    """Both reference models on mortality_12m (every cohort), biased on overall_survival, fair on treatment."""
    runs = [("reference:fair", "mortality_12m"), ("reference:biased", "mortality_12m"),
            ("reference:biased", "overall_survival"), ("reference:fair", "treatment")]  # fmt: skip
    return {(m, t): evaluate_release(release_dir, m, t, config=fast_config) for m, t in runs}
