"""Synthesizers side by side on the default cohorts: fit time, peak memory, sampling rate, quality.

Each cohort is split as the pipeline splits it (30% holdout, seed 0); synthesizers are fitted
on the training part and judged against the holdout, never against the rows they saw.
Quality: sdmetrics QualityReport (column shapes, column pair trends; no thresholds), the
classifier two-sample test of the validation suite (C2ST AUC, 0.5 is indistinguishable),
quasi-identifier replay excess over the holdout's chance rate, and the overall Kaplan-Meier
max gap. Each fit runs in a fresh process so that its peak resident memory is its own.
A cohort may also be a harmonized Parquet file (e.g. from ``oncobench ingest`` of a study in
``../shared/cohorts``).

    python bench/synthesis.py [--cohorts colon rott2 crc.parquet] [--ctgan-epochs 300] [--sample-rows 200000]

ForestFlow (``--synthesizers forestflow``, reference only, see ``bench/forestflow.py``) and MOSTLY AI's
TabularARGN (``--synthesizers tabularargn``, run in its own environment, see ``bench/argn.py``) need the
benchmark's reference packages: ``make bench-setup``. A fit past ``--timeout`` seconds is stopped
and recorded as such; ``--merge`` replaces only the measured rows of an existing table.

The committed results: the four default cohorts and the shared studies with >= 200 patients,
each ingested first (``oncobench ingest ../shared/cohorts/crc_msk_2017 --out crc_msk_2017.parquet``):

    python bench/synthesis.py --synthesizers flow ctgan --ctgan-epochs 300 --sample-rows 50000 \
        --cohorts colon rott2 support2_cancer prostate_seer crc_msk_2017.parquet csf_ctdna_msk.parquet \
        luad_tcga_pan_can_atlas_2018.parquet brca_metabric.parquet

Writes bench/results/<name>.csv and bench/results/<name>.md (default name: synthesis).
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import resource
import time
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"


def _quality(real: pl.DataFrame, synthetic: pl.DataFrame) -> dict[str, float]:
    from sdmetrics.reports.single_table import QualityReport

    columns = [
        c
        for c in real.columns
        if c not in ("patient_id", "cohort")
        and real[c].null_count() < real.height
        and synthetic[c].null_count() < synthetic.height  # columns a synthesizer drops are reported, not scored
    ]
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

    return {
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
    }


def _privacy_and_survival(train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame) -> dict[str, float]:
    from pipeline.validation import fidelity, privacy, survival
    from pipeline.validation.columns import column_kinds

    kinds = column_kinds(train, synthetic)
    replay = {m.metric: m.value for m in privacy.qi_replay(train, holdout, synthetic, kinds)}
    return {
        "c2st_auc": fidelity.c2st_auc(holdout, synthetic, kinds, seed=0),
        "qi_replay_excess": replay["qi_replay_excess"],
        "km_max_gap": survival.km_distance(holdout, synthetic)[0],
    }


def _run_one(args: tuple[str, str, str, dict, int, int]) -> dict[str, object]:
    cohort, synthesizer, profile, overrides, sample_rows, timeout = args
    import torch
    from benchmark_cohorts import load_split

    from pipeline.synthesis.stage import fit_synthesizer

    torch.set_num_threads(1)
    loaded = load_split(cohort)
    train, holdout = loaded.train, loaded.holdout
    if synthesizer == "tabularargn":
        return _run_argn(loaded, sample_rows, timeout)
    if synthesizer == "forestflow":
        from forestflow import ForestFlowSynthesizer

        model = ForestFlowSynthesizer(**overrides).fit(train, seed=0)
    else:
        model = fit_synthesizer(
            train, synthesizer=synthesizer, profile=profile, seed=0, overrides=overrides, protected=loaded.protected,
        )  # fmt: skip
    started = time.perf_counter()
    model.sample(sample_rows, seed=1)
    sample_seconds = time.perf_counter() - started
    synthetic = model.sample(train.height, seed=2)
    quality = {**_quality(holdout, synthetic), **_privacy_and_survival(train, holdout, synthetic)}
    return {
        "cohort": loaded.name,
        "synthesizer": synthesizer,
        "rows": loaded.real.height,
        "modelled_columns": model.report.n_columns,
        "params": ", ".join(f"{k}={v}" for k, v in sorted(model.params.items()) if v is not None),
        "fit_seconds": round(model.report.fit_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "sample_rows_per_minute": round(sample_rows / sample_seconds * 60),
        **{k: round(v, 4) for k, v in quality.items()},
    }


def _run_argn(loaded, sample_rows: int, timeout: float | None = None) -> dict[str, object]:
    """TabularARGN (MOSTLY AI's engine with its defaults, 100 epochs with early stopping and value protection,
    but training capped at 10 minutes; one thread, as every engine here) in its own environment: fitted on the
    training part without ids, ``sample_rows`` drawn once; the quality sample is the first training-sized
    slice of that draw. The child is stopped after ``timeout`` seconds."""
    from argn import as_schema, run_argn

    train, holdout = loaded.train, loaded.holdout
    modelled = train.drop("patient_id", "cohort", strict=False)
    rows = max(sample_rows, train.height)
    drawn, figures = run_argn({"seed": 0, "rows": rows}, {"train": modelled.to_pandas()}, timeout=timeout)
    synthetic = as_schema(drawn, modelled.schema).head(train.height)
    synthetic = synthetic.with_columns(
        pl.format("argn-{}", pl.int_range(pl.len())).alias("patient_id"),
        *([pl.lit(train["cohort"][0]).alias("cohort")] if "cohort" in train.columns else []),
    ).select(train.columns)
    quality = {**_quality(holdout, synthetic), **_privacy_and_survival(train, holdout, synthetic)}
    return {
        "cohort": loaded.name,
        "synthesizer": "tabularargn",
        "rows": loaded.real.height,
        "modelled_columns": modelled.width,
        "params": "mostlyai-engine 2.7.3 defaults",
        "fit_seconds": round(figures["fit_s"], 1),
        "peak_rss_mb": round(figures["peak_mb"]),
        "sample_rows_per_minute": round(rows / figures["sample_s"] * 60),
        **{k: round(v, 4) for k, v in quality.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", nargs="+", default=["colon", "rott2", "support2_cancer", "prostate_seer"])
    parser.add_argument("--synthesizers", nargs="+", default=["flow", "ctgan", "copula"])
    parser.add_argument("--ctgan-epochs", type=int, default=300)
    parser.add_argument("--sample-rows", type=int, default=200_000)
    parser.add_argument(
        "--forestflow-k", type=int, default=100, help="ForestFlow's duplicate_K (noise draws per row; its default 100)"
    )
    parser.add_argument(
        "--timeout", type=int, default=3600, help="seconds before a job (load, fit, sample, score) is stopped"
    )
    parser.add_argument("--name", default="synthesis", help="result file stem under bench/results/")
    parser.add_argument(
        "--merge", action="store_true", help="replace only the measured (cohort, synthesizer) rows of an existing table"
    )
    parser.add_argument("--render", action="store_true", help="only rewrite the Markdown table from the CSV")
    args = parser.parse_args()
    if args.render:
        _render(pl.read_csv(RESULTS / f"{args.name}.csv"), args)
        return
    overrides = {"ctgan": {"epochs": args.ctgan_epochs}, "forestflow": {"duplicate_K": args.forestflow_k}}
    jobs = [
        (cohort, name, "full", overrides.get(name, {}), args.sample_rows, args.timeout)
        for cohort in args.cohorts
        for name in args.synthesizers
    ]
    rows = []
    context = multiprocessing.get_context("spawn")
    for job in jobs:
        with context.Pool(1) as pool:  # a fresh process per fit: clean peak-memory reading
            try:
                row = {**pool.apply_async(_run_one, (job,)).get(timeout=args.timeout), "status": "ok"}
            except multiprocessing.TimeoutError:
                pool.terminate()
                row = {"cohort": Path(job[0]).stem, "synthesizer": job[1], "status": f"stopped after {args.timeout} s"}
                row["params"] = ", ".join(f"{k}={v}" for k, v in sorted(job[3].items()))
        print(row, flush=True)
        rows.append(row)
        _write(rows, args)  # after every fit, so a stopped benchmark keeps what it measured


ENGINE_ORDER = {"flow": 0, "ctgan": 1, "copula": 2, "forestflow": 3, "tabularargn": 4}


def _write(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    table = pl.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.merge and (RESULTS / f"{args.name}.csv").exists():
        kept = pl.read_csv(RESULTS / f"{args.name}.csv").join(
            table.select("cohort", "synthesizer"), on=["cohort", "synthesizer"], how="anti"
        )
        table = pl.concat([kept, table], how="diagonal_relaxed")
    first = {c: i for i, c in reversed(list(enumerate(table["cohort"])))}  # keep the table's cohort order
    table = table.with_columns(pl.col("status").fill_null("ok")).sort(
        pl.col("cohort").replace_strict(first, return_dtype=pl.Int64),
        pl.col("synthesizer").replace_strict(ENGINE_ORDER, default=9, return_dtype=pl.Int64),
    )
    table.write_csv(RESULTS / f"{args.name}.csv")
    _render(table, args)


def _render(table: pl.DataFrame, args: argparse.Namespace) -> None:
    header = (
        f"# Synthesis benchmark\n\nMachine: {platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}. Profile `full`; CTGAN epochs in `params`; sampling rate measured on "
        f"{args.sample_rows:,} rows. Fitted on 70% of each cohort; quality compares a sample the size "
        "of the training part with the 30% holdout (sdmetrics QualityReport scores, thresholds off; C2ST AUC, 0.5 "
        "is ideal; quasi-identifier replay excess over the holdout's chance rate; Kaplan-Meier max gap). "
        "ForestFlow: the `ForestDiffusion` package with its defaults (XGBoost, 50 noise levels, `duplicate_K` as "
        "listed, one job). TabularARGN: `mostlyai-engine` 2.7.3 with its defaults in its own environment (fit, "
        "sample and peak memory of that process). A job (load, fit, sample, score) past the time limit is "
        "stopped; `status` says after "
        "how long.\n\n"
    )
    shown = table.with_columns(pl.col("sample_rows_per_minute").cast(pl.Int64)).to_pandas()
    (RESULTS / f"{args.name}.md").write_text(header + shown.to_markdown(index=False) + "\n")
    print(f"wrote {RESULTS / args.name}.md")


if __name__ == "__main__":
    main()
