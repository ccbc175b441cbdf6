"""Calibration of the release gates: how often they withhold real unseen patients (false withholds)
and how often they catch planted failures (detection).

Every default cohort (the registry) and every study in ``../shared/cohorts/`` that ingests (as
``oncobench ingest`` does) with at least 200 patients is split ``--splits`` times (seeds 0..n-1,
each by :func:`pipeline.split.split_cohort` twice): 35% training, 30% holdout (the pipeline's holdout share),
35% unseen patients. The unseen
patients stand in for a perfect synthesizer, so there are as many of them as training patients: the pipeline
samples at least as many synthetic rows as it trains on (``pipeline.release.power``), and the privacy attacks,
which must show evidence of safety, are judged on that many rows.
The validation suite then judges, with the training and holdout parts, the unseen patients
themselves (scenario ``unseen``: what a perfect synthesizer would produce, which the gates must
release) and each planted failure of :mod:`pipeline.validation.planted` built from them (which
they must withhold). A failure a cohort cannot carry (no treatment arms, say) is not applicable.

    python bench/calibration.py [--cohorts colon ../shared/cohorts/crc_msk_2017 ...] [--splits 10]
        [--scenarios unseen verbatim_copy ...] [--jobs 2] [--anonymeter-attacks 300]

Writes bench/results/calibration.csv (one row per cohort, split and scenario) and calibration.md,
rewritten after every validation so that a stopped run still leaves its table. Progress on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.settings import export_environment
from pipeline.threads import THREAD_VARIABLES, available_cores

# one thread per process, set before polars, numpy, scikit-learn or torch load (spawned children re-run this)
export_environment({**dict.fromkeys(THREAD_VARIABLES, "1"), "POLARS_MAX_THREADS": "1", "ONCOBENCH_THREADS": "1"})

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results"
SHARED = PROJECT.parent / "shared" / "cohorts"
SPLIT = (0.35, 0.3, 0.35)  # train, holdout (settings.holdout_fraction, as the pipeline holds out), unseen
MIN_PATIENTS = 200  # studies smaller than this are left out
SALT = "calibration"  # patient-id hashes of this benchmark only (no private salt file is created)
UNSEEN = "unseen"
FLOOR_OFF = "off (it can turn a pass into a non-blocking inconclusive, never change a release decision)"
COLUMNS = {"withheld": "Boolean", "blocking": "String", "rule_violations": "Int64", "seconds": "Float64",
           "error": "String"}  # fmt: skip

if TYPE_CHECKING:
    import polars as pl


def _scenarios() -> list[str]:
    from pipeline.validation.planted import PLANTED

    return [UNSEEN, *PLANTED]


@functools.cache
def load_cohort(source: str) -> tuple[str, pl.DataFrame, list[str]]:
    """(name, harmonized frame, protected columns) of a registry name or a study folder, harmonized
    by the function ``oncobench ingest`` calls; protected as the pipeline defaults them."""
    from pipeline.cohorts.load import harmonize_entry, read_raw, resolve_source
    from pipeline.cohorts.registry import load_registry
    from pipeline.subgroups import default_protected

    registry = load_registry()
    entry = resolve_source(source, registry=registry)
    frame = harmonize_entry(read_raw(entry), entry, salt=SALT)
    registered = list(entry.protected) if source in registry.names else None
    protected = [c for c in default_protected(frame, registered) if c in frame.columns]
    return entry.name, frame, protected


def three_way(frame: pl.DataFrame, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(train 35%, holdout 30%, unseen 35%), each split stratified by the event, seeded."""
    from pipeline.split import split_cohort

    train, rest = split_cohort(frame, holdout_fraction=SPLIT[1] + SPLIT[2], seed=seed)
    holdout, unseen = split_cohort(rest, holdout_fraction=SPLIT[2] / (SPLIT[1] + SPLIT[2]), seed=seed)
    return train, holdout, unseen


def _config(attacks: int | None, floor: bool = False):
    """The validation config, with the noise floor only when asked: a noise floor can turn a pass into an
    inconclusive that does not block (``pipeline.validation.verdicts``), never change whether a cohort is
    withheld, and it doubles the time of a validation."""
    from pipeline.validation.gates import ANONYMETER_METRICS, load_validation_config

    config = load_validation_config()
    config = dataclasses.replace(config, settings=dataclasses.replace(config.settings, noise_floor=floor))
    if attacks is None:
        return config
    config = dataclasses.replace(config, settings=dataclasses.replace(config.settings, anonymeter_attacks=attacks))
    if attacks > 0:
        return config

    def kept(gates):
        return tuple(g for g in gates if g.metric not in ANONYMETER_METRICS)

    cohort_gates = {cohort: kept(gates) for cohort, gates in config.cohort_gates.items()}
    return dataclasses.replace(config, gates=kept(config.gates), cohort_gates=cohort_gates)


