"""MOSTLY AI's TabularARGN from the benches: frames written as Parquet, ``bench/argn_child.py`` run in the
TabularARGN environment (``.venv-argn``, made by ``make bench-setup``), the draws read back."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

PROJECT = Path(__file__).resolve().parents[1]
ARGN_PYTHON = PROJECT / ".venv-argn" / "bin" / "python"
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def run_argn(spec: dict[str, Any], frames: dict[str, pd.DataFrame], python: Path = ARGN_PYTHON,
             timeout: float | None = None) -> tuple[pl.DataFrame, dict[str, float]]:  # fmt: skip
    """``bench/argn_child.py`` on ``spec`` with ``frames`` (``train``, and for sequences ``context`` and
    ``sample_context``) written beside it: the drawn frame and the child's seconds and peak memory."""
    with tempfile.TemporaryDirectory(prefix="argn-") as folder:
        where = Path(folder)
        for name, frame in frames.items():  # categories as plain values: the engine's analysis rejects them
            categories = frame.select_dtypes("category").columns
            frame.astype({c: object for c in categories}).to_parquet(where / f"{name}.parquet")
            spec = {**spec, name: str(where / f"{name}.parquet")}
        spec = {**spec, "out": str(where / "out.parquet")}
        (where / "spec.json").write_text(json.dumps(spec))
        environment = {**os.environ, **dict.fromkeys(THREADS, "1")}  # one thread, as every engine in the benches
        command = [str(python), str(PROJECT / "bench" / "argn_child.py"), str(where / "spec.json")]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout, env=environment)
        if done.returncode:
            raise RuntimeError(f"TabularARGN failed: {done.stderr.strip()[-2000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        return pl.read_parquet(where / "out.parquet"), figures


def as_schema(drawn: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Drawn columns cast back to the training frame's dtypes (a label outside a category set: null)."""
    columns = []
    for name, dtype in schema.items():
        if name not in drawn.columns:
            columns.append(pl.lit(None, dtype).alias(name))
        elif isinstance(dtype, (pl.Enum, pl.Categorical)):
            columns.append(pl.col(name).cast(pl.String).cast(dtype, strict=False))
        else:
            columns.append(pl.col(name).cast(dtype, strict=False))
    return drawn.select(columns)
