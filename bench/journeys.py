"""Journey synthesis and validation on the real timeline studies, and at scale.

Quality: each study (``tcga_biotab_ov``, ``nsclc_tcga_broad_2016``) is ingested as ``oncobench
ingest`` does (events, lines of therapy) and its patients split 50/25/25 (train / holdout / unseen,
:func:`pipeline.split.split_cohort` twice, seeds 0..n-1). The journey model is fitted on the
training patients' lines and draws journeys for the unseen patients' baselines (standing in for
synthetic patients) and for the holdout's. Every journey metric is taken against the holdout's
real lines, beside its noise floor (training patients' real lines) and the real unseen patients'
own lines (the same comparison at the synthetic sample's size). Temporal violations must be 0.

Scale: the real patients of a study resampled (with replacement, with their lines) to ``--scale``
patients; fitted, then as many journeys drawn, their events built and validated, in a child
process: seconds and the child's peak resident memory (``resource.getrusage``).

    python bench/journeys.py [--studies tcga_biotab_ov nsclc_tcga_broad_2016] [--splits 3] [--scale 50000]

Writes bench/results/journeys.csv (one row per study, split, sample and metric row) and journeys.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from pipeline.settings import export_environment
from pipeline.threads import THREAD_VARIABLES, available_cores

export_environment({**dict.fromkeys(THREAD_VARIABLES, "1"), "POLARS_MAX_THREADS": "1", "ONCOBENCH_THREADS": "1"})

import polars as pl  # noqa: E402 (after the thread caps)

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results"
SHARED = PROJECT.parent / "shared" / "cohorts"
STUDIES = ("tcga_biotab_ov", "nsclc_tcga_broad_2016")
SALT = "bench-journeys"  # patient-id hashes of this benchmark only
SHOWN = ("value", "noise_floor", "threshold", "verdict")


@functools.cache
def load_study(name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(harmonized patients, lines of therapy) of a shared study, as ``oncobench ingest`` reads them."""
    from pipeline.cohorts.load import ingest, resolve_source
    from pipeline.journeys.ingest import ingest_journeys

    entry = resolve_source(str(SHARED / name), registry=None)
    patients, _ = ingest(entry, salt=SALT)
    _, lines, _ = ingest_journeys(entry, patients, salt=SALT)
    return patients, lines


def measure(name: str, seed: int) -> tuple[list[dict], dict]:
    """Metric rows of both synthetic samples (and of the real unseen lines), and the timings, of one split."""
    from pipeline.journeys.stage import patients_lines
    from pipeline.journeys.synthesis import fit, sample
    from pipeline.journeys.validation import validate_journeys
    from pipeline.split import split_cohort

    patients, lines = load_study(name)
    train, rest = split_cohort(patients, holdout_fraction=0.5, seed=seed)
    holdout, unseen = split_cohort(rest, holdout_fraction=0.5, seed=seed)
    began = time.perf_counter()
    model = fit(train, patients_lines(lines, train), seed=seed)
    timing = {"study": name, "seed": seed, "fit_s": time.perf_counter() - began}
    candidates = {"real unseen": (unseen, patients_lines(lines, unseen))}
    for label, baselines in (("synthetic (unseen baselines)", unseen), ("synthetic (holdout baselines)", holdout)):
        drawn = sample(model, baselines, seed=seed)
        candidates[label] = (baselines, drawn.lines)
        timing |= {f"{label}: sample_s": drawn.seconds, f"{label}: redrawn": drawn.n_redrawn,
                   f"{label}: compressed": drawn.n_compressed}  # fmt: skip
    rows = []
    for label, candidate in candidates.items():
        began = time.perf_counter()
        frame = validate_journeys((train, lines), (holdout, lines), candidate, cohort=name, seed=seed)
        timing[f"{label}: validate_s"] = time.perf_counter() - began
        for row in frame.iter_rows(named=True):
            rows.append({"study": name, "seed": seed, "sample": label, "metric": row["metric"],
                         "target": row["target"], "rows": row["rows"], **{k: row[k] for k in SHOWN}})  # fmt: skip
    return rows, timing


