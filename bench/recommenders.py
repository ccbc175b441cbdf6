"""Treatment recommenders: the reference recommenders against the therapy table, the flip-rate finding over
seeds, and the throughput of a local HTTP recommender.

1. **Real studies** (../shared/cohorts, harmonized as `oncobench ingest` does; every patient scored, no journey:
   line 1): concordance (Wilson interval) over actionable patients and contraindicated recommendations of
   ``reference:guideline``, ``reference:insurance_biased`` and ``reference:random``; ``reference:agent`` served over
   HTTP, each of its steps scored (biomarker recall and precision, evidence match, decision), with seconds and kWh
   per recommendation.
   Target: the guideline reference >= 0.95 and 0 contraindications.
2. **A release** (`--release`, default: the test release of tests/pipeline/evaluation/conftest.py, support2_cancer
   and colon): the same references through ``evaluate_recommender_release``, findings per cohort.
3. **Flip rate over seeds**: per seed, 300 base patients drawn from (a) support2_cancer (race, sex, income,
   education; insurance not recorded, so income stands in) and (b) crc_msk_2017 given a synthetic payer (income
   band and insurance drawn per patient, insurance depending on income); pure and consistent twins
   (:func:`pipeline.stress.twins.make_twins`); the share of seeds where ``counterfactual_flip_rate`` fails for the
   insurance-biased reference (power; target >= 95%) and for the guideline reference (false alarms).
4. **Throughput**: 10,000 patients resampled from crc_msk_2017 (new ids, 0-2 prior lines drawn from the table's
   regimens) scored end to end (request items, HTTP calls, checks, metrics) through ``reference:guideline`` served by
   ``python -m pipeline.recommenders.serve`` in another process; batch 1 and batch 8, then again from the cache.
   Target: <= 60 s on 2 cores.

    python bench/recommenders.py [--seeds 20] [--release DIR] [--patients 10000]

Writes bench/results/recommenders.csv (one row per section, cohort, recommender and measure) and
bench/results/recommenders.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import binomtest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
SHARED = ROOT.parent / "shared" / "cohorts"
STUDIES = ("crc_msk_2017", "brca_metabric", "csf_ctdna_msk", "luad_tcga_pan_can_atlas_2018")
REFERENCES = ("reference:guideline", "reference:insurance_biased", "reference:random")
FLIP = "counterfactual_flip_rate"
INCOMES = ("<$11k", "$11k-$25k", "$25k-$50k", ">$50k")


def harmonized(study: str) -> pl.DataFrame:
    from pipeline.cohorts.load import harmonize_entry, read_raw, resolve_source

    entry = resolve_source(str(SHARED / study), registry=None)
    return harmonize_entry(read_raw(entry), entry, salt="bench")


def registry_rows(cohort: str) -> tuple[pl.DataFrame, Any]:
    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry

    entry = load_registry().get(cohort)
    return harmonize_entry(read_raw(entry), entry, salt="bench"), entry


def _score(recommender: Any, test: pl.DataFrame, stress: pl.DataFrame, protected: list[str], **kw: Any):
    from pipeline.recommenders.config import load_recommender_config
    from pipeline.recommenders.guidelines_file import load_guidelines
    from pipeline.recommenders.stage import score_cohort

    return score_cohort(recommender, test, stress, test, protected, table=load_guidelines(),
                        config=load_recommender_config(), **kw)  # fmt: skip


def _row(section: str, cohort: str, recommender: str, measure: str, value: Any, low: Any = None, high: Any = None,
         n: Any = None, note: str = "") -> dict[str, Any]:  # fmt: skip
    return {"section": section, "cohort": cohort, "recommender": recommender, "measure": measure,
            "value": None if value is None else float(value), "ci_low": low, "ci_high": high,
            "n": None if n is None else int(n), "note": note}  # fmt: skip


def _verdict(block: dict[str, Any], finding: str) -> str:
    return next(f["verdict"] for f in block["findings"] if f["id"] == finding)


def _headline(section: str, cohort: str, spec: str, block: dict[str, Any]) -> list[dict[str, Any]]:
    c, bad = block["concordance"], block["contraindicated"]
    flagged, scored = (
        bad["test"]["patients"] + bad["stress_suite"]["patients"],
        bad["test"]["of"] + bad["stress_suite"]["of"],
    )
    indications = ", ".join(f"{k} {v}" for k, v in c["indications"].items())
    failed = [f["id"] for f in block["findings"] if f["verdict"] == "fail"]
    return [
        _row(section, cohort, spec, "concordance", c["value"], c["ci_low"], c["ci_high"], c["n"], indications),
        _row(section, cohort, spec, "contraindicated", flagged, n=scored, note=", ".join(bad["test"]["rules"])),
        _row(section, cohort, spec, "findings_failed", len(failed), note=", ".join(failed)),
    ]  # fmt: skip


def real_studies() -> list[dict[str, Any]]:
    from pipeline.recommenders.adapters import load_recommender

    rows = []
    for study in STUDIES:
        if not (SHARED / study).is_dir():
            print(f"skipped {study}: no {SHARED / study}", file=sys.stderr)
            continue
        frame = harmonized(study)
        for spec in REFERENCES:
            block, _ = _score(load_recommender(spec), frame, frame.head(0), [])
            rows += _headline("real study", study, spec, block)
        print(f"{study}: {frame.height} patients", file=sys.stderr)
    return rows


def release(directory: Path | None) -> list[dict[str, Any]]:
    from pipeline.recommenders.stage import evaluate_recommender_release

    with tempfile.TemporaryDirectory() as scratch:
        if directory is None:
            from tests.pipeline.evaluation.conftest import build_test_release

            directory = build_test_release(Path(scratch))
        rows = []
        for spec in REFERENCES:
            result = evaluate_recommender_release(directory, spec).result
            for cohort, block in result["cohorts"].items():
                rows += _headline(f"release {result['release']}", cohort, spec, block)
                flips = [e for e in block["counterfactual"] if e["flips"]]
                top = max(flips, key=lambda e: e["flip_rate"], default=None)
                if top:
                    rows.append(_row(f"release {result['release']}", cohort, spec, "largest_flip_rate",
                                     top["flip_rate"], top["ci_low"], top["ci_high"], top["pairs"],
                                     f"{top['attribute']} ({top['mode']})"))  # fmt: skip
        return rows


def with_payer(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Synthetic income bands and insurance (insurance depending on income), drawn per patient."""
    rng = np.random.default_rng(seed)
    income = rng.choice(INCOMES, size=frame.height, p=[0.15, 0.2, 0.3, 0.35])
    low = np.isin(income, INCOMES[:2])
    insurance = np.where(low, rng.choice(["Medicaid", "Uninsured", "Medicare", "Private"], frame.height,
                                         p=[0.45, 0.15, 0.25, 0.15]),
                         rng.choice(["Private", "Medicare", "Medicaid", "Other"], frame.height,
                                    p=[0.6, 0.3, 0.05, 0.05]))  # fmt: skip
    return frame.with_columns(pl.Series("income_band", income).cast(frame.schema["income_band"]),
                              pl.Series("insurance", insurance).cast(frame.schema["insurance"]))  # fmt: skip


