"""Commands on synthetic cohorts: ``synthesize``, ``validate`` and ``stress``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.cli.guards import (
    check_output,
    epoch_bar,
    parse_conditions,
    protected_for,
    registry_entry,
    registry_file,
    report,
    step_printer,
)
from pipeline.errors import OncoBenchError


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from pipeline.harmonized import read_harmonized
    from pipeline.io import all_or_nothing, write_parquet_atomic
    from pipeline.release.power import plan_power
    from pipeline.release.settings import load_release_settings
    from pipeline.rules import load_rules
    from pipeline.synthesis.stage import fit_synthesizer, sample_cohort
    from pipeline.synthesis.storage import save_model

    check_output(args.out, "--out", [args.input])
    if args.save_model:
        check_output(args.save_model, "--save-model", [args.input, args.out])
    if args.rows is not None and args.rows < 1:
        raise OncoBenchError(f"--rows must be positive, got {args.rows}")
    conditions = parse_conditions(args.condition)
    rules = load_rules(args.rules or args.settings.rules)
    real = read_harmonized(args.input, role="real cohort")
    release = load_release_settings(args.settings.release)
    plan = plan_power(real, release.test_fraction, release.tasks)  # the synthetic_cohort asset's default rows
    bar, advance = epoch_bar(f"training {args.synthesizer}")
    with bar:
        model = fit_synthesizer(
            real,
            synthesizer=args.synthesizer,
            profile=args.profile,
            seed=args.seed,
            protected=protected_for(real, args.protected, registry_file(args)),
            progress=advance,
        )
    result = sample_cohort(model, args.rows or plan.rows, seed=args.seed, rules=rules, conditions=conditions)
    with all_or_nothing() as keep:
        keep(write_parquet_atomic(result.frame, args.out))
        if args.save_model:
            keep(save_model(model, args.save_model))
    print(
        f"{args.synthesizer}: fitted on {real.height} rows in {model.report.fit_seconds:.1f}s; "
        f"sampled {result.frame.height} rows ({result.sample.n_repaired_rows} repaired, "
        f"{result.rules.redrawn} redrawn for plausibility rules) -> {args.out}"
        + (f"; model -> {args.save_model}" if args.save_model else "")
    )
    if args.rows is None:
        powered = ", ".join(f"{t.task} {t.expected_test_events:g}" for t in plan.tasks) or "none"
        print(f"  rows for task power: expected test events {powered} (needs {plan.min_events})")
        for task, reason in plan.not_declared.items():
            print(f"  not declared: {task}: {reason}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.harmonized import read_harmonized
    from pipeline.io import write_parquet_atomic
    from pipeline.rules import load_rules
    from pipeline.split import split_cohort
    from pipeline.validation.gates import load_validation_config
    from pipeline.validation.suite import headline_scores, validate_cohort

    check_output(args.out, "--out", [p for p in (args.real, args.synthetic, args.holdout) if p])
    config = load_validation_config(args.config or args.settings.validation)
    real = read_harmonized(args.real, role="real cohort")
    synthetic = read_harmonized(args.synthetic, role="synthetic cohort")
    if args.holdout:
        train, holdout = real, read_harmonized(args.holdout, role="holdout cohort")
    else:
        settings = config.settings
        train, holdout = split_cohort(real, holdout_fraction=settings.holdout_fraction, seed=settings.split_seed)
    cohort = args.cohort or (real["cohort"][0] if "cohort" in real.columns else Path(args.real).stem)
    with tqdm(total=7, desc="validating", unit="step", disable=None) as bar:

        def advance(step: str) -> None:
            bar.set_postfix_str(step.split(":")[0])
            bar.update(1)

        result = validate_cohort(
            train,
            holdout,
            synthetic,
            protected=protected_for(real, args.protected, registry_file(args)),
            config=config,
            cohort=cohort,
            synthesizer=args.synthesizer,
            run_id="cli",
            rules=load_rules(args.settings.rules),
            progress=advance,
        )
    table = result.table
    write_parquet_atomic(table, args.out)
    scores = headline_scores(table)
    print(f"{cohort}: {table.height} metrics -> {args.out} (gates: {config.path}, version {config.version})")
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if v is not None and k != "gates_passed"))
    for line in result.inconclusive:  # listed, never silently passed
        print(f"  inconclusive: {line}")
    return report(f"{cohort} gates", result.failures, result.verdict().splitlines()[0])


def _cmd_stress(args: argparse.Namespace) -> int:
    from pipeline.harmonized import read_harmonized
    from pipeline.io import write_parquet_atomic
    from pipeline.rules import load_rules
    from pipeline.stress.suite import STRESS_KINDS, StressSettings, build_stress_suite
    from pipeline.synthesis.storage import load_model

    check_output(args.out, "--out", [p for p in (args.data, args.model) if p])
    rules = load_rules(args.rules or args.settings.rules)
    data = read_harmonized(args.data, role="cohort")
    entry = registry_entry(data, registry_file(args))
    attributes = args.attribute or protected_for(data, None, registry_file(args))
    kinds = STRESS_KINDS if args.kind == "all" else (args.kind,)
    if args.model is None and args.kind != "twins":
        raise OncoBenchError(f"--kind {args.kind} draws from a fitted model: pass --model (`synthesize --save-model`)")
    cohorts = data["cohort"].unique().drop_nulls().to_list() if "cohort" in data.columns else []
    model = load_model(args.model, cohort=cohorts[0] if len(cohorts) == 1 else None) if args.model else None
    settings = StressSettings(
        rare_k=args.k, max_cells=args.max_cells, rows_per_cell=args.rows_per_cell, extreme_rows=args.rows_per_cell,
        seed=args.seed,
        modes=(args.mode,) if args.kind == "twins" else StressSettings().modes, kinds=kinds,
    )  # fmt: skip
    suite = build_stress_suite(
        data,
        model,
        protected=attributes,
        descendants={a: entry.descendants(a) for a in attributes} if entry else {},
        rules=rules,
        settings=settings,
        base=data if args.kind == "twins" else None,
        progress=step_printer,
    )
    for reason in suite.skipped:
        print(f"  skipped {reason}", file=sys.stderr)
    frame = suite.frame
    if frame.is_empty():
        why = "; ".join(suite.skipped) or "no rare cell or subgroup gap"
        raise OncoBenchError(f"{args.data}: nothing to draw for --kind {args.kind} ({why})")
    write_parquet_atomic(frame, args.out)
    broken = suite.dropped_by_rule()
    print(f"{args.kind}: {frame.height} rows -> {args.out}; rule violations dropped: {broken or 'none'}")
    for kind, label, n in suite.counts().iter_rows():
        print(f"  {kind:<9} {label}: {n}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``synthesize``, ``validate`` and ``stress`` to the subcommands."""
    from pipeline.synthesis.catalog import DEFAULT_SYNTHESIZER, engine_names, profile_names

    synthesize = commands.add_parser("synthesize", help="fit a synthesizer on a harmonized cohort and sample")
    synthesize.add_argument("input", type=Path, help="harmonized cohort (Parquet, e.g. from `oncobench ingest`)")
    synthesize.add_argument("--synthesizer", choices=engine_names(), default=DEFAULT_SYNTHESIZER)
    synthesize.add_argument(
        "--rows",
        type=int,
        default=None,
        help="number of synthetic rows (default: enough for every release task to have its test events, "
        "config/release.yaml `tasks`; at least as many as INPUT)",
    )
    synthesize.add_argument("--seed", type=int, default=0)
    synthesize.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE")
    synthesize.add_argument("--profile", choices=profile_names(), default="full")
    synthesize.add_argument("--save-model", type=Path, default=None, help="keep the fitted model here")
    synthesize.add_argument(
        "--protected", nargs="+", default=None, help="attributes the flow conditions on (default: registry)"
    )
    synthesize.add_argument("--rules", type=Path, default=None, help="plausibility rules (rule-breaking rows redrawn)")
    synthesize.add_argument("--out", type=Path, required=True, help="output Parquet file")
    synthesize.set_defaults(handler=_cmd_synthesize)

    validate = commands.add_parser(
        "validate", help="every validation metric of a synthetic cohort; exit 1 if a gate fails"
    )
    validate.add_argument("real", type=Path, help="real cohort (training rows when --holdout is given)")
    validate.add_argument("synthetic", type=Path, help="synthetic cohort in the same schema")
    validate.add_argument(
        "--holdout", type=Path, default=None, help="real rows the synthesizer never saw (default: split REAL)"
    )
    validate.add_argument("--out", type=Path, required=True, help="output Parquet file of the long metric table")
    validate.add_argument("--protected", nargs="+", default=None, help="protected attributes (default: registry)")
    validate.add_argument("--config", type=Path, default=None, help="gates and settings (config/validation.yaml)")
    validate.add_argument("--cohort", default=None, help="cohort name for the table (default: the data's)")
    validate.add_argument("--synthesizer", default="unknown", help="synthesizer name for the table")
    validate.set_defaults(handler=_cmd_validate)

    stress = commands.add_parser("stress", help="counterfactual twins, rare edge cases or subgroup upsampling")
    stress.add_argument(
        "data", type=Path, help="twins: the patients to twin; edge/upsample/all: the real cohort (its cells, shares)"
    )
    stress.add_argument(
        "--kind", choices=["twins", "edge", "upsample", "all"], required=True, help="all: the asset's whole suite"
    )
    stress.add_argument("--model", type=Path, default=None, help="fitted synthesizer (edge, upsample, all)")
    stress.add_argument("--attribute", nargs="+", default=None, help="protected attributes (default: registry)")
    stress.add_argument("--mode", choices=["pure", "consistent"], default="pure", help="twins only")
    stress.add_argument("--k", type=int, default=10, help="edge: a cell with fewer real patients is rare")
    stress.add_argument("--max-cells", type=int, default=60, help="edge: draw at most this many rare cells (rarest)")
    stress.add_argument("--rows-per-cell", type=int, default=20)
    stress.add_argument("--seed", type=int, default=0)
    stress.add_argument("--rules", type=Path, default=None, help="plausibility rules (config/plausibility_rules.yaml)")
    stress.add_argument("--out", type=Path, required=True, help="output Parquet file")
    stress.set_defaults(handler=_cmd_stress)
