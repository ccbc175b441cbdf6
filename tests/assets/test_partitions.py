"""Only configured synthesizers are partitions: none stays for ever unbuilt in the UI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets.partitions import model_partitions
from pipeline.synthesis.base import SynthesisError
from pipeline.synthesis.catalog import configured_synthesizers

ROOT = Path(__file__).resolve().parents[2]


def test_flow_and_copula_are_the_default_synthesizer_partitions() -> None:
    assert configured_synthesizers("") == ["copula", "flow"]
    if not os.environ.get("ONCOBENCH_SYNTHESIZERS"):
        assert "colon|flow" in model_partitions.get_partition_keys()
        assert not [k for k in model_partitions.get_partition_keys() if k.endswith("|ctgan")]


def test_ctgan_is_a_partition_when_configured_and_a_typo_is_refused() -> None:
    assert configured_synthesizers("flow, ctgan,copula") == ["copula", "ctgan", "flow"]
    with pytest.raises(SynthesisError, match="gan"):
        configured_synthesizers("flow,gan")


def test_the_environment_sets_the_partitions_of_every_process() -> None:
    code = "from assets.partitions import model_partitions as m; print(sorted(m.get_partition_keys())[0])"
    environment = {**os.environ, "ONCOBENCH_SYNTHESIZERS": "ctgan"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("|ctgan")
