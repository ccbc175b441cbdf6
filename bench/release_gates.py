"""Does the default synthesizer pass the release gates on the default cohorts, fit seed by fit seed?

What ``make demo`` decides for each cohort, without Dagster: the cohort is harmonized and split as
the pipeline splits it (``config/validation.yaml``: holdout fraction and split seed), the flow
(profile ``full``) is fitted on the training part with fit seed ``s``, as many rows as training are
sampled (rows breaking a plausibility rule redrawn) and the validation suite judges them. A cohort
still withheld needs a named defect that fails on at least 9 of 10 fit seeds (issue 20).

    python bench/release_gates.py [--cohorts colon rott2 ...] [--seeds 10] [--synthesizer flow]

Writes bench/results/release_gates.csv and release_gates.md, rewritten after every fit.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from pipeline.settings import export_environment
from pipeline.threads import THREAD_VARIABLES, available_cores

export_environment(
    {**dict.fromkeys(THREAD_VARIABLES, str(available_cores())), "ONCOBENCH_THREADS": str(available_cores())}
)

RESULTS = Path(__file__).resolve().parent / "results"


def run(cohort: str, seed: int, synthesizer: str) -> dict[str, object]:
    """One fit seed of one cohort: the release verdict, verdict counts and the blocking gates."""
    from pipeline.cohorts.load import harmonize_entry, read_raw
    from pipeline.cohorts.registry import load_registry
    from pipeline.rules import load_rules
    from pipeline.split import split_cohort
    from pipeline.synthesis.stage import fit_synthesizer, sample_cohort
    from pipeline.validation.gates import load_validation_config
    from pipeline.validation.suite import validate_cohort

    config = load_validation_config()
    entry = load_registry().get(cohort)
    real = harmonize_entry(read_raw(entry), entry, salt="release-gates-bench")
    train, holdout = split_cohort(
        real, holdout_fraction=config.settings.holdout_fraction, seed=config.settings.split_seed
    )
    protected = [c for c in entry.protected if c in train.columns]
    started = time.perf_counter()
    model = fit_synthesizer(train, synthesizer=synthesizer, profile="full", seed=seed, protected=protected)
    rules = load_rules()
    synthetic = sample_cohort(model, train.height, seed=seed, rules=rules).frame
    fitted = time.perf_counter() - started
    result = validate_cohort(
        train, holdout, synthetic, protected=protected, config=config, cohort=cohort, synthesizer=synthesizer,
        run_id=f"bench-{seed}", rules=rules,
    )  # fmt: skip
    verdicts = result.verdicts
    return {
        "cohort": cohort, "seed": seed, "released": result.passed, "pass": verdicts.get("pass", 0),
        "fail": verdicts.get("fail", 0), "inconclusive": verdicts.get("inconclusive", 0),
        "blocking": "; ".join(result.failures), "fit_sample_s": round(fitted, 1),
        "validate_s": round(time.perf_counter() - started - fitted, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", nargs="+", default=None, help="registry names (default: every default cohort)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--synthesizer", default="flow")
    args = parser.parse_args()
    import polars as pl

    from pipeline.cohorts.registry import load_registry
    from pipeline.validation.gates import load_validation_config

    cohorts = args.cohorts or load_registry().names
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    header = (
        f"# Release gates on the default synthesizer\n\nMachine: {platform.machine()}, {available_cores()} cores, "
        f"Python {platform.python_version()}. Synthesizer `{args.synthesizer}` (profile full), fit seeds "
        f"0..{args.seeds - 1}, validation config {load_validation_config().version}; the pipeline's split.\n\n"
    )
    for seed in range(args.seeds):
        for cohort in cohorts:
            row = run(cohort, seed, args.synthesizer)
            rows.append(row)
            verdict = "released" if row["released"] else "withheld"
            timing = f"{row['fit_sample_s']}s + {row['validate_s']}s"
            print(f"{cohort} seed {seed}: {verdict} ({timing}) {row['blocking']}", file=sys.stderr, flush=True)
            table = pl.DataFrame(rows)
            table.write_csv(RESULTS / "release_gates.csv")
            summary = table.group_by("cohort", maintain_order=True).agg(
                seeds=pl.len(), released=pl.col("released").sum(), fit_sample_s=pl.col("fit_sample_s").median(),
                validate_s=pl.col("validate_s").median(),
            )  # fmt: skip
            withheld = table.filter(~pl.col("released")).select("cohort", "seed", "blocking")
            (RESULTS / "release_gates.md").write_text(
                header
                + summary.to_pandas().to_markdown(index=False)
                + "\n\nWithheld fits and the gates that blocked them:\n\n"
                + (withheld.to_pandas().to_markdown(index=False) if withheld.height else "_none_")
                + "\n"
            )


if __name__ == "__main__":
    main()
