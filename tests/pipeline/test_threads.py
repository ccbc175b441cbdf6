"""Thread budgets: a process never starts more compute threads than its share of the cores."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.cli import main
from pipeline.errors import OncoBenchError
from pipeline.threads import available_cores, configured_threads, thread_budget
from tests.conftest import PROJECT_ROOT


def test_budget_divides_the_cores_between_concurrent_processes() -> None:
    assert thread_budget(1, cores=8) == 8
    assert thread_budget(4, cores=8) == 2
    assert thread_budget(3, cores=2) == 1  # never zero


def test_explicit_and_environment_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCOBENCH_THREADS", "3")
    assert configured_threads() == 3
    assert configured_threads(5) == 5
    monkeypatch.setenv("ONCOBENCH_THREADS", "many")
    with pytest.raises(OncoBenchError, match="positive whole number, got 'many'"):
        configured_threads()


def test_cli_refuses_a_bad_thread_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--threads", "0", "cohorts"]) == 2
    assert "positive whole number" in capsys.readouterr().err


def _threads_in_subprocess(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "ONCOBENCH_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env={**clean, **env}, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_dagster_run_process_takes_its_share_of_the_cores() -> None:
    """Every run process imports the definitions; with 2 runs at once each gets half the cores."""
    code = (
        "import assets.definitions, torch, os\n"
        "from threadpoolctl import threadpool_info\n"
        "blas = {p['num_threads'] for p in threadpool_info()}\n"
        "print(torch.get_num_threads(), os.environ['OMP_NUM_THREADS'], max(blas) if blas else 0)\n"
    )
    expected = thread_budget(2)
    torch_threads, omp, blas = _threads_in_subprocess(code, ONCOBENCH_CONCURRENT_RUNS="2").split()
    assert int(torch_threads) == int(omp) == expected
    assert int(blas) <= expected


def test_the_cli_uses_every_core_unless_told() -> None:
    code = "from pipeline.threads import configured_threads, limit_threads\nprint(limit_threads(configured_threads()))"
    assert _threads_in_subprocess(code) == str(available_cores())
    assert _threads_in_subprocess(code, ONCOBENCH_THREADS="1") == "1"
