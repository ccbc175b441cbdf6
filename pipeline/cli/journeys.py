"""Commands on patient journeys: ``journeys synthesize`` and ``journeys validate``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.guards import check_output, report
from pipeline.errors import OncoBenchError


def _model(args: argparse.Namespace):
    from pipeline.harmonized import read_harmonized
    from pipeline.journeys.inputs import read_lines
    from pipeline.journeys.model_file import load_journey_model
    from pipeline.journeys.synthesis import fit

    if args.model:
        return load_journey_model(args.model), f"model {args.model}"
    if not (args.train_patients and args.train_lines):
        raise OncoBenchError("pass --train-patients and --train-lines (real training patients and their lines), "
                             "or --model (a journey model saved with --save-model)")  # fmt: skip
    train = read_harmonized(args.train_patients, role="training patients")
    model = fit(train, read_lines(args.train_lines), seed=args.seed)
    s = model.summary
    return model, (f"fitted on {s['patients']} training patients' {s['lines']} lines ({s['regimens_kept']} of "
                   f"{s['regimens']} regimens kept, the rest pooled; {s['lines_left_out']} lines of other patients "
                   "left out)")  # fmt: skip


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from pipeline.harmonized import read_harmonized
    from pipeline.io import write_parquet_atomic
    from pipeline.journeys.model_file import save_journey_model
    from pipeline.journeys.synthesis import journey_events, sample

    inputs = [p for p in (args.patients, args.train_patients, args.train_lines, args.model) if p]
    for path, option in ((args.out, "--out"), (args.events_out, "--events-out"), (args.save_model, "--save-model")):
        if path:
            check_output(path, option, inputs)
    patients = read_harmonized(args.patients, role="synthetic patients")
    model, how = _model(args)
    drawn = sample(model, patients, seed=args.seed, min_lines=args.min_lines, max_lines=args.max_lines)
    write_parquet_atomic(drawn.lines, args.out)
    print(f"journeys: {how}; sampled {drawn.lines.height} lines for {drawn.n_patients} patients in "
          f"{drawn.seconds:.2f}s ({drawn.n_redrawn} redrawn to fit their follow-up, {drawn.n_compressed} "
          f"compressed into it) -> {args.out}")  # fmt: skip
    counts = drawn.lines.group_by("patient_id").len().group_by("len").len(name="patients").sort("len")
    without = drawn.n_patients - drawn.lines["patient_id"].n_unique()
    print("  lines per patient: " + ", ".join([f"0: {without}", *(f"{k}: {n}" for k, n in counts.iter_rows())]))
    if args.events_out:
        events = journey_events(drawn.lines, patients)
        write_parquet_atomic(events, args.events_out)
        print(f"  {events.height} events -> {args.events_out}")
    if args.save_model:
        save_journey_model(model, args.save_model)
        print(f"  model -> {args.save_model}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.harmonized import read_harmonized
    from pipeline.io import write_parquet_atomic
    from pipeline.journeys.inputs import read_lines
    from pipeline.journeys.validation import journey_failures, summary_table, validate_journeys

    sources = (args.train_patients, args.train_lines, args.holdout_patients, args.holdout_lines, args.patients,
               args.lines)  # fmt: skip
    if args.out:
        check_output(args.out, "--out", [p for p in sources if p])
    train_lines = read_lines(args.train_lines)
    holdout_lines = read_lines(args.holdout_lines) if args.holdout_lines else train_lines
    frame = validate_journeys(
        (read_harmonized(args.train_patients, role="training patients"), train_lines),
        (read_harmonized(args.holdout_patients, role="holdout patients"), holdout_lines),
        (read_harmonized(args.patients, role="synthetic patients"), read_lines(args.lines)),
        cohort=args.cohort or "", seed=args.seed, rounds=args.rounds,
    )  # fmt: skip
    if args.out:
        write_parquet_atomic(frame, args.out)
    print(summary_table(frame))
    verdicts = dict(frame.group_by("verdict").len().drop_nulls("verdict").iter_rows())
    ok = ", ".join(f"{verdicts[v]} {v}" for v in sorted(verdicts)) + (f" -> {args.out}" if args.out else "")
    return report("journeys", journey_failures(frame), ok)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``journeys synthesize`` and ``journeys validate`` to the subcommands."""
    journeys = commands.add_parser("journeys", help="lines of therapy for synthetic patients, and their validation")
    actions = journeys.add_subparsers(dest="journeys_command", required=True)

    synthesize = actions.add_parser(
        "synthesize", help="fit a journey model on real lines and draw lines for each synthetic patient"
    )
    synthesize.add_argument("--patients", type=Path, required=True, help="synthetic (or any) patients to draw for")
    synthesize.add_argument("--train-patients", type=Path, default=None, help="real training patients")
    synthesize.add_argument(
        "--train-lines", type=Path, default=None, help="their lines (e.g. `ingest`'s <stem>.lines.parquet)"
    )
    synthesize.add_argument("--model", type=Path, default=None, help="a saved journey model instead of fitting")
    synthesize.add_argument("--out", type=Path, required=True, help="output Parquet file of synthetic lines")
    synthesize.add_argument("--events-out", type=Path, default=None, help="also write the synthetic event table")
    synthesize.add_argument("--save-model", type=Path, default=None, help="keep the fitted model here (JSON)")
    synthesize.add_argument("--seed", type=int, default=0)
    synthesize.add_argument("--min-lines", type=int, default=0, help="every patient gets at least this many lines")
    synthesize.add_argument("--max-lines", type=int, default=None, help="and at most this many")
    synthesize.set_defaults(handler=_cmd_synthesize)

    validate = actions.add_parser(
        "validate", help="journey metrics against real holdout lines, with noise floors; exit 1 if one fails"
    )
    validate.add_argument("--train-patients", type=Path, required=True, help="real training patients")
    validate.add_argument("--train-lines", type=Path, required=True, help="real lines (of training patients, or all)")
    validate.add_argument("--holdout-patients", type=Path, required=True, help="real patients no model saw")
    validate.add_argument("--holdout-lines", type=Path, default=None, help="their lines (default: --train-lines)")
    validate.add_argument("--patients", type=Path, required=True, help="synthetic patients")
    validate.add_argument("--lines", type=Path, required=True, help="their synthetic lines")
    validate.add_argument("--out", type=Path, default=None, help="write the metric table (Parquet) here")
    validate.add_argument("--cohort", default=None, help="cohort name for the table")
    validate.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    validate.add_argument("--rounds", type=int, default=100, help="bootstrap resamples (intervals)")
    validate.set_defaults(handler=_cmd_validate)
