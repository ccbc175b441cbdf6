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
