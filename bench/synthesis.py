"""Synthesizers side by side on the default cohorts: fit time, peak memory, sampling rate, quality.

Quality: sdmetrics QualityReport (column shapes, column pair trends; no thresholds) and a
classifier two-sample test (C2ST: cross-validated ROC AUC of a gradient-boosted classifier
telling real from synthetic rows; 0.5 is indistinguishable). Each fit runs in a fresh
process so that its peak resident memory is its own.

    python bench/synthesis.py [--cohorts colon rott2] [--ctgan-epochs 50] [--sample-rows 200000]

Writes bench/results/<name>.csv and bench/results/<name>.md (default name: synthesis).
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"


def _quality(real: pl.DataFrame, synthetic: pl.DataFrame) -> dict[str, float]:
    from sdmetrics.reports.single_table import QualityReport
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_score

    columns = [c for c in real.columns if c not in ("patient_id", "cohort") and real[c].null_count() < real.height]
    categorical = [c for c in columns if not real.schema[c].is_numeric() or real[c].n_unique() <= 15]
    to_pandas = {
        name: frame.select(columns)
        .with_columns(pl.col(c).cast(pl.String) for c in categorical)
        .with_columns(pl.col(c).cast(pl.Float64) for c in columns if c not in categorical)
        .to_pandas()
        for name, frame in (("real", real), ("synthetic", synthetic))
    }
    metadata = {"columns": {c: {"sdtype": "categorical" if c in categorical else "numerical"} for c in columns}}
    report = QualityReport()
    report.generate(to_pandas["real"], to_pandas["synthetic"], metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]

    both = pd.concat([to_pandas["real"], to_pandas["synthetic"]], ignore_index=True)
    for c in categorical:
        both[c] = both[c].astype("category")
    labels = np.r_[np.zeros(real.height), np.ones(synthetic.height)]
    classifier = HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype", random_state=0)
    auc = cross_val_score(classifier, both, labels, cv=5, scoring="roc_auc").mean()
    return {
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
        "c2st_auc": float(auc),
    }


def _run_one(args: tuple[str, str, str, dict, int]) -> dict[str, object]:
    cohort, synthesizer, profile, overrides, sample_rows = args
    from pipeline.cohorts.identifiers import id_salt
    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry
    from pipeline.synthesis.catalog import make_synthesizer

    entry = load_registry().get(cohort)
    real = harmonize_entry(read_raw(entry), entry, salt=id_salt())
    model = make_synthesizer(synthesizer, profile=profile, **overrides)
    model.fit(real, seed=0)
    started = time.perf_counter()
    model.sample(sample_rows, seed=1)
    sample_seconds = time.perf_counter() - started
    quality = _quality(real, model.sample(real.height, seed=2))
    return {
        "cohort": cohort,
        "synthesizer": synthesizer,
        "rows": real.height,
        "modelled_columns": model.report.n_columns,
        "params": ", ".join(f"{k}={v}" for k, v in sorted(model.params.items()) if v is not None),
        "fit_seconds": round(model.report.fit_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "sample_rows_per_minute": round(sample_rows / sample_seconds * 60),
        **{k: round(v, 4) for k, v in quality.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", nargs="+", default=["colon", "rott2", "support2_cancer", "prostate_seer"])
    parser.add_argument("--synthesizers", nargs="+", default=["flow", "ctgan", "copula"])
    parser.add_argument("--ctgan-epochs", type=int, default=300)
    parser.add_argument("--sample-rows", type=int, default=200_000)
    parser.add_argument("--name", default="synthesis", help="result file stem under bench/results/")
    args = parser.parse_args()
    jobs = [
        (cohort, name, "full", {"epochs": args.ctgan_epochs} if name == "ctgan" else {}, args.sample_rows)
        for cohort in args.cohorts
        for name in args.synthesizers
    ]
    rows = []
    context = multiprocessing.get_context("spawn")
    for job in jobs:
        with context.Pool(1) as pool:  # a fresh process per fit: clean peak-memory reading
            row = pool.apply(_run_one, (job,))
        print(row, flush=True)
        rows.append(row)
    table = pl.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.write_csv(RESULTS / f"{args.name}.csv")
    header = (
        f"# Synthesis benchmark\n\nMachine: {platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}. Profile `full`; CTGAN epochs {args.ctgan_epochs}; sampling rate "
        f"measured on {args.sample_rows:,} rows. Quality compares a sample the size of the real cohort with the "
        "real cohort (sdmetrics QualityReport scores, thresholds off; C2ST AUC, 0.5 is ideal).\n\n"
    )
    (RESULTS / f"{args.name}.md").write_text(header + table.to_pandas().to_markdown(index=False) + "\n")
    print(f"wrote {RESULTS / args.name}.md")


if __name__ == "__main__":
    main()