def _labels(rows: pl.DataFrame) -> str:
    return "; ".join(f"{r['family']}.{r['metric']}[{r['target']}]" for r in rows.iter_rows(named=True))


def summarize(result) -> dict[str, object]:
    """Withheld or not, and which gated rows failed, blocked or could not tell."""
    import polars as pl

    table = result.table
    gated = table.filter(pl.col("gate").fill_null(False))
    failed = pl.col("verdict") == "fail" if "verdict" in table.columns else ~pl.col("passed").fill_null(False)
    blocks = pl.col("blocking").fill_null(False) if "blocking" in table.columns else failed
    row: dict[str, object] = {"withheld": not result.passed, "gated_rows": gated.height}
    if "verdict" in table.columns:
        counts = dict(gated["verdict"].value_counts().iter_rows())
        row |= {f"n_{v}": int(counts.get(v, 0)) for v in ("pass", "fail", "inconclusive")}
        row["inconclusive"] = _labels(gated.filter(pl.col("verdict") == "inconclusive"))
    row["failed"] = _labels(gated.filter(failed))
    row["blocking"] = _labels(gated.filter(blocks))
    return row


def _init() -> None:
    import warnings

    from pipeline.threads import limit_threads

    limit_threads(1)
    # scikit-learn's neighbours fall back to one job in a pool process: what this benchmark wants anyway
    warnings.filterwarnings("ignore", message="Loky-backed parallel loops cannot be called in a multiprocessing")


def run_one(job: tuple[str, int, str, int | None, bool]) -> dict[str, object]:
    """One validation: a cohort's split ``seed``, with the unseen patients or a planted failure."""
    from pipeline.rules import count_violations, load_rules
    from pipeline.validation.planted import PLANTED
    from pipeline.validation.suite import validate_cohort

    source, seed, scenario, attacks, floor = job
    name, frame, protected = load_cohort(source)
    train, holdout, unseen = three_way(frame, seed)
    row: dict[str, object] = {"cohort": name, "split": seed, "scenario": scenario, "patients": frame.height,
                              "protected": ",".join(protected)}  # fmt: skip
    started = time.perf_counter()
    try:
        synthetic = unseen if scenario == UNSEEN else PLANTED[scenario](train, unseen, protected, seed)
        row["applicable"] = synthetic is not None
        if synthetic is None:
            return row
        row["synthetic_rows"] = synthetic.height
        row["rule_violations"] = int(count_violations(synthetic, load_rules())[0].sum())
        started = time.perf_counter()
        result = validate_cohort(
            train, holdout, synthetic, protected=protected, config=_config(attacks, floor), cohort=name,
            synthesizer=scenario, run_id=f"calibration-{name}-{seed}-{scenario}",
        )  # fmt: skip
    except Exception as error:  # a crash (planting or validating) is a result of the benchmark, recorded as such
        row.setdefault("applicable", True)
        row["error"] = f"{type(error).__name__}: {error}"[:300]
    else:
        row |= summarize(result)
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row


def _share(hits: int, n: int) -> str:
    """``hits/n`` with the rate and its 95% Wilson interval."""
    if n == 0:
        return "n/a"
    p, z = hits / n, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{hits}/{n} = {p:.2f} [{max(0.0, centre - half):.2f}, {min(1.0, centre + half):.2f}]"


def _gates_per_row(rows: pl.DataFrame) -> pl.DataFrame:
    """(cohort, split, scenario, metric): each gate metric that blocked each row, once."""
    import polars as pl

    exploded = rows.select("cohort", "split", "scenario", metric=pl.col("blocking").str.split("; ")).explode("metric")
    exploded = exploded.filter(pl.col("metric") != "").with_columns(pl.col("metric").str.replace(r"\[.*$", ""))
    return exploded.unique()


