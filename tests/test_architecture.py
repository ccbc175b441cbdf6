"""The shape of the project: `pipeline/` stays free of Dagster, and the asset graph is the real data flow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

# Every asset's upstream assets. An asset reads exactly these (declared inputs, no side doors):
# a change to the data flow has to change this table too.
LINEAGE = {
    "raw_cohort": set(),
    "harmonized_cohort": {"raw_cohort"},
    "cohort_profile": {"harmonized_cohort"},
    "training_cohort": {"harmonized_cohort"},
    "holdout_cohort": {"harmonized_cohort"},
    "synthesizer_model": {"training_cohort"},
    "synthetic_cohort": {"synthesizer_model"},
    "validation_metrics": {"training_cohort", "holdout_cohort", "synthetic_cohort"},
    "stress_suite": {"training_cohort", "synthesizer_model"},
    "benchmark_release": {
        "harmonized_cohort",
        "synthesizer_model",
        "synthetic_cohort",
        "validation_metrics",
        "stress_suite",
    },
}


def test_no_pipeline_module_imports_dagster() -> None:
    """Importing every module of `pipeline/` (CLI included) loads no dagster module."""
    script = (
        "import importlib, pkgutil, sys, pipeline\n"
        "for info in pkgutil.walk_packages(pipeline.__path__, 'pipeline.'):\n"
        "    importlib.import_module(info.name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster'))\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"pipeline/ imports dagster modules: {done.stdout.strip()}"


def test_pipeline_sources_never_mention_dagster_imports() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "pipeline").rglob("*.py")
        if any(
            line.lstrip().startswith(("import dagster", "from dagster"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert offenders == []


@pytest.fixture(scope="module")
def asset_graph(tmp_path_factory: pytest.TempPathFactory):
    from assets.definitions import build_definitions

    return build_definitions(str(tmp_path_factory.mktemp("data"))).resolve_asset_graph()


def test_asset_graph_declares_the_real_data_flow(asset_graph) -> None:
    upstream = {
        key.to_user_string(): {parent.to_user_string() for parent in asset_graph.get(key).parent_keys}
        for key in asset_graph.get_all_asset_keys()
    }
    assert {name: upstream.get(name) for name in LINEAGE} == LINEAGE


def test_release_gates_are_a_check_on_the_metrics_table(asset_graph) -> None:
    checks = {key.to_user_string() for key in asset_graph.asset_check_keys}
    assert "validation_metrics:passes_release_gates" in checks
    assert not any(name.endswith("synthetic_cohort_passes_gates") for name in checks)


def test_assets_read_no_environment_at_import() -> None:
    """Configuration comes from resources built in `build_definitions`, not `os.environ` in asset modules."""
    readers = [
        path.name
        for path in Path(PROJECT_ROOT / "assets").glob("*.py")
        if path.name not in {"definitions.py", "demo.py"}
        and any(word in path.read_text(encoding="utf-8") for word in ("os.environ", "getenv"))
    ]
    assert readers == []
