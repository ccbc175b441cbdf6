"""OncoBench's journey model beside SDV's PARSynthesizer and MOSTLY AI's TabularARGN on the same real
timelines, the same splits and the same journey validation.

Each study is ingested and split as in ``bench/journeys.py`` (50/25/25 train / holdout / unseen,
seed = split). PARSynthesizer (SDV's sequential synthesizer, default 128 epochs, CPU) is fitted on the
training patients' lines as sequences (key: patient; index: the line's start day; columns: regimen
class and duration in days) with the baseline as context (age, survival in days, death), and draws
one journey per unseen patient from that patient's context (``sample_sequential_columns``). Its
sequences become line rows (lines ordered by start day; time to next treatment from the next start)
and go through :func:`pipeline.journeys.validation.validate_journeys` against the holdout's real lines,
exactly as the journey model's do. TabularARGN (``mostlyai-engine`` 2.7, Apache-2.0; a sequential
target table with a context table, default 100 epochs and early stopping, CPU) gets the same sequences
and contexts; it needs numpy 2, so it runs in ``.venv-argn`` (``make bench-setup``) through
``bench/argn_child.py`` and is left out, saying so, where that environment is missing. Scale:
PARSynthesizer fitted on the study resampled to ``--scale`` patients in a child process with a time
limit (the journey model's 50,000-patient figures are in ``bench/results/journeys.md``).

    python bench/journeys_par.py [--studies tcga_biotab_ov nsclc_tcga_broad_2016] [--splits 1] [--epochs 128]
                                 [--scale 2000] [--limit 900] [--argn-python .venv-argn/bin/python]

Writes bench/results/journeys_par.csv and journeys_par.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from pipeline.settings import export_environment
from pipeline.threads import THREAD_VARIABLES

export_environment({**dict.fromkeys(THREAD_VARIABLES, "1"), "POLARS_MAX_THREADS": "1", "ONCOBENCH_THREADS": "1"})

import numpy as np  # noqa: E402 (after the thread caps)
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.argn import ARGN_PYTHON  # noqa: E402
from bench.journeys import PROJECT, RESULTS, SHOWN, STUDIES, load_study, resampled  # noqa: E402

CONTEXT = ("age_at_diagnosis", "survival_days", "vital_status_event")
DAYS_PER_MONTH = 30.4375


def _context(patients: pl.DataFrame) -> pd.DataFrame:
    frame = patients.select(
        "patient_id",
        pl.col("age_at_diagnosis").cast(pl.Float64),
        (pl.col("survival_months").cast(pl.Float64) * DAYS_PER_MONTH).alias("survival_days"),
        pl.col("vital_status_event").cast(pl.Int64).cast(pl.String),
    ).to_pandas()
    for column in ("age_at_diagnosis", "survival_days"):
        frame[column] = frame[column].fillna(frame[column].median())
    frame["vital_status_event"] = frame["vital_status_event"].fillna("0")
    return frame


def _sequences(patients: pl.DataFrame, lines: pl.DataFrame) -> pd.DataFrame:
    rows = lines.filter(pl.col("patient_id").is_in(patients["patient_id"].implode())).select(
        "patient_id", pl.col("start_day").cast(pl.Float64), pl.col("regimen_class").fill_null("unknown"),
        (pl.col("end_day") - pl.col("start_day")).cast(pl.Float64).fill_null(0.0).alias("duration"),
    )  # fmt: skip
    return rows.to_pandas().merge(_context(patients), on="patient_id", how="left")


def _metadata():
    from sdv.metadata import Metadata

    columns = {"patient_id": {"sdtype": "id"}, "start_day": {"sdtype": "numerical"},
               "regimen_class": {"sdtype": "categorical"}, "duration": {"sdtype": "numerical"},
               "age_at_diagnosis": {"sdtype": "numerical"}, "survival_days": {"sdtype": "numerical"},
               "vital_status_event": {"sdtype": "categorical"}}  # fmt: skip
    table = {"columns": columns, "sequence_key": "patient_id", "sequence_index": "start_day"}
    return Metadata.load_from_dict({"METADATA_SPEC_VERSION": "V1", "tables": {"lines": table}})


def fit_par(patients: pl.DataFrame, lines: pl.DataFrame, epochs: int, seed: int):
    """PARSynthesizer fitted on the patients' lines with their baselines as context."""
    import torch
    from sdv.sequential import PARSynthesizer

    torch.manual_seed(seed)
    np.random.seed(seed)
    synthesizer = PARSynthesizer(_metadata(), context_columns=list(CONTEXT), epochs=epochs, verbose=False)
    synthesizer.fit({"lines": _sequences(patients, lines)})  # SDV 2: a table name mapped to its frame
    return synthesizer