def resampled(name: str, size: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(patients, lines) of a study resampled with replacement to ``size`` patients (seed 0), each copy
    under its own id (``<id>#<copy>``) with its lines."""
    import numpy as np

    patients, lines = load_study(name)
    picks = np.random.default_rng(0).integers(0, patients.height, size)
    copies = patients[picks].with_columns(copy=pl.int_range(pl.len()).over("patient_id"))
    big = copies.with_columns(patient_id=pl.format("{}#{}", "patient_id", "copy"))
    big_lines = lines.join(copies.select("patient_id", "copy"), on="patient_id").with_columns(
        patient_id=pl.format("{}#{}", "patient_id", "copy")
    )
    return big.drop("copy"), big_lines.drop("copy")


def scale_child(name: str, size: int) -> dict:
    """In a child process: resample ``name`` to ``size`` patients, fit, sample, build events, validate."""
    from pipeline.journeys.synthesis import fit, journey_events, sample
    from pipeline.journeys.validation import validate_journeys
    from pipeline.split import split_cohort

    patients, lines = load_study(name)
    big, big_lines = resampled(name, size)
    base_memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"study": name, "patients": size, "real_lines": big_lines.height}
    began = time.perf_counter()
    model = fit(big, big_lines)
    out["fit_s"] = time.perf_counter() - began
    drawn = sample(model, big, seed=0)
    out |= {"sample_s": drawn.seconds, "journeys": size, "lines": drawn.lines.height, "compressed": drawn.n_compressed}
    began = time.perf_counter()
    events = journey_events(drawn.lines, big)
    out |= {"events_s": time.perf_counter() - began, "events": events.height}
    train, holdout = split_cohort(patients, holdout_fraction=0.3, seed=0)
    began = time.perf_counter()
    frame = validate_journeys((train, lines), (holdout, lines), (big, drawn.lines), rounds=100)
    out["validate_s"] = time.perf_counter() - began
    out["temporal_violations"] = frame.filter(pl.col("metric") == "temporal_violations")["value"][0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out |= {"peak_mb": peak / 1024, "peak_above_data_mb": (peak - base_memory) / 1024}
    return out


def scale(name: str, size: int) -> dict:
    """:func:`scale_child` in a fresh process (its own peak memory)."""
    code = f"import json, bench.journeys as b; print(json.dumps(b.scale_child({name!r}, {size})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _table(frame: pl.DataFrame) -> str:
    return frame.to_pandas().to_markdown(index=False, floatfmt=".3f")


def report(rows: pl.DataFrame, timings: pl.DataFrame, scaled: list[dict]) -> str:
    """The Markdown report: per study, each metric (mean over splits) beside its floors, then timings and scale."""
    lines = [
        "# Patient journeys: synthesis and validation",
        "",
        f"{platform.machine()}, {available_cores()} cores (load average {os.getloadavg()[0]:.1f} at start), Python "
        f"{platform.python_version()}, polars {pl.__version__}; produced by `python bench/journeys.py` "
        f"({time.strftime('%Y-%m-%d')}). Splits 50/25/25 (train / holdout / unseen), seeds "
        f"{', '.join(map(str, sorted(rows['seed'].unique())))}; every metric against the holdout's real lines; "
        "means over the splits. `floor`: training patients' real lines in the synthetic role (the gate's noise "
        "floor); `real unseen`: the unseen patients' own lines (the same comparison at the synthetic sample's "
        "size); `bound`: the gate's bound (twice the floor, at least a minimum; 0 violations; replay excess 0.02); "
        "`verdicts`: the verdicts of the synthetic journeys for unseen baselines over the splits.",
    ]
    for study in rows["study"].unique(maintain_order=True):
        of = rows.filter(pl.col("study") == study)
        verdicts = pl.col("verdict").drop_nulls().unique().sort().str.join("/")
        means = [pl.col(c).mean() for c in ("value", "noise_floor", "threshold")]
        wide = of.group_by("metric", "target", "sample", maintain_order=True).agg(*means, verdicts)
        pivot = wide.pivot("sample", index=["metric", "target"], values="value")
        unseen = wide.filter(pl.col("sample") == "synthetic (unseen baselines)").select(
            "metric", "target", floor="noise_floor", bound="threshold", verdicts="verdict"
        )
        lines += ["", f"## {study}", "", _table(pivot.join(unseen, on=["metric", "target"], how="left"))]
        timed = timings.filter(pl.col("study") == study).drop("study", "seed").mean()
        timed = timed.transpose(include_header=True, header_name="measure", column_names=["mean over splits"])
        lines += ["", "Seconds, journeys redrawn to fit their follow-up and compressed into it:", "", _table(timed)]
    lines += ["", "## Scale", "", _table(pl.DataFrame(scaled)), ""]
    lines += [
        "`peak_mb`: the child process's peak resident memory (ru_maxrss); `peak_above_data_mb`: above what it held "
        "after reading the study and resampling it. `events`: one treatment event per agent of each line and one "
        "death or last-contact event per patient."
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="+", default=list(STUDIES))
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--scale", type=int, default=50_000)
    args = parser.parse_args()
    rows, timings = [], []
    for study in args.studies:
        for seed in range(args.splits):
            measured, timing = measure(study, seed)
            rows += measured
            timings.append(timing)
            print(f"{study} split {seed}: done", file=sys.stderr)
    scaled = [scale(study, args.scale) for study in args.studies] if args.scale else []
    frame = pl.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.write_csv(RESULTS / "journeys.csv")
    (RESULTS / "journeys.md").write_text(report(frame, pl.DataFrame(timings), scaled))
    print(f"-> {RESULTS / 'journeys.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
