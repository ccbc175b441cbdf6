"""Run MOSTLY AI's TabularARGN (``mostlyai-engine``) in its own environment: it needs numpy 2 and pandas
3, which this project's anonymeter and SDV forbid, so ``make bench-setup`` installs it in ``.venv-argn``
and the benches call this script there with files, never importing it into the project.

    .venv-argn/bin/python bench/argn_child.py SPEC.json

SPEC: ``{"train": parquet, "out": parquet, "seed": int, "max_epochs": float, "max_minutes": float}`` and
either ``"rows": int`` (a flat table: ``rows`` drawn) or ``"context": parquet, "sample_context": parquet,
"key": column`` (a sequential table ``train`` keyed by ``key`` on the context's primary key: one sequence
drawn per row of ``sample_context``). Prints a JSON line with fit and sample seconds and peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd
from mostlyai.engine import TabularARGN


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    train = pd.read_parquet(spec["train"])
    options = dict(max_epochs=spec.get("max_epochs", 100.0), max_training_time=spec.get("max_minutes", 10.0),
                   random_state=spec["seed"], device="cpu", verbose=0)  # fmt: skip
    sequential = "context" in spec
    if sequential:
        context = pd.read_parquet(spec["context"])
        model = TabularARGN(tgt_context_key=spec["key"], ctx_data=context, ctx_primary_key=spec["key"], **options)
    else:
        model = TabularARGN(**options)
    began = time.perf_counter()
    model.fit(train)
    fitted = time.perf_counter() - began
    began = time.perf_counter()
    if sequential:
        drawn = model.sample(ctx_data=pd.read_parquet(spec["sample_context"]))
    else:
        drawn = model.sample(n_samples=int(spec["rows"]))
    sampled = time.perf_counter() - began
    drawn.to_parquet(spec["out"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"fit_s": fitted, "sample_s": sampled, "peak_mb": peak, "rows": len(drawn)}))


if __name__ == "__main__":
    main(sys.argv[1])