def par_lines(synthesizer, baselines: pl.DataFrame, cohort: str) -> pl.DataFrame:
    """One PAR journey per baseline patient (from its context), as line rows."""
    sampled = synthesizer.sample_sequential_columns(_context(baselines))
    sampled = next(iter(sampled.values())) if isinstance(sampled, dict) else sampled  # SDV 2: {table: frame}
    return sequence_lines(pl.from_pandas(sampled), cohort, "PARSynthesizer")


def argn_lines(python: Path, train: pl.DataFrame, lines: pl.DataFrame, baselines: pl.DataFrame, cohort: str,
               seed: int) -> tuple[pl.DataFrame, dict]:  # fmt: skip
    """TabularARGN fitted on the training patients' sequences with their baselines as context, one journey
    drawn per baseline patient, as line rows; and its seconds and peak memory (see ``bench/argn_child.py``)."""
    from bench.argn import run_argn

    sequences = _sequences(train, lines)[["patient_id", "start_day", "regimen_class", "duration"]]
    frames = {"train": sequences, "context": _context(train), "sample_context": _context(baselines)}
    drawn, figures = run_argn({"key": "patient_id", "seed": seed}, frames, python)
    return sequence_lines(drawn, cohort, "TabularARGN"), figures


def sequence_lines(drawn: pl.DataFrame, cohort: str, rule_set: str) -> pl.DataFrame:
    """Drawn sequences (patient, start day, regimen class, duration) as line rows: lines ordered by start
    day, time to next treatment from the next start."""
    from pipeline.journeys.schema import LINE_SCHEMA

    drawn = drawn.with_columns(pl.col("patient_id").cast(pl.String), pl.col("regimen_class").cast(pl.String),
                               pl.col("start_day").cast(pl.Float64), pl.col("duration").cast(pl.Float64))  # fmt: skip
    drawn = drawn.drop_nulls("start_day").with_columns(pl.col("duration").fill_null(0.0))
    drawn = drawn.with_columns(pl.col("start_day").round(0), pl.col("duration").round(0)).sort(
        "patient_id", "start_day"
    )
    rows = drawn.with_columns(
        cohort=pl.lit(cohort),
        line=pl.int_range(1, pl.len() + 1).over("patient_id"),
        regimen=pl.col("regimen_class"),
        end_day=pl.col("start_day") + pl.col("duration"),
        time_to_next_treatment=pl.col("start_day").shift(-1).over("patient_id") - pl.col("start_day"),
    ).with_columns(
        ended_by=pl.when(pl.col("time_to_next_treatment").is_not_null()).then(pl.lit("next_line"))
        .otherwise(pl.lit("censored")),
        rule_set=pl.lit(rule_set),
    )  # fmt: skip
    return rows.select(list(LINE_SCHEMA)).cast(LINE_SCHEMA)


def measure(name: str, seed: int, epochs: int, argn: Path | None) -> tuple[list[dict], dict]:
    """Metric rows of PAR's, TabularARGN's (with ``argn``, its environment's python) and the journey
    model's journeys for the unseen baselines, and timings."""
    from pipeline.journeys.stage import patients_lines
    from pipeline.journeys.synthesis import fit, sample
    from pipeline.journeys.validation import validate_journeys
    from pipeline.split import split_cohort

    patients, lines = load_study(name)
    train, rest = split_cohort(patients, holdout_fraction=0.5, seed=seed)
    holdout, unseen = split_cohort(rest, holdout_fraction=0.5, seed=seed)
    timing: dict = {"study": name, "seed": seed}
    began = time.perf_counter()
    par = fit_par(train, lines, epochs, seed)
    timing["PARSynthesizer: fit_s"] = time.perf_counter() - began
    began = time.perf_counter()
    drawn = {"PARSynthesizer": par_lines(par, unseen, name)}
    timing["PARSynthesizer: sample_s"] = time.perf_counter() - began
    if argn is not None:
        drawn["TabularARGN"], figures = argn_lines(argn, train, lines, unseen, name, seed)
        timing |= {f"TabularARGN: {key}": figures[key] for key in ("fit_s", "sample_s", "peak_mb")}
    began = time.perf_counter()
    model = fit(train, patients_lines(lines, train), seed=seed)
    timing["journey model: fit_s"] = time.perf_counter() - began
    ours = sample(model, unseen, seed=seed)
    timing["journey model: sample_s"] = ours.seconds
    drawn["journey model"] = ours.lines
    rows = []
    for label, synthetic in drawn.items():
        frame = validate_journeys((train, lines), (holdout, lines), (unseen, synthetic), cohort=name, seed=seed)
        for row in frame.iter_rows(named=True):
            rows.append({"study": name, "seed": seed, "sample": label, "metric": row["metric"],
                         "target": row["target"], **{k: row[k] for k in SHOWN}})  # fmt: skip
    return rows, timing


