"""A new synthesizer is one file plus its registration: a toy engine from another package (declared under
the ``oncobench.synthesizers`` entry point) runs through the CLI and the Dagster assets with no other change."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from pipeline.synthesis.base import Synthesizer
from pipeline.synthesis.catalog import register
from pipeline.synthesis.errors import SynthesisError
from tests.conftest import PROJECT_ROOT

TOY_ENGINE = '''
"""A toy engine: every column drawn independently from its training values (for tests only)."""
import numpy as np
import polars as pl

from pipeline.synthesis.base import Synthesizer


class ToyEngine(Synthesizer):
    name = "toy"
    profiles = {"fast": {}, "full": {}}

    def _fit(self, frame, *, seed, progress):
        self._columns = {c: frame.get_column(c) for c in frame.columns}
        return []

    def _sample(self, n, *, conditions, seed):
        rng = np.random.default_rng(seed)
        return pl.DataFrame([v.gather(rng.integers(0, v.len(), n)) for v in self._columns.values()])
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An installed-looking package with the toy engine and its entry point; the environment to use it."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "toy_oncobench_engine.py").write_text(textwrap.dedent(TOY_ENGINE))
    info = root / "toy_oncobench_engine-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-oncobench-engine\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[oncobench.synthesizers]\ntoy = toy_oncobench_engine:ToyEngine\n")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{PROJECT_ROOT}", "ONCOBENCH_THREADS": "1",
            "ONCOBENCH_ENERGY": "off", "ONCOBENCH_ID_SALT": "t"}  # fmt: skip


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_toy_engine_runs_through_the_cli(plugin: dict[str, str], tmp_path: Path) -> None:
    ingest = _run(["-m", "pipeline.cli", "ingest", "colon", "--out", "colon.parquet"], plugin, tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    done = _run(["-m", "pipeline.cli", "synthesize", "colon.parquet", "--synthesizer", "toy", "--rows", "80",
                 "--save-model", "toy.model", "--out", "toy.parquet"], plugin, tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    synthetic = pl.read_parquet(tmp_path / "toy.parquet")
    assert synthetic.height == 80 and synthetic.columns == pl.read_parquet(tmp_path / "colon.parquet").columns
    from pipeline.synthesis.storage import read_header

    header = read_header(tmp_path / "toy.model")
    assert header["synthesizer"] == "toy" and header["encoding"] == "signed-pickle"


ASSET_RUN = """
import dagster as dg
from assets.definitions import build_definitions
from assets.ingestion import cohort_split, harmonized_cohort, raw_cohort
from assets.partitions import model_partitions
from assets.synthesis import synthesizer_model, synthetic_cohort

resources = build_definitions().resources
assert dg.materialize([raw_cohort, harmonized_cohort, cohort_split], partition_key="colon", resources=resources).success
key = dg.MultiPartitionKey({"cohort": "colon", "synthesizer": "toy"})
config = {"profile": "fast", "seed": 1, "rows": 120}
result = dg.materialize([*cohort_split.to_source_assets(), synthesizer_model, synthetic_cohort], partition_key=key,
                        resources=resources, run_config={"ops": {"synthesizer_model": {"config": config},
                                                                 "synthetic_cohort": {"config": config}}})
print(sorted(model_partitions.get_partition_keys()), result.success)
"""


def test_the_toy_engine_is_a_partition_and_runs_through_the_assets(plugin: dict[str, str], tmp_path: Path) -> None:
    env = {**plugin, "ONCOBENCH_SYNTHESIZERS": "toy", "ONCOBENCH_DATA_DIR": str(tmp_path / "data")}
    done = _run(["-c", ASSET_RUN], env, PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].endswith("True")
    assert "'colon|toy'" in done.stdout
    synthetic = pl.read_parquet(tmp_path / "data" / "assets" / "synthetic_cohort" / "colon__toy.parquet")
    assert synthetic.height == 120
    assert (tmp_path / "data" / "models" / "synthesizer_model" / "colon__toy.pkl").is_file()


def test_registration_checks_what_an_engine_declares() -> None:
    class Nameless(Synthesizer):
        name = "Not An Identifier"

    class NoProfiles(Synthesizer):
        name = "no_profiles"
        profiles = {"full": {}}  # noqa: RUF012

    class BadStorage(Synthesizer):
        name = "bad_storage"
        storage = "pickle"

    with pytest.raises(SynthesisError, match="lower-case identifier"):
        register(Nameless)
    with pytest.raises(SynthesisError, match="no parameter profile"):
        register(NoProfiles)
    with pytest.raises(SynthesisError, match="storage must be one of"):
        register(BadStorage)
