"""The evaluation's attributions against the ``shap`` package's PermutationExplainer, on a real cohort.

``pipeline/evaluation/explain.py`` estimates permutation Shapley values itself (shap >= 0.50 needs
numpy >= 2; 0.49 compiles numba kernels on first use). This measures what that costs in agreement
and what it saves in time: the same model (gradient boosting on support2_cancer's numeric columns,
death within 12 months), the same explained rows and background, both estimators.

    make bench-setup   # installs shap==0.49.1 (bench only)
    python bench/explanations.py [--rows 100] [--background 50]

Writes bench/results/explanations.{csv,md}: seconds, the correlation of the per-row attributions,
the overlap of the top-8 features by mean |attribution|.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"
TOP = 8


def _cohort(rows: int, background: int, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry
    from pipeline.release.tasks import BINARY, Task, mortality_labels

    entry = load_registry().get("support2_cancer")
    frame = harmonize_entry(read_raw(entry), entry, salt="bench")
    known, died = mortality_labels(frame, 12.0)
    frame = frame.filter(pl.Series(known))
    labels = died[known]
    numeric = [
        c for c, t in frame.schema.items() if t.is_numeric() and c not in ("survival_months", "vital_status_event")
    ]
    x = frame.select(numeric).fill_null(strategy="mean").fill_null(0.0)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=seed).fit(x.to_numpy(), labels)
    rng = np.random.default_rng(seed)
    order = rng.permutation(x.height)
    task = Task("mortality_12m", BINARY, "death within 12 months", 12.0, threshold=0.5)
    return model, task, x[order[:rows]], x[order[rows : rows + background]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--background", type=int, default=50)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import shap

    from pipeline.evaluation.explain import attributions

    model, task, rows, background = _cohort(args.rows, args.background, args.seed)

    def score(frame: pl.DataFrame) -> np.ndarray:
        return model.predict_proba(frame.select(rows.columns).to_numpy())[:, 1]

    started = time.perf_counter()
    ours, _ = attributions(score, task, rows, background, draws=args.draws, seed=args.seed)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    explainer = shap.PermutationExplainer(lambda a: model.predict_proba(a)[:, 1], background.to_numpy(), seed=args.seed)
    theirs = explainer(rows.to_numpy(), silent=True).values
    shap_seconds = time.perf_counter() - started
    mine = ours.values[:, [ours.features.index(c) for c in rows.columns]]
    correlation = float(np.corrcoef(mine.ravel(), theirs.ravel())[0, 1])
    top = [set(np.array(rows.columns)[np.argsort(-np.abs(v).mean(axis=0))[:TOP]]) for v in (mine, theirs)]
    result = pl.DataFrame([{
        "rows": args.rows, "background": args.background, "features": len(rows.columns),
        "oncobench_seconds": round(ours_seconds, 2), "shap_seconds": round(shap_seconds, 2),
        "shap_version": shap.__version__, "correlation": round(correlation, 4),
        f"top{TOP}_overlap": len(top[0] & top[1]),
    }])  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    result.write_csv(RESULTS / "explanations.csv")
    text = (
        "# Attributions: OncoBench's permutation estimator against shap.PermutationExplainer "
        "(`python bench/explanations.py`)\n\n"
        f"support2_cancer, gradient boosting on {len(rows.columns)} numeric columns, death within 12 months; "
        f"{args.rows} explained rows, {args.background} background rows; {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}). shap's time includes its first-use compilation, "
        "which every new process pays.\n\n"
        f"{result.to_pandas().to_markdown(index=False)}\n"
    )
    (RESULTS / "explanations.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