def report(table: pl.DataFrame, header: str, skipped: list[str]) -> str:
    """The Markdown report of the rows so far."""
    import polars as pl

    missing = {c: getattr(pl, dtype) for c, dtype in COLUMNS.items() if c not in table.columns}
    table = table.with_columns(pl.lit(None, dtype).alias(c) for c, dtype in missing.items())
    done = table.filter(pl.col("applicable") & pl.col("withheld").is_not_null())
    cohorts = table["cohort"].unique(maintain_order=True).to_list()
    lines = [header]
    real = done.filter(pl.col("scenario") == UNSEEN)
    failed = pl.col("failed").fill_null("") != ""
    lines += ["## (a) False withholds: real unseen patients withheld", "",
              "Withheld: any blocking row; *a gate failed*: a row's interval put it beyond its bound (a false alarm "
              "of a test); the other withholds are overall privacy attacks that could not show safety at this size "
              "(inconclusive, which blocks).", "",
              "| cohort | patients | protected | withheld splits [95% interval] | a gate failed |",
              "|---|---:|---|---|---|"]  # fmt: skip
    for cohort in cohorts:
        rows = real.filter(pl.col("cohort") == cohort)
        first = table.filter(pl.col("cohort") == cohort).row(0, named=True)
        lines.append(f"| {cohort} | {first['patients']} | {first['protected'] or '-'} | "
                     f"{_share(int(rows['withheld'].sum()), rows.height)} | "
                     f"{_share(rows.filter(failed).height, rows.height)} |")  # fmt: skip
    lines.append(
        f"| all | | | {_share(int(real['withheld'].sum()), real.height)} | "
        f"{_share(real.filter(failed).height, real.height)} |"
    )
    lines += ["", "## (b) Gates that withheld real unseen patients (share of splits, per cohort)", ""]
    blocked = _gates_per_row(real)
    if blocked.is_empty():
        lines.append("No gate withheld real unseen patients.")
    else:
        lines += ["| gate | " + " | ".join(cohorts) + " |", "|---|" + "---:|" * len(cohorts)]
        for metric in sorted(blocked["metric"].unique()):
            cells = []
            for cohort in cohorts:
                n = real.filter(pl.col("cohort") == cohort).height
                hits = blocked.filter((pl.col("metric") == metric) & (pl.col("cohort") == cohort)).height
                cells.append(f"{hits}/{n}" if n else "n/a")
            lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines += ["", "## (c) Detection: planted failures withheld (splits withheld / splits; n/a: not applicable)", "",
              "| planted failure | " + " | ".join(cohorts) + " | gates that withheld it (share of its withholds) |",
              "|---|" + "---:|" * len(cohorts) + "---|"]  # fmt: skip
    planted = [s for s in _scenarios() if s != UNSEEN and s in set(table["scenario"])]
    for scenario in planted:
        cells = []
        for cohort in cohorts:
            rows = done.filter((pl.col("scenario") == scenario) & (pl.col("cohort") == cohort))
            cells.append(f"{int(rows['withheld'].sum())}/{rows.height}" if rows.height else "n/a")
        withheld = done.filter((pl.col("scenario") == scenario) & pl.col("withheld"))
        counts = _gates_per_row(withheld)["metric"].value_counts().sort(["count", "metric"], descending=[True, False])
        caught = ", ".join(f"{m} ({n}/{withheld.height})" for m, n in counts.head(6).iter_rows())
        lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {caught or '-'} |")
    rules = done.group_by("scenario", maintain_order=True).agg(pl.col("rule_violations").mean())
    broken = ", ".join(f"{s} {v:.1f}" for s, v in rules.filter(pl.col("rule_violations") > 0).iter_rows())
    lines += ["", "Synthetic rows breaking a plausibility rule (`config/plausibility_rules.yaml`), mean per "
              f"validation: {broken or 'none'} (every other scenario: 0)."]  # fmt: skip
    errors = table.filter(pl.col("error").is_not_null())
    lines += ["", "## Seconds per validation", "", "The first validation of a process also pays for imports and "
              "warm-up (its maximum).", "", "| cohort | validations | median s | mean s | max s |",
              "|---|---:|---:|---:|---:|"]  # fmt: skip
    for cohort in cohorts:
        s = table.filter((pl.col("cohort") == cohort) & pl.col("applicable"))["seconds"].drop_nulls()
        if s.len():
            lines.append(f"| {cohort} | {s.len()} | {s.median():.1f} | {s.mean():.1f} | {s.max():.1f} |")
    if errors.height:
        lines += ["", "## Errors", ""] + [f"- {r['cohort']} split {r['split']} {r['scenario']}: {r['error']}"
                                           for r in errors.iter_rows(named=True)]  # fmt: skip
    if skipped:
        lines += ["", "## Left out", ""] + [f"- {line}" for line in skipped]
    return "\n".join(lines) + "\n"


