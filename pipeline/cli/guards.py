"""What every command shares: output-path guards, progress bars, --condition parsing, the registry
entry and protected attributes of a cohort, the problem report and the warehouse of the settings."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.cohorts.registry import CohortEntry, load_registry
from pipeline.errors import OncoBenchError
from pipeline.subgroups import default_protected


def check_output(path: Path, option: str, inputs: Sequence[Path] = ()) -> None:
    """Refuse, before any work, an output that is a directory, an input, or in a folder we cannot write."""
    if path.is_dir():
        raise OncoBenchError(f"{option} {path} is a directory; give a file name")
    if any(path.resolve() == Path(i).resolve() for i in inputs):
        raise OncoBenchError(f"{option} {path} is also an input; write the output elsewhere")
    folder = path.resolve().parent
    while not folder.exists():
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(folder)
        with tempfile.TemporaryFile(dir=folder):  # the only sure test that files can be created there
            pass
    except OSError:
        raise OncoBenchError(f"{option} {path}: cannot write in {folder}") from None


def parse_conditions(pairs: Sequence[str]) -> dict[str, str]:
    """``--condition COLUMN=VALUE`` options as ``{column: value}``."""
    conditions = {}
    for pair in pairs:
        column, separator, value = pair.partition("=")
        if not separator or not column:
            raise OncoBenchError(f"--condition takes COLUMN=VALUE, got {pair!r}")
        conditions[column] = value
    return conditions


def registry_file(args: argparse.Namespace) -> Path:
    """The cohort registry of this invocation: ``--registry``, else the settings'."""
    return args.registry or args.settings.registry


def registry_entry(frame: pl.DataFrame, registry: Path) -> CohortEntry | None:
    """The registry entry of the frame's cohort, if the frame holds one registry cohort."""
    cohorts = frame["cohort"].unique().drop_nulls().to_list() if "cohort" in frame.columns else []
    if len(cohorts) != 1 or not registry.exists():
        return None
    loaded = load_registry(registry)
    return loaded.get(cohorts[0]) if cohorts[0] in loaded.names else None


def protected_for(frame: pl.DataFrame, explicit: Sequence[str] | None, registry: Path) -> list[str]:
    """--protected, else the asset's default: the registry's list, or the protected columns with 2+ values."""
    if explicit:
        return list(explicit)
    entry = registry_entry(frame, registry)
    return default_protected(frame, entry.protected if entry else None)


def epoch_bar(label: str):
    """A tqdm progress bar and the training callback that advances it."""
    from tqdm import tqdm

    bar = tqdm(desc=label, unit="epoch", disable=None)

    def advance(epoch: int, total: int, loss: float) -> None:
        bar.total = total
        bar.update(epoch - bar.n)
        bar.set_postfix(loss=f"{loss:.3f}")

    return bar, advance


def step_printer(step: str) -> None:
    """Progress of a long stage, one ``  step ...`` line on stderr."""
    print(f"  {step} ...", file=sys.stderr, flush=True)


def report(subject: str, problems: Sequence[object], ok: str) -> int:
    """Print the problems to stderr and return 1, or print ``ok`` and return 0."""
    if problems:
        print(f"{subject}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"{subject}: {ok}")
    return 0


def open_warehouse(args: argparse.Namespace):
    """The DuckDB warehouse: ``--warehouse``, else the settings' (``<data dir>/warehouse.duckdb``)."""
    from pipeline.warehouse import Warehouse

    return Warehouse(args.warehouse or args.settings.warehouse)
