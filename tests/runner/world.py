"""A one-cohort world for tests that run the main job end to end (`python -m runner.demo`): colon alone,
the flow synthesizer, lighter privacy attacks, the fair reference model, its own instance, data and
models, one thread per process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from pipeline.settings import ROOT
from pipeline.validation.gates import ANONYMETER_METRICS, DEFAULT_CONFIG

COHORT = "colon"


def one_cohort_world(tmp: Path) -> dict[str, str]:
    """Environment of a demo on colon alone (lighter privacy attacks), its own instance, data and models."""
    home = tmp / "home"
    home.mkdir()
    shutil.copyfile(ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    registry = yaml.safe_load((ROOT / "config" / "cohorts.yaml").read_text())
    registry["cohorts"] = {COHORT: registry["cohorts"][COHORT]}
    (tmp / "cohorts.yaml").write_text(yaml.safe_dump(registry))
    validation = yaml.safe_load(DEFAULT_CONFIG.read_text())
    validation["settings"].update(anonymeter_attacks=0, noise_floor=False)  # faster; the kill is what is tested
    validation["gates"] = [g for g in validation["gates"] if g["metric"] not in ANONYMETER_METRICS]
    (tmp / "validation.yaml").write_text(yaml.safe_dump(validation))
    models = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    models = {"models": {"reference_fair": models["models"]["reference_fair"]}}
    (tmp / "models.yaml").write_text(yaml.safe_dump(models))
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ONCOBENCH_DATA_DIR": str(tmp / "data"),
        "ONCOBENCH_REGISTRY": str(tmp / "cohorts.yaml"),
        "ONCOBENCH_VALIDATION": str(tmp / "validation.yaml"),
        "ONCOBENCH_MODELS": str(tmp / "models.yaml"),
        "ONCOBENCH_REPO": str(tmp),  # not a DVC repository: the release is written, not tracked
        "ONCOBENCH_SYNTHESIZERS": "flow",
        "ONCOBENCH_CONCURRENT_RUNS": "1",
        "ONCOBENCH_THREADS": "1",
        "GX_ANALYTICS_ENABLED": "False",
    }
