"""Commands on real cohorts: ``cohorts`` (the registry), ``ingest`` and ``split``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.guards import check_output, registry_file
from pipeline.errors import OncoBenchError


def _cmd_cohorts(args: argparse.Namespace) -> int:
    from pipeline.cohorts.registry import load_registry

    registry = load_registry(registry_file(args))
    print(f"{len(registry.entries)} cohorts in {registry.path}")
    for entry in registry.entries:
        protected = ", ".join(entry.protected) or "-"
        print(f"  {entry.name:<18} {entry.kind:<10} {entry.location:<20} protected: {protected}")
    return 0


def journey_outputs(out: Path) -> tuple[Path, Path]:
    """Where ``ingest --out <stem>.parquet`` writes journeys: ``<stem>.events.parquet``, ``<stem>.lines.parquet``."""
    return out.parent / f"{out.stem}.events.parquet", out.parent / f"{out.stem}.lines.parquet"


def _write_journeys(entry, patients, out: Path) -> None:
    """Events and lines of a study with timelines beside ``out``, and a one-line summary."""
    from pipeline.io import all_or_nothing, write_parquet_atomic
    from pipeline.journeys.ingest import ingest_journeys

    events, lines, report = ingest_journeys(entry, patients)
    events_path, lines_path = journey_outputs(out)
    with all_or_nothing() as keep:
        keep(write_parquet_atomic(events, events_path))
        keep(write_parquet_atomic(lines, lines_path))
    print(f"{entry.name} journeys: {report.summary()} -> {events_path}, {lines_path}")
    for line in report.lines()[1:]:
        print(f"  {line}")


def _cmd_ingest(args: argparse.Namespace) -> int:
    from pipeline.cohorts.identifiers import id_salt
    from pipeline.cohorts.load import describe_source, harmonize_entry, read_raw, resolve_source
    from pipeline.cohorts.registry import load_registry
    from pipeline.cohorts.report import IngestReport
    from pipeline.io import write_parquet_atomic
    from pipeline.journeys.ingest import has_journeys
    from pipeline.profile import cohort_summary, subgroup_attributes, subgroup_counts

    registry_path = registry_file(args)
    registry = load_registry(registry_path) if registry_path.exists() else None
    entry = resolve_source(args.source, registry=registry, spec_path=args.spec, name=args.name)
    out, inputs = Path(args.out).resolve(), [Path(p).resolve() for p in (args.source, args.spec) if p]
    if any(out == p or p in out.parents for p in inputs if p.exists()):
        raise OncoBenchError(f"--out {args.out} would overwrite or write into the input {args.source}")
    if out.is_dir():
        raise OncoBenchError(f"--out {args.out} is a directory; give a Parquet file path")
    journeys = has_journeys(entry)
    for path in [out, *(journey_outputs(out) if journeys else ())]:
        if path.exists() and not args.force:
            raise OncoBenchError(f"{path} exists; pass --force to replace it")
    report = IngestReport(source=describe_source(entry))  # the ingest stage (pipeline.cohorts.load.ingest)
    frame = harmonize_entry(
        read_raw(entry, report),
        entry,
        salt=id_salt(public=entry.public),
        report=report,
        drop_identifiers=args.drop_identifiers,
        strict=args.strict,
    )
    write_parquet_atomic(frame, args.out)
    summary = cohort_summary(frame, entry.name)
    print(
        f"{entry.name}: {summary['n_patients']} patients, {summary['n_columns']} columns "
        f"({summary['n_extra_columns']} extra), {summary['n_events']} deaths -> {args.out}"
    )
    counts = subgroup_counts(frame, subgroup_attributes(frame, entry.protected))
    for attribute, group in counts.group_by("attribute", maintain_order=True):
        cells = ", ".join(f"{v} {n}" for v, n in group.select("value", "n").iter_rows())
        print(f"  {attribute[0]}: {cells}")
    for line in report.lines():
        print(f"  {line}")
    if journeys:
        _write_journeys(entry, frame, out)
    return 0


def _cmd_split(args: argparse.Namespace) -> int:
    from pipeline.harmonized import read_harmonized
    from pipeline.io import all_or_nothing, write_parquet_atomic
    from pipeline.split import split_cohort
    from pipeline.validation.gates import load_validation_config

    train_path, holdout_path = args.out_dir / "train.parquet", args.out_dir / "holdout.parquet"
    for path in (train_path, holdout_path):
        check_output(path, "--out-dir", [args.input])
    settings = load_validation_config(args.config or args.settings.validation).settings
    fraction = settings.holdout_fraction if args.holdout_fraction is None else args.holdout_fraction
    seed = settings.split_seed if args.seed is None else args.seed
    real = read_harmonized(args.input, role="cohort")
    train, holdout = split_cohort(real, holdout_fraction=fraction, seed=seed)
    with all_or_nothing() as keep:
        keep(write_parquet_atomic(train, train_path))
        keep(write_parquet_atomic(holdout, holdout_path))
    print(f"{train.height} training -> {train_path}; {holdout.height} holdout -> {holdout_path} "
          f"(holdout fraction {fraction}, seed {seed}, stratified by the event)")  # fmt: skip
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``cohorts``, ``ingest`` and ``split`` to the subcommands."""
    cohorts = commands.add_parser("cohorts", help="list the cohort registry")
    cohorts.set_defaults(handler=_cmd_cohorts)

    ingest = commands.add_parser(
        "ingest",
        help="harmonize one cohort into a Parquet file (and its treatment timelines, when it has them, beside it)",
    )
    ingest.add_argument("source", help="registry name, cBioPortal study folder, or CSV/TSV/Parquet file")
    ingest.add_argument("--out", type=Path, required=True, help="output Parquet file")
    ingest.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="YAML spec mapping source columns to the schema",
    )
    ingest.add_argument("--name", default=None, help="cohort name (lower_snake_case; default: the source's name)")
    ingest.add_argument("--force", action="store_true", help="replace an existing --out file")
    ingest.add_argument(
        "--drop-identifiers",
        action="store_true",
        help="drop every detected identifier or date column of a table (listed in the report) instead of refusing",
    )
    ingest.add_argument(
        "--strict",
        action="store_true",
        help="refuse the source for any defective row or unknown label instead of quarantining it (reported)",
    )
    ingest.set_defaults(handler=_cmd_ingest)

    split = commands.add_parser("split", help="stratified train / holdout split, as the assets do")
    split.add_argument("input", type=Path, help="harmonized cohort (Parquet or CSV)")
    split.add_argument("--out-dir", type=Path, required=True, help="writes train.parquet and holdout.parquet here")
    split.add_argument("--holdout-fraction", type=float, default=None, help="default: config/validation.yaml")
    split.add_argument("--seed", type=int, default=None, help="default: split_seed of config/validation.yaml")
    split.add_argument("--config", type=Path, default=None, help="settings (config/validation.yaml)")
    split.set_defaults(handler=_cmd_split)