def scale_child(name: str, size: int, epochs: int) -> dict:
    """In a child process: PARSynthesizer fitted on the study resampled to ``size`` patients, then as many drawn."""
    big, big_lines = resampled(name, size)
    out = {"study": name, "patients": size, "real_lines": big_lines.height, "epochs": epochs}
    began = time.perf_counter()
    par = fit_par(big, big_lines, epochs, 0)
    out["fit_s"] = time.perf_counter() - began
    began = time.perf_counter()
    out["lines"] = par_lines(par, big, name).height
    out["sample_s"] = time.perf_counter() - began
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def scale(name: str, size: int, epochs: int, limit: float) -> dict:
    """:func:`scale_child` in a fresh process, stopped after ``limit`` seconds."""
    code = f"import json, bench.journeys_par as b; print(json.dumps(b.scale_child({name!r}, {size}, {epochs})))"
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(PROJECT)}, timeout=limit)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"study": name, "patients": size, "epochs": epochs, "fit_s": f"not done in {limit:.0f} s"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def scale_argn(python: Path, name: str, size: int, limit: float) -> dict:
    """TabularARGN fitted on the study resampled to ``size`` patients, then as many journeys drawn, in its
    own process, stopped after ``limit`` seconds."""
    from bench.argn import run_argn

    big, big_lines = resampled(name, size)
    frames = {"train": _sequences(big, big_lines)[["patient_id", "start_day", "regimen_class", "duration"]],
              "context": _context(big), "sample_context": _context(big)}  # fmt: skip
    out = {"engine": "TabularARGN", "study": name, "patients": size, "real_lines": big_lines.height}
    try:
        drawn, figures = run_argn({"key": "patient_id", "seed": 0}, frames, python, timeout=limit)
    except subprocess.TimeoutExpired:
        return {**out, "fit_s": f"not done in {limit:.0f} s"}
    return {**out, "fit_s": figures["fit_s"], "lines": drawn.height, "sample_s": figures["sample_s"],
            "peak_mb": figures["peak_mb"]}  # fmt: skip


def report(rows: pl.DataFrame, timings: pl.DataFrame, scaled: list[dict]) -> str:
    """Per study, each metric of both synthesizers (mean over splits) beside the bound, then timings and scale."""
    lines = [
        "# Journeys: the journey model beside SDV's PARSynthesizer and MOSTLY AI's TabularARGN",
        "",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; produced by "
        f"`python bench/journeys_par.py` ({time.strftime('%Y-%m-%d')}). Same splits (50/25/25, seeds "
        f"{', '.join(map(str, sorted(rows['seed'].unique())))}), same validation against the holdout's real lines, "
        "journeys drawn for the unseen patients' baselines; `verdicts`: the gate verdicts over the splits.",
        "",
    ]
    for (study,), group in rows.group_by("study", maintain_order=True):
        wide = group.group_by("metric", "target", "sample", maintain_order=True).agg(
            pl.col("value").mean(), pl.col("threshold").mean().alias("bound"),
            pl.col("verdict").unique().sort().str.join("/").alias("verdicts"),
        )  # fmt: skip
        table = wide.pivot("sample", index=["metric", "target", "bound"], values=["value", "verdicts"])
        lines += [f"## {study}", "", table.to_pandas().to_markdown(index=False, floatfmt=".3f"), ""]
    lines += ["## Seconds", "", timings.to_pandas().to_markdown(index=False, floatfmt=".2f"), ""]
    if scaled:
        table = pl.DataFrame(scaled).to_pandas().to_markdown(index=False, floatfmt=".1f")
        note = "The journey model at 50,000 patients: `bench/results/journeys.md` (Scale)."
        lines += ["## PARSynthesizer and TabularARGN at scale", "", table, "", note]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", nargs="*", default=list(STUDIES))
    parser.add_argument("--splits", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=128, help="PARSynthesizer epochs (SDV's default: 128)")
    parser.add_argument("--scale", type=int, default=0, help="patients of the PARSynthesizer scale run (0: none)")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds the scale run may take")
    parser.add_argument("--argn-python", type=Path, default=ARGN_PYTHON,
                        help="the python of the TabularARGN environment (make bench-setup)")  # fmt: skip
    args = parser.parse_args()
    argn = args.argn_python if args.argn_python.exists() else None
    if argn is None:
        print(f"TabularARGN left out: {args.argn_python} does not exist (make bench-setup installs it)", flush=True)
    rows, timings = [], []
    for name in args.studies:
        for seed in range(args.splits):
            found, timing = measure(name, seed, args.epochs, argn)
            rows += found
            timings.append(timing)
            print(json.dumps(timing), flush=True)
    scaled = (
        [{"engine": "PARSynthesizer", **scale(args.studies[0], args.scale, args.epochs, args.limit)}]
        if args.scale
        else []
    )
    if args.scale and argn is not None:
        scaled.append(scale_argn(argn, args.studies[0], args.scale, args.limit))
    RESULTS.mkdir(exist_ok=True)
    frame = pl.DataFrame(rows)
    frame.write_csv(RESULTS / "journeys_par.csv")
    text = report(frame, pl.DataFrame(timings), scaled)
    (RESULTS / "journeys_par.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