def discover(requested: list[str] | None) -> tuple[list[str], list[str]]:
    """(sources to run, lines saying which were left out and why)."""
    from pipeline.cohorts.registry import load_registry

    registry = load_registry().names
    if requested:
        sources = [c if c in registry or Path(c).exists() else str(SHARED / c) for c in requested]
    else:
        sources = registry + sorted(str(p) for p in SHARED.iterdir() if p.is_dir()) if SHARED.is_dir() else registry
    kept, skipped = [], []
    for source in sources:
        try:
            name, frame, _ = load_cohort(source)
        except Exception as error:  # a study the CLI cannot ingest either
            skipped.append(f"{Path(source).name}: cannot ingest ({type(error).__name__}: {str(error).splitlines()[0]})")
            continue
        if source not in registry and frame.height < MIN_PATIENTS:
            skipped.append(f"{name}: {frame.height} patients (< {MIN_PATIENTS})")
            continue
        kept.append(source)
    return kept, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", nargs="+", default=None, help="registry names or study folders (default: all)")
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--scenarios", nargs="+", default=None, choices=_scenarios())
    parser.add_argument("--jobs", type=int, default=2, help="processes, one thread each")
    parser.add_argument("--anonymeter-attacks", type=int, default=None, help="default: config/validation.yaml")
    parser.add_argument("--noise-floor", action="store_true", help="also compute the noise floor (same verdicts)")
    parser.add_argument(
        "--resume", action="store_true", help="keep the rows of bench/results/calibration.csv and run only the rest"
    )
    args = parser.parse_args()
    import polars as pl

    from pipeline.validation.gates import load_validation_config

    scenarios = args.scenarios or _scenarios()
    sources, skipped = discover(args.cohorts)
    for line in skipped:
        print(f"left out {line}", file=sys.stderr)
    jobs = [(s, seed, scenario, args.anonymeter_attacks, args.noise_floor) for seed in range(args.splits)
            for s in sources for scenario in scenarios]  # fmt: skip
    config = _config(args.anonymeter_attacks, args.noise_floor)
    header = (
        f"# Release-gate calibration\n\nMachine: {platform.machine()}, {available_cores()} cores "
        f"(load average {os.getloadavg()[0]:.1f} at start), Python {platform.python_version()}, polars "
        f"{pl.__version__}, {args.jobs} process(es) with one thread each. Validation config "
        f"{load_validation_config().version}, Anonymeter attacks {config.settings.anonymeter_attacks}, "
        f"noise floor {'on' if config.settings.noise_floor else FLOOR_OFF}. {args.splits} split(s) per cohort "
        "(seeds 0..n-1): 35% training, 30% holdout (the pipeline's holdout share), 35% unseen patients "
        "(as many unseen as training patients: "
        "the pipeline samples at least as many synthetic rows as it trains on). Scenario `unseen`: the unseen "
        "patients themselves (must be released); every other scenario plants one failure in them "
        "(`pipeline/validation/planted.py`, must be withheld). Withheld: any blocking gate row. "
        "Intervals: 95% Wilson.\n"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    if args.resume and (RESULTS / "calibration.csv").exists():
        rows = pl.read_csv(RESULTS / "calibration.csv", infer_schema_length=None).to_dicts()
        done_keys = {(r["cohort"], r["split"], r["scenario"]) for r in rows}
        names = {source: load_cohort(source)[0] for source in sources}
        jobs = [job for job in jobs if (names[job[0]], job[1], job[2]) not in done_keys]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(max(1, args.jobs), initializer=_init) as pool:
        for done, row in enumerate(pool.imap_unordered(run_one, jobs), start=1):
            rows.append(row)
            verdict = "n/a" if not row["applicable"] else row.get("error") or (
                f"withheld by {row['blocking']}" if row.get("withheld") else "released")  # fmt: skip
            print(f"[{done}/{len(jobs)} {time.perf_counter() - started:.0f}s] {row['cohort']} split {row['split']} "
                  f"{row['scenario']}: {verdict} ({row.get('seconds', 0)}s)", file=sys.stderr, flush=True)  # fmt: skip
            table = pl.DataFrame(rows, infer_schema_length=None).sort("cohort", "split", "scenario")
            table.write_csv(RESULTS / "calibration.csv")
            (RESULTS / "calibration.md").write_text(report(table, header, skipped))
    if rows:  # also when --resume had nothing left to run: the report of the rows kept
        table = pl.DataFrame(rows, infer_schema_length=None).sort("cohort", "split", "scenario")
        table.write_csv(RESULTS / "calibration.csv")
        (RESULTS / "calibration.md").write_text(report(table, header, skipped))
    print(f"wrote {RESULTS / 'calibration.csv'} and {RESULTS / 'calibration.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
