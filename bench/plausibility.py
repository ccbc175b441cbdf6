"""How many impossible patients are there, in real cohorts and in what a synthesizer draws?

Every default cohort (the registry) and every study in ``../shared/cohorts/`` that ingests (as
``oncobench ingest`` does) is checked against the plausibility rules (config/plausibility_rules.yaml,
cancers selected by OncoTree tissue and main type from config/oncotree_tissues.yaml):

- real: the share of patients breaking any rule, each rule's count among the patients it judges,
  and the rules flagged suspect (what the stress stage warns about);
- sex twins: the stress stage's pure sex twins of the real patients themselves (what the pipeline
  builds from synthetic base patients): how many would be impossible (a man with an ovarian
  cancer), all dropped with their pairs, and how many twins are left;
- synthetic (unless ``--no-synthesis``): the copula (profile fast, fit seed 0) fitted on the whole
  cohort draws as many rows as it has, once raw and once as the pipeline samples (rows breaking a
  rule redrawn): the raw share is what rules prevent, the other must be 0.

    python bench/plausibility.py [--cohorts colon csf_ctdna_msk ...] [--no-synthesis]

Writes bench/results/plausibility.csv and plausibility.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from pipeline.settings import export_environment

export_environment({"OMP_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1", "ONCOBENCH_THREADS": "1"})

import polars as pl  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results"
SHARED = PROJECT.parent / "shared" / "cohorts"
SALT = "plausibility-bench"
SYNTHESIZER = "copula"


def load_cohort(source: str) -> tuple[str, pl.DataFrame, list[str]]:
    """(name, harmonized frame, protected columns), harmonized by the function ``oncobench ingest`` calls."""
    from pipeline.cohorts.load import harmonize_entry, read_raw, resolve_source
    from pipeline.cohorts.registry import load_registry
    from pipeline.subgroups import default_protected

    registry = load_registry()
    entry = resolve_source(source, registry=registry)
    frame = harmonize_entry(read_raw(entry), entry, salt=SALT)
    registered = list(entry.protected) if source in registry.names else None
    return entry.name, frame, [c for c in default_protected(frame, registered) if c in frame.columns]


def _share(k: int, n: int) -> str:
    return f"{k}/{n} ({k / n:.2%})" if n else "-"


def _broken(table: pl.DataFrame) -> str:
    """``rule k/n`` for each rule some row breaks."""
    hits = table.filter(pl.col("violations") > 0)
    return ", ".join(f"{r['rule_id']} {r['violations']}/{r['rows_checked']}" for r in hits.iter_rows(named=True))


def measure(source: str, synthesize: bool) -> dict[str, object]:
    """One cohort: the real share of impossible patients and, optionally, the synthetic ones."""
    from pipeline.rules import count_violations, load_rules, rule_table

    rules = load_rules()
    name, real, protected = load_cohort(source)
    table = rule_table(rules, real, "real").filter(pl.col("applies"))
    broken, _ = count_violations(real, rules)
    row: dict[str, object] = {
        "cohort": name,
        "patients": real.height,
        "rules_applying": table.height,
        "real_impossible": int(broken.sum()),
        "real_share": float(broken.mean()) if real.height else 0.0,
        "real_broken_rules": _broken(table),
        "suspect_rules": ", ".join(table.filter(pl.col("suspect"))["rule_id"]),
    }
    row.update(_sex_twins(real, rules))
    if synthesize:
        try:
            row.update(_synthetic(real, protected, rules))
        except Exception as error:  # e.g. a study too small to fit
            row["synthetic_error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return row


def _sex_twins(real: pl.DataFrame, rules: list) -> dict[str, object]:
    """Pure sex twins of every real patient, built and filtered as the stress stage does."""
    from pipeline.stress.suite import StressSettings, build_stress_suite

    if "sex" not in real.columns or real["sex"].drop_nulls().n_unique() < 2:
        return {"sex_twins": None, "sex_twins_impossible": None}
    settings = StressSettings(kinds=("twins",), modes=("pure",))
    suite = build_stress_suite(real, None, protected=["sex"], descendants={}, rules=rules, settings=settings, base=real)
    twins = suite.frame.filter(pl.col("twin_role") == "twin").height
    return {"sex_twins": twins, "sex_twins_impossible": sum(suite.dropped_by_rule().values())}


def _synthetic(real: pl.DataFrame, protected: list[str], rules: list) -> dict[str, object]:
    from pipeline.rules import count_violations, rule_table
    from pipeline.synthesis.stage import fit_synthesizer, sample_cohort

    started = time.perf_counter()
    model = fit_synthesizer(real, synthesizer=SYNTHESIZER, profile="fast", seed=0, protected=protected)
    raw = model.sample(real.height, seed=1)
    sampled = sample_cohort(model, real.height, seed=1, rules=rules)
    raw_broken, _ = count_violations(raw, rules)
    kept_broken, _ = count_violations(sampled.frame, rules)
    return {
        "synthetic_raw_impossible": int(raw_broken.sum()),
        "synthetic_raw_share": float(raw_broken.mean()),
        "synthetic_raw_broken_rules": _broken(rule_table(rules, raw, SYNTHESIZER)),
        "synthetic_rows": sampled.frame.height,
        "synthetic_impossible": int(kept_broken.sum()),
        "synthetic_redrawn": sampled.rules.redrawn,
        "synthetic_unfilled": sampled.rules.unfilled,
        "seconds": round(time.perf_counter() - started, 1),
    }


def discover(requested: list[str] | None) -> list[str]:
    from pipeline.cohorts.registry import load_registry

    registry = load_registry().names
    if requested:
        return [c if c in registry or Path(c).exists() else str(SHARED / c) for c in requested]
    shared = sorted(str(p) for p in SHARED.iterdir() if p.is_dir()) if SHARED.is_dir() else []
    return registry + shared


def report(rows: pl.DataFrame, skipped: list[str]) -> str:
    import yaml

    from pipeline.cancer_types import load_cancer_types
    from pipeline.rules import DEFAULT_RULES

    table = load_cancer_types()
    rules_version = yaml.safe_load(DEFAULT_RULES.read_text())["version"]
    real = rows.select(
        "cohort", "patients", "rules_applying",
        pl.struct("real_impossible", "patients").map_elements(
            lambda r: _share(r["real_impossible"], r["patients"]), return_dtype=pl.String).alias("impossible (real)"),
        pl.col("real_broken_rules").alias("rules broken (violations/patients judged)"),
        pl.col("suspect_rules").alias("suspect"),
        pl.col("sex_twins_impossible").cast(pl.String).fill_null("-").alias("impossible sex twins (dropped)"),
        pl.col("sex_twins").cast(pl.String).fill_null("-").alias("sex twins kept"),
    )  # fmt: skip
    lines = [
        "# Impossible patients: real cohorts and synthetic draws",
        "",
        f"Rules {DEFAULT_RULES.relative_to(PROJECT)} version {rules_version}; cancer types "
        f"{table.path.relative_to(PROJECT)} version {table.version} (OncoTree "
        f"{table.source.split('release ')[1].split(' ')[0]}). Machine: {platform.machine()}, "
        f"Python {sys.version.split()[0]}; `python bench/plausibility.py`.",
        "",
        "A patient is impossible when they break any rule. A rule is *suspect* when at least 3 real patients",
        "break it and, by the Wilson 95% lower bound, more than 1% of the patients it judges.",
        "",
        "## Real cohorts",
        "",
        real.to_pandas().to_markdown(index=False),
    ]
    if "synthetic_rows" in rows.columns:
        synthetic = rows.filter(pl.col("synthetic_rows").is_not_null()).select(
            "cohort",
            pl.struct("synthetic_raw_impossible", "patients").map_elements(
                lambda r: _share(r["synthetic_raw_impossible"], r["patients"]), return_dtype=pl.String
            ).alias("impossible, raw draw"),
            pl.col("synthetic_raw_broken_rules").alias("rules broken by the raw draw"),
            pl.struct("synthetic_impossible", "synthetic_rows").map_elements(
                lambda r: _share(r["synthetic_impossible"], r["synthetic_rows"]), return_dtype=pl.String
            ).alias("impossible, as sampled (redrawn)"),
            pl.col("synthetic_redrawn").alias("redrawn"), pl.col("synthetic_unfilled").alias("unfilled"), "seconds",
        )  # fmt: skip
        lines += [
            "",
            f"## Synthetic: {SYNTHESIZER} (profile fast, fit seed 0) on the whole cohort, as many rows",
            "",
            synthetic.to_pandas().to_markdown(index=False),
        ]
    if "synthetic_error" in rows.columns:
        skipped = skipped + [f"{c}: not synthesized ({e})" for c, e in rows.drop_nulls("synthetic_error")
                             .select("cohort", "synthetic_error").iter_rows()]  # fmt: skip
    if skipped:
        lines += ["", "## Left out", "", *[f"- {s}" for s in skipped]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", nargs="*", help="registry names or study folders (default: all)")
    parser.add_argument("--no-synthesis", action="store_true", help="real cohorts only")
    args = parser.parse_args()
    rows, skipped = [], []
    for source in discover(args.cohorts):
        try:
            rows.append(measure(source, synthesize=not args.no_synthesis))
            print(rows[-1], flush=True)
        except Exception as error:  # a study the CLI cannot ingest (or the copula cannot fit) either
            skipped.append(f"{Path(source).name}: {type(error).__name__}: {str(error).splitlines()[0]}")
            print(skipped[-1], flush=True)
    frame = pl.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.write_csv(RESULTS / "plausibility.csv")
    (RESULTS / "plausibility.md").write_text(report(frame, skipped))


if __name__ == "__main__":
    main()
