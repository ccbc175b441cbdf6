"""``oncobench evaluate RELEASE --recommender SPEC``: score a treatment recommender (options added to ``evaluate``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.guards import check_output, open_warehouse, step_printer
from pipeline.errors import OncoBenchError

RECOMMENDER_HELP = (
    "reference:guideline|insurance_biased|random|agent, MODULE:OBJECT, cmd:COMMAND or http://HOST:PORT/PATH"
)


def add_arguments(evaluate: argparse.ArgumentParser) -> None:
    """The options that only ``--recommender`` uses."""
    group = evaluate.add_argument_group(
        "recommenders (with --recommender; defaults: config/recommender_evaluation.yaml)"
    )
    group.add_argument(
        "--lines",
        type=Path,
        default=None,
        help="journeys so far: a lines-of-therapy Parquet file (patient_id, line, regimen, ...)",
    )
    group.add_argument("--timeout", type=float, default=None, help="seconds per HTTP socket operation or answer line")
    group.add_argument("--concurrency", type=int, default=None, help="parallel requests (HTTP) or processes (cmd:)")
    group.add_argument("--retries", type=int, default=None, help="retries after a timeout, HTTP 429/5xx or a crash")
    group.add_argument("--batch-size", type=int, default=None, help="patients per HTTP request or Python call")
    group.add_argument("--no-cache", action="store_true", help="ask for every answer again (default: cached answers)")
    group.add_argument("--guidelines", type=Path, default=None, help="therapy table (config/therapy_guidelines.yaml)")


def _options(args: argparse.Namespace, settings):
    from dataclasses import replace

    options = settings.call_options()
    given = {"timeout": args.timeout, "concurrency": args.concurrency, "retries": args.retries,
             "batch_size": args.batch_size}  # fmt: skip
    bad = [k for k, v in given.items() if v is not None and (v <= 0 if k != "retries" else v < 0)]
    if bad:
        raise OncoBenchError(f"--{bad[0].replace('_', '-')} must be positive")
    return replace(options, **{k: v for k, v in given.items() if v is not None})


def _read_lines(path: Path | None):
    if path is None:
        return None
    import polars as pl

    try:
        lines = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise OncoBenchError(f"--lines {path}: cannot read it as Parquet: {error}") from None
    missing = [c for c in ("patient_id", "line", "regimen") if c not in lines.columns]
    if missing:
        raise OncoBenchError(f"--lines {path}: no column {', '.join(missing)} (a lines-of-therapy table)")
    return lines


def cmd_evaluate_recommender(args: argparse.Namespace) -> int:
    """Score ``--recommender`` on a release; print the headline, write --out, record in DuckDB and the audit log."""
    import json

    from pipeline.io import write_text_atomic
    from pipeline.recommenders.config import load_recommender_config
    from pipeline.recommenders.guidelines_file import load_guidelines
    from pipeline.recommenders.records import record_recommender_evaluation
    from pipeline.recommenders.report import write_recommender_report
    from pipeline.recommenders.stage import evaluate_recommender_release

    if args.report and args.report.exists() and not args.report.is_dir():
        raise OncoBenchError(f"--report {args.report} is a file; give a folder")
    if args.task or args.rules:
        raise OncoBenchError("--task and --rules are for --model; a recommender is scored on its next-line therapy")
    if args.out:
        check_output(args.out, "--out")
    config = load_recommender_config(args.config)
    store = open_warehouse(args)
    evaluation = evaluate_recommender_release(
        args.release, args.recommender, cohorts=args.cohort, lines=_read_lines(args.lines), config=config,
        table=load_guidelines(args.guidelines), options=_options(args, config.settings), store=store,
        use_cache=not args.no_cache, progress=step_printer,
    )  # fmt: skip
    result = evaluation.result  # complete and checked: only now is anything written or recorded
    if args.out:
        write_text_atomic(json.dumps(result, indent=2) + "\n", args.out)
    entry = record_recommender_evaluation(store, evaluation)
    print(f"{result['recommender']['name']} on release {result['release']} (fingerprint "
          f"{result['recommender']['fingerprint'][:12]}, therapy table {result['guidelines']['version']}, "
          f"audit entry {entry['seq']})")  # fmt: skip
    for cohort, block in result["cohorts"].items():
        c, timing = block["concordance"], block["timing"]
        concordance = (
            "n/a (no actionable patient)"
            if not c["n"]
            else (f"{c['value']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}] over {c['n']} actionable patients")
        )
        print(f"  {cohort}: concordance {concordance}")
        bad = block["contraindicated"]
        print(f"    contraindicated: {bad['test']['patients']} of {bad['test']['of']} test patients, "
              f"{bad['stress_suite']['patients']} of {bad['stress_suite']['of']} stress rows")  # fmt: skip
        for e in block["counterfactual"]:
            print(f"    flip rate {e['attribute']} ({e['mode']}): {e['flip_rate']:.3f} "
                  f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}] over {e['pairs']} pairs")  # fmt: skip
        steps = block.get("steps")
        if steps:
            scored = [k for k in ("biomarker_recall", "biomarker_precision", "evidence_match") if steps[k]["n"]]
            shown = ", ".join(f"{k.replace('_', ' ')} {steps[k]['value']:.3f}" for k in scored)
            print(f"    steps ({steps['reported']} of {steps['of']} answers): {shown or 'nothing to score'}")
        failed = [f["id"] for f in block["findings"] if f["verdict"] == "fail"]
        unclear = [f["id"] for f in block["findings"] if f["verdict"] == "inconclusive"]
        print(f"    findings failed: {', '.join(failed) or 'none'}; inconclusive: {', '.join(unclear) or 'none'}")
        print(
            f"    {timing['recommendations']} recommendations ({timing['cached']} cached) in {timing['seconds']:.2f} s"
        )
    if args.out:
        print(f"result -> {args.out}")
    if args.report:
        print(f"report -> {write_recommender_report(result, args.report)} (and report.html)")
    return 0
