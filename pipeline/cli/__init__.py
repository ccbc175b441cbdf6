"""The ``oncobench`` command line: the same code the Dagster assets run."""

# One module per command group registers its subcommands (``register(commands)``); shared guards and
# helpers live in ``pipeline.cli.guards``. Handlers import their stages lazily, so `oncobench --help`
# and the light commands start fast.

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.cli import cohorts, evaluation, journeys, releases, review, synthesis
from pipeline.errors import OncoBenchError
from pipeline.settings import Settings
from pipeline.threads import configured_threads, limit_threads

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="oncobench", description=__doc__)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for torch, BLAS/OpenMP and scikit-learn (default: $ONCOBENCH_THREADS or every core)",
    )
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        help="cohort registry YAML (default: config/cohorts.yaml)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (cohorts, synthesis, journeys, releases, evaluation, review):
        group.register(commands)
    return parser


def _error(message: str) -> int:
    print(f"oncobench: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oncobench`` console script."""
    try:
        parser = build_parser()  # the synthesizer choices load the engines' entry points
    except OncoBenchError as exc:
        return _error(str(exc))
    args = parser.parse_args(argv)
    pl.Config.set_tbl_rows(50)
    pl.Config.set_tbl_cols(-1)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_tbl_hide_column_data_types(True)
    try:
        args.settings = Settings.from_environment(registry=args.registry)
        limit_threads(configured_threads(args.threads))
        return args.handler(args)
    except OncoBenchError as exc:
        return _error(str(exc))
    except OSError as exc:  # a path we could not read or write: say which, no traceback
        print(f"oncobench: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
