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
    "synthetic_cohort": {"synthesizer_model", "training_cohort"},  # its row count plans the tasks' power
    "validation_metrics": {"training_cohort", "holdout_cohort", "synthetic_cohort"},
    "stress_suite": {"training_cohort", "synthesizer_model"},
    "benchmark_release": {
        "harmonized_cohort",
        "synthesizer_model",
        "synthetic_cohort",
        "validation_metrics",
        "stress_suite",
        "synthetic_journeys",
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


def _environment_reads(path: Path) -> list[str]:
    """Where ``path`` reads the environment: ``os.environ``, ``os.getenv``, ``environ`` imported from os."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb", "getenvb"}:
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
        names = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) and node.module == "os" else set()
        if names & {"environ", "getenv", "environb", "getenvb"}:
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    """One settings boundary: `pipeline/settings.py` reads environment variables; nothing else does."""
    sources = [path for folder in ("pipeline", "assets", "runner") for path in (PROJECT_ROOT / folder).rglob("*.py")]
    offenders = [
        where for path in sources if path.name != "settings.py" or path.parent.name != "pipeline"
        for where in _environment_reads(path)
    ]  # fmt: skip
    assert offenders == []


def test_settings_follow_the_environment_and_overrides_win(tmp_path: Path) -> None:
    from pipeline.settings import Settings

    environ = {"ONCOBENCH_DATA_DIR": str(tmp_path / "d"), "ONCOBENCH_EVALUATION": str(tmp_path / "e.yaml"),
               "ONCOBENCH_ENERGY": "off", "ONCOBENCH_CELERY_BROKER": "redis://x",
               "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    settings = Settings.from_environment(environ, evaluation=tmp_path / "f.yaml")
    assert settings.warehouse == tmp_path / "d" / "warehouse.duckdb" and settings.evaluation == tmp_path / "f.yaml"
    assert not settings.energy and settings.executor_settings == {"ONCOBENCH_CELERY_BROKER": "redis://x"}
    assert settings.salt_path == tmp_path / "oncobench" / "salt"
    assert settings.model_key_path.parent == tmp_path / "oncobench" / "keys"
    with pytest.raises(TypeError, match="unknown settings"):
        Settings.from_environment(environ, evaluaton=tmp_path)


def _pipeline_imports() -> dict[str, set[str]]:
    """Module -> the pipeline modules it imports (anywhere in the file, function-level imports too)."""
    import ast

    modules = {}
    for path in (PROJECT_ROOT / "pipeline").rglob("*.py"):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            imported |= {c for c in candidates if c in modules and c != name}
        graph[name] = {m for m in imported if not name.startswith(m + ".") and m != "pipeline"}
    return graph


def test_pipeline_modules_import_each_other_without_circles() -> None:
    import graphlib

    try:
        tuple(graphlib.TopologicalSorter(_pipeline_imports()).static_order())
    except graphlib.CycleError as cycle:
        pytest.fail(f"import circle: {' -> '.join(cycle.args[1])}")


def test_no_pipeline_module_exceeds_400_lines() -> None:
    long = {
        str(path.relative_to(PROJECT_ROOT)): n
        for path in (PROJECT_ROOT / "pipeline").rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
