"""Loading the definitions (as the code server, the daemon and every run do) prints no Dagster warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_definitions_raises_no_beta_or_preview_warning() -> None:
    errors = ["-W", "error::dagster_shared.utils.warnings.BetaWarning"]
    errors += ["-W", "error::dagster_shared.utils.warnings.PreviewWarning"]
    result = subprocess.run(
        [sys.executable, *errors, "-c", "import assets.definitions"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]
