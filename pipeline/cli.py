"""The ``oncobench`` command line: the same code the Dagster assets run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.cohorts.identifiers import id_salt
from pipeline.cohorts.load import harmonize_entry, read_raw, resolve_source
from pipeline.cohorts.registry import load_registry, registry_path
from pipeline.errors import OncoBenchError
from pipeline.io import write_parquet_atomic
from pipeline.profile import cohort_summary, subgroup_attributes, subgroup_counts


def _cmd_cohorts(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    print(f"{len(registry.entries)} cohorts in {registry.path}")
    for entry in registry.entries:
        protected = ", ".join(entry.protected) or "-"
        print(f"  {entry.name:<18} {entry.kind:<10} {entry.location:<20} protected: {protected}")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry) if (args.registry or registry_path().exists()) else None
    entry = resolve_source(args.source, registry=registry, spec_path=args.spec)
    frame = harmonize_entry(read_raw(entry), entry, salt=id_salt())
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
    return 0


def _parse_conditions(pairs: Sequence[str]) -> dict[str, str]:
    conditions = {}
    for pair in pairs:
        column, separator, value = pair.partition("=")
        if not separator or not column:
            raise OncoBenchError(f"--condition takes COLUMN=VALUE, got {pair!r}")
        conditions[column] = value
    return conditions


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.cohorts.load import read_table
    from pipeline.synthesis.catalog import make_synthesizer

    conditions = _parse_conditions(args.condition)
    real = read_table(args.input)
    synthesizer = make_synthesizer(args.synthesizer, profile=args.profile)
    with tqdm(desc=f"training {args.synthesizer}", unit="epoch", disable=None) as bar:

        def advance(epoch: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(epoch - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        synthesizer.fit(real, seed=args.seed, progress=advance)
    synthesizer.validate_conditions(conditions)  # fail before sampling, with the allowed values
    frame = synthesizer.sample(args.rows, conditions=conditions, seed=args.seed + 1)
    write_parquet_atomic(frame, args.out)
    if args.save_model:
        synthesizer.save(args.save_model)
    report = synthesizer.last_sample
    print(
        f"{args.synthesizer}: fitted on {real.height} rows in {synthesizer.report.fit_seconds:.1f}s; "
        f"sampled {frame.height} rows ({report.n_repaired_rows} repaired) -> {args.out}"
        + (f"; model -> {args.save_model}" if args.save_model else "")
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="oncobench", description=__doc__)
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        help="cohort registry YAML (default: config/cohorts.yaml)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    cohorts = commands.add_parser("cohorts", help="list the cohort registry")
    cohorts.set_defaults(handler=_cmd_cohorts)

    ingest = commands.add_parser("ingest", help="harmonize one cohort into a Parquet file")
    ingest.add_argument("source", help="registry name, cBioPortal study folder, or CSV/TSV/Parquet file")
    ingest.add_argument("--out", type=Path, required=True, help="output Parquet file")
    ingest.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="YAML spec mapping source columns to the schema",
    )
    ingest.set_defaults(handler=_cmd_ingest)

    synthesize = commands.add_parser("synthesize", help="fit a synthesizer on a harmonized cohort and sample")
    synthesize.add_argument("input", type=Path, help="harmonized cohort (Parquet, e.g. from `oncobench ingest`)")
    synthesize.add_argument("--synthesizer", choices=["ctgan", "flow", "copula"], default="flow")
    synthesize.add_argument("--rows", type=int, required=True, help="number of synthetic rows")
    synthesize.add_argument("--seed", type=int, default=0)
    synthesize.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE")
    synthesize.add_argument("--profile", choices=["fast", "full"], default="full")
    synthesize.add_argument("--save-model", type=Path, default=None, help="keep the fitted model here")
    synthesize.add_argument("--out", type=Path, required=True, help="output Parquet file")
    synthesize.set_defaults(handler=_cmd_synthesize)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oncobench`` console script."""
    args = build_parser().parse_args(argv)
    pl.Config.set_tbl_rows(20)
    try:
        return args.handler(args)
    except OncoBenchError as exc:
        print(f"oncobench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