def twins(base: pl.DataFrame, attributes: list[str], descendants: dict[str, list[str]], seed: int) -> pl.DataFrame:
    from pipeline.stress.twins import make_twins

    parts = [make_twins(base, attributes, mode=m, descendants=descendants, seed=seed) for m in ("pure", "consistent")]
    return pl.concat(parts, how="vertical")


def flip_power(seeds: int) -> list[dict[str, Any]]:
    from pipeline.recommenders.adapters import load_recommender

    support2, entry = registry_rows("support2_cancer")
    crc = harmonized("crc_msk_2017") if (SHARED / "crc_msk_2017").is_dir() else None
    worlds = {"support2_cancer": (support2, list(entry.protected), {a: entry.descendants(a) for a in entry.protected})}
    if crc is not None:
        worlds["crc_msk_2017 + synthetic payer"] = (crc, ["insurance", "income_band"], {"income_band": ["insurance"]})
    recommenders = {spec: load_recommender(spec) for spec in REFERENCES[:2]}
    rows, verdicts = [], {}
    for name, (frame, attributes, descendants) in worlds.items():
        for seed in range(seeds):
            rows_seeded = with_payer(frame, seed) if "payer" in name else frame
            base = rows_seeded.sample(300, seed=seed, shuffle=True)
            stress = twins(base, attributes, descendants, seed)
            for spec, recommender in recommenders.items():
                block, _ = _score(recommender, base, stress, attributes)
                verdicts.setdefault((name, spec), []).append(_verdict(block, FLIP))
        print(f"flip rate: {name}, {seeds} seeds", file=sys.stderr)
    for (name, spec), found in verdicts.items():
        fails = found.count("fail")
        interval = binomtest(fails, len(found)).proportion_ci()
        measure = "flip_finding_power" if "biased" in spec else "flip_finding_false_alarms"
        rows.append(_row("flip rate over seeds", name, spec, measure, fails / len(found), round(interval.low, 3),
                         round(interval.high, 3), len(found),
                         f"verdicts: {', '.join(f'{v} {found.count(v)}' for v in sorted(set(found)))}"))  # fmt: skip
    return rows


