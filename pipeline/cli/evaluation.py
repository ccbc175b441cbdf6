"""Commands for model builders: ``evaluate`` a model on a release task, and the ``leaderboard``."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from pipeline.cli import recommenders
from pipeline.cli.guards import check_output, open_warehouse, step_printer
from pipeline.errors import OncoBenchError


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    if args.recommender:
        from pipeline.cli.recommenders import cmd_evaluate_recommender

        return cmd_evaluate_recommender(args)
    if not args.task:
        raise OncoBenchError("--task is required with --model (mortality_12m, overall_survival, treatment, ...)")

    from pipeline.evaluation.config import load_evaluation_config
    from pipeline.evaluation.records import record_evaluation
    from pipeline.evaluation.report import write_report
    from pipeline.evaluation.stage import evaluate_release
    from pipeline.io import write_text_atomic
    from pipeline.rules import load_rules

    if args.out:
        check_output(args.out, "--out")
    if args.report and args.report.exists() and not args.report.is_dir():
        raise OncoBenchError(f"--report {args.report} is a file; give a folder")
    store = open_warehouse(args)
    evaluation = evaluate_release(
        args.release, args.model, args.task, cohorts=args.cohort,
        config=load_evaluation_config(args.config or args.settings.evaluation),
        rules=load_rules(args.rules or args.settings.rules), store=store,
        progress=step_printer,
    )  # fmt: skip
    result = evaluation.result  # complete and checked: only now is anything written or recorded
    if args.out:
        write_text_atomic(json.dumps(result, indent=2) + "\n", args.out)
    if args.report:
        print(f"report -> {write_report(result, args.report)} (and report.html)")
    entry = record_evaluation(store, evaluation)
    print(f"{result['model']['name']} on release {result['release']}, task {result['task']} "
          f"(fingerprint {result['model']['fingerprint'][:12]}, audit entry {entry['seq']})")  # fmt: skip
    for cohort, block in result["cohorts"].items():
        task = evaluation.tasks[cohort]
        score = block["performance"][task.target]
        print(f"  {cohort}: {task.target} {score['value']:.3f} [{score['ci_low']:.3f}, {score['ci_high']:.3f}] "
              f"(n={score['n']})")  # fmt: skip
        for e in block["counterfactual"]:
            print(f"    flip rate {e['attribute']} ({e['mode']}): {e['flip_rate']:.3f} "
                  f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}] over {e['pairs']} pairs")  # fmt: skip
        failed = [f["id"] for f in block["findings"] if not f["passed"]]
        unclear = [f["id"] for f in block["findings"] if f.get("verdict") == "inconclusive"]
        print(f"    findings failed: {', '.join(failed) or 'none'}; inconclusive: {', '.join(unclear) or 'none'}")
    energy = evaluation.emissions
    if energy.kwh is not None:
        print(f"  energy: {energy.kwh * 1000:.3f} Wh, {energy.kg_co2e * 1000:.3f} g CO2e ({energy.country} grid, "
              f"{energy.seconds:.0f} s; codecarbon, offline)")  # fmt: skip
    if args.out:
        print(f"result -> {args.out}")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from pipeline.evaluation.records import leaderboard

    if args.recommenders:
        from pipeline.recommenders.records import recommender_leaderboard

        table = recommender_leaderboard(open_warehouse(args), args.release)
        empty = "no recommender evaluations recorded yet (run `oncobench evaluate RELEASE --recommender SPEC`)"
    else:
        table = leaderboard(open_warehouse(args), args.release, args.task)
        empty = "no evaluations recorded yet (run `oncobench evaluate`)"
    with pl.Config(fmt_str_lengths=60):
        print(table if table.height else empty)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` and ``leaderboard`` to the subcommands."""
    evaluate = commands.add_parser(
        "evaluate", help="score a model on a release task, or a treatment recommender (exit 2 on a bad one)"
    )
    evaluate.add_argument("release", type=Path, help="release folder (verified before anything is scored)")
    scored = evaluate.add_mutually_exclusive_group(required=True)
    scored.add_argument("--model", help="MODULE:OBJECT, path/to/file.py:OBJECT, reference:fair|biased")
    scored.add_argument("--recommender", help=recommenders.RECOMMENDER_HELP)
    evaluate.add_argument("--task", default=None, help="mortality_12m, overall_survival, treatment (as declared)")
    evaluate.add_argument("--cohort", nargs="+", default=None, help="cohorts to score (default: every one with TASK)")
    evaluate.add_argument("--report", type=Path, default=None, help="folder for report.md, report.html and plots")
    evaluate.add_argument("--out", type=Path, default=None, help="the result as JSON (the output contract)")
    evaluate.add_argument(
        "--config",
        type=Path,
        default=None,
        help="settings and findings (config/evaluation.yaml; config/recommender_evaluation.yaml)",
    )
    evaluate.add_argument("--rules", type=Path, default=None, help="plausibility rules of the adversarial search")
    evaluate.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
    recommenders.add_arguments(evaluate)
    evaluate.set_defaults(handler=_cmd_evaluate)

    board = commands.add_parser("leaderboard", help="recorded evaluations, best model first (DuckDB)")
    board.add_argument("--release", default=None, help="one release version")
    board.add_argument("--task", default=None, help="one task")
    board.add_argument("--recommenders", action="store_true", help="recorded recommender evaluations instead")
    board.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
    board.set_defaults(handler=_cmd_leaderboard)
