"""The same definitions on one machine, on Kubernetes and on Celery, chosen by ONCOBENCH_EXECUTOR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema
from dagster._serdes.config_class import class_from_code_pointer

from assets.definitions import build_definitions
from assets.executors import STAGE_TAG, TRAINING, executor_for
from pipeline.errors import OncoBenchError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
JOBS = (
    "oncobench_main", "oncobench_synthesis", "oncobench_validation",
    "oncobench_stress", "oncobench_release", "oncobench_evaluation",
)  # fmt: skip
EXECUTOR_NAMES = {"in_process": "in_process", "k8s": "oncobench_k8s", "celery": "oncobench_celery"}


def _needs(module: str) -> None:
    pytest.importorskip(module, reason=f"{module} is not installed: pip install -e '.[cluster]'")


@pytest.mark.parametrize("executor", list(EXECUTOR_NAMES))
def test_every_job_runs_on_the_chosen_executor(executor: str, tmp_path: Path, monkeypatch) -> None:
    if executor != "in_process":
        _needs({"k8s": "dagster_k8s", "celery": "dagster_celery"}[executor])
    monkeypatch.setenv("ONCOBENCH_EXECUTOR", executor)
    monkeypatch.setenv("ONCOBENCH_TRAINING_STEPS", "3")
    defs = build_definitions(str(tmp_path))
    dg.Definitions.validate_loadable(defs)
    for job in JOBS:
        assert defs.resolve_job_def(job).executor_def.name == EXECUTOR_NAMES[executor], job
    assert TRAINING.items() <= defs.resolve_job_def("oncobench_synthesis").tags.items()  # the run queue's limit
    training_step = defs.get_assets_def("synthesizer_model").op.tags
    assert training_step.get(STAGE_TAG) == "training"  # the step executor's limit


def test_the_k8s_executor_limits_training_steps_by_tag() -> None:
    _needs("dagster_k8s")
    applied = executor_for("k8s", {"ONCOBENCH_TRAINING_STEPS": "3", "ONCOBENCH_MAX_STEPS": "10"}).apply_config_mapping(
        {}
    )
    assert applied.success, applied.errors
    assert applied.value["config"]["tag_concurrency_limits"] == [{"key": STAGE_TAG, "value": "training", "limit": 3}]
    assert applied.value["config"]["max_concurrent"] == 10


def test_the_celery_executor_takes_its_broker_from_the_environment() -> None:
    _needs("dagster_celery")
    applied = executor_for("celery", {"ONCOBENCH_CELERY_BROKER": "redis://queue:6379/0"}).apply_config_mapping({})
    assert applied.success and applied.value["config"]["broker"] == "redis://queue:6379/0"


def test_an_unknown_executor_is_refused_by_name() -> None:
    with pytest.raises(OncoBenchError, match="in_process, k8s, celery"):
        executor_for("yarn")


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["k8s", "celery"])
def test_dagster_definitions_validate_passes_on_the_cluster_executors(executor: str, tmp_path: Path) -> None:
    _needs({"k8s": "dagster_k8s", "celery": "dagster_celery"}[executor])
    environment = {"ONCOBENCH_EXECUTOR": executor, "ONCOBENCH_DATA_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, env={**os.environ, **environment}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("instance", ["k8s", "celery"])
def test_the_cluster_instance_files_are_valid_dagster_instance_config(instance: str) -> None:
    _needs("dagster_k8s")
    config = yaml.safe_load((DEPLOY / instance / "dagster.yaml").read_text())
    checked = validate_config(dagster_instance_config_schema(), config)
    assert checked.success, checked.errors
    for section in ("run_launcher", "run_coordinator"):  # each class's own config schema too
        if section in config:
            cls = class_from_code_pointer(config[section]["module"], config[section]["class"])
            own = validate_config(cls.config_type(), config[section]["config"])
            assert own.success, (section, own.errors)
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {"key": STAGE_TAG, "value": "training"}.items() <= limits[0].items()
    assert "postgres" in config["storage"]  # shared by every machine


def test_the_helm_values_limit_training_runs_and_choose_the_k8s_executor() -> None:
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert (
        deployment["name"]
        == yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"][0]["python_module"]["location_name"]
    )
    assert {"name": "ONCOBENCH_EXECUTOR", "value": "k8s"} in deployment["env"]
    # nothing leaves the cluster: telemetry off in the instance and in every process the chart starts
    assert values["telemetry"]["enabled"] is False
    assert {"name": "DAGSTER_DISABLE_TELEMETRY", "value": "1"} in deployment["env"]
    assert "DAGSTER_DISABLE_TELEMETRY=1" in values["runLauncher"]["config"]["k8sRunLauncher"]["envVars"]
    assert values["dagsterWebserver"]["env"]["DAGSTER_DISABLE_TELEMETRY"] == "1"
    assert values["dagsterDaemon"]["env"]["DAGSTER_DISABLE_TELEMETRY"] == "1"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert any(limit["key"] == STAGE_TAG and limit["value"] == "training" for limit in queue["tagConcurrencyLimits"])