def resampled(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` patients drawn with replacement from crc_msk_2017, new ids, and 0-2 prior lines each."""
    from pipeline.recommenders.guidelines_file import load_guidelines

    table = load_guidelines()
    frame = harmonized("crc_msk_2017").sample(n, with_replacement=True, seed=seed)
    frame = frame.with_columns(pl.Series("patient_id", [f"s{i:05d}" for i in range(n)]))
    regimens = [row.regimen for row in (*table.indications, *table.defaults)]
    rng, lines = np.random.default_rng(seed), []
    for pid, count in zip(frame["patient_id"], rng.choice([0, 1, 2], size=n, p=[0.5, 0.3, 0.2]), strict=True):
        for line in range(1, count + 1):
            regimen = regimens[int(rng.integers(len(regimens)))]
            lines.append({"patient_id": pid, "line": line, "regimen": "+".join(sorted(regimen))})
    return frame, pl.DataFrame(lines, schema={"patient_id": pl.String, "line": pl.Int32, "regimen": pl.String})


def agent_over_http(country: str = "DEU") -> list[dict[str, Any]]:
    """``reference:agent`` served over HTTP on each real study: each step scored, latency and energy per answer."""
    from pipeline.evaluation.energy import track_emissions
    from pipeline.recommenders.adapters import load_recommender

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "pipeline.recommenders.serve", "reference:agent"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    rows, section = [], "agent over HTTP (per step)"
    try:
        url = server.stdout.readline().strip()
        for study in STUDIES:
            if not (SHARED / study).is_dir():
                continue
            frame = harmonized(study)
            with track_emissions(country) as energy:
                started = time.perf_counter()
                block, _ = _score(load_recommender(url), frame, frame.head(0), [])
                seconds = time.perf_counter() - started
            steps, c = block["steps"], block["concordance"]
            for measure in ("biomarker_recall", "biomarker_precision", "evidence_match"):
                score = steps[measure]
                rows.append(_row(section, study, "reference:agent", measure, score["value"], score["ci_low"],
                                 score["ci_high"], score["n"]))  # fmt: skip
            rows.append(_row(section, study, "reference:agent", "decision concordance", c["value"], c["ci_low"],
                             c["ci_high"], c["n"]))  # fmt: skip
            per = seconds / frame.height
            rows.append(_row(section, study, "reference:agent", "seconds per recommendation", round(per, 6),
                             n=frame.height, note="end to end: items, HTTP, checks, metrics"))  # fmt: skip
            kwh = None if energy.kwh is None else energy.kwh / frame.height
            rows.append(_row(section, study, "reference:agent", "kWh per recommendation", kwh, n=frame.height,
                             note=energy.note or f"codecarbon offline, {country}"))  # fmt: skip
            print(f"agent {study}: {seconds:.1f} s", file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    return rows


def throughput(n: int) -> list[dict[str, Any]]:
    from pipeline.recommenders.adapters import CallOptions, load_recommender
    from pipeline.recommenders.cache import AnswerCache
    from pipeline.warehouse import Warehouse

    frame, lines = resampled(n)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "pipeline.recommenders.serve", "reference:guideline"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    rows = []
    try:
        url = server.stdout.readline().strip()
        recommender = load_recommender(url)
        with tempfile.TemporaryDirectory() as scratch:
            cache = AnswerCache(Warehouse(Path(scratch) / "w.duckdb"))
            for batch, cached in ((1, False), (8, False), (8, True)):
                options = CallOptions(timeout=30, concurrency=4, retries=2, batch_size=batch)
                started = time.perf_counter()
                block, answers = _score(recommender, frame, frame.head(0), [], lines=lines, options=options,
                                        cache=cache if cached else None)  # fmt: skip
                seconds = time.perf_counter() - started
                if not cached:
                    cache.save(recommender.fingerprint, answers.new)
                label = f"batch {batch}" + (", from the cache" if cached else "")
                rows.append(_row("throughput", f"{n} resampled crc_msk_2017", url.rsplit(":", 1)[0] + " (guideline)",
                                 "seconds", round(seconds, 2), n=n,
                                 note=f"{label}; concurrency 4; {answers.calls} calls; calls {answers.seconds:.2f} s; "
                                      f"concordance {block['concordance']['value']:.3f} over "
                                      f"{block['concordance']['n']} actionable"))  # fmt: skip
                print(f"throughput {label}: {seconds:.1f} s", file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    return rows


def markdown(table: pl.DataFrame, seeds: int) -> str:
    load = os.getloadavg()[0]
    head = [
        "# Treatment recommenders: references, flip-rate finding, HTTP throughput", "",
        f"{platform.machine()}, {os.cpu_count()} cores (load average {load:.1f} at the end), Python "
        f"{platform.python_version()}; produced by `python bench/recommenders.py --seeds {seeds}` ({date.today()}). "
        "Concordance: share of actionable patients (an indication of config/therapy_guidelines.yaml matches them at "
        "their next line) recommended a concordant class, Wilson 95% interval; `n` its actionable patients. "
        "Contraindicated: patients given an agent a contraindication forbids (`n`: patients scored). Rates over seeds: "
        "exact binomial intervals. Throughput: seconds end to end (request items, HTTP calls with 4 workers, checks, "
        "metrics) for the patients of `n`.", "",
    ]  # fmt: skip
    body = []
    for section, part in table.group_by("section", maintain_order=True):
        shown = (
            part.drop("section")
            .with_columns(
                pl.col(c)
                .map_elements(lambda x: f"{x:.3f}".rstrip("0").rstrip("."), return_dtype=pl.String)
                .fill_null("")
                for c in ("value", "ci_low", "ci_high")
            )
            .with_columns(pl.col("n").cast(pl.String).fill_null(""))
        )
        body += [f"## {section[0]}", "", shown.to_pandas().to_markdown(index=False), ""]
    return "\n".join(head + body) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--release", type=Path, default=None, help="a release folder (default: the test release)")
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    rows = (
        real_studies() + agent_over_http() + release(args.release) + flip_power(args.seeds) + throughput(args.patients)
    )
    table = pl.DataFrame(rows, schema_overrides={"ci_low": pl.Float64, "ci_high": pl.Float64, "value": pl.Float64})
    RESULTS.mkdir(exist_ok=True)
    table.write_csv(RESULTS / "recommenders.csv")
    (RESULTS / "recommenders.md").write_text(markdown(table, args.seeds))
    print(markdown(table, args.seeds))


if __name__ == "__main__":
    main()
